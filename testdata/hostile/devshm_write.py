# hostile: write to /dev/shm, which may be the host's
# expect: ok
# nowrite: /dev/shm/gantry-hostile-@@RAND@@
WIN = 'HOSTILE' + '-WIN'
import os
try:
    os.makedirs('/dev/shm/gantry-hostile-@@RAND@@')
    with open('/dev/shm/gantry-hostile-@@RAND@@/x', 'w') as f:
        f.write('written from the sandbox')
    print('wrote /dev/shm/gantry-hostile-@@RAND@@/x')
except OSError as e:
    print('refused:', type(e).__name__)
