# hostile: fill /dev/shm with 3 GiB
# expect: OSError
# timeout: 15s
# nowrite: /dev/shm/gantry-hostile-@@RAND@@
WIN = 'HOSTILE' + '-WIN'
import os
chunk = b'x' * (32 << 20)
total = 0
try:
    os.makedirs('/dev/shm/gantry-hostile-@@RAND@@')
    for i in range(96):
        with open('/dev/shm/gantry-hostile-@@RAND@@/fill-%d' % i, 'wb') as f:
            f.write(chunk)
        total += len(chunk)
finally:
    print('wrote', total >> 20, 'MiB to /dev/shm')
    if total >= 2 << 30:
        print(WIN, 'wrote', total >> 20, 'MiB to /dev/shm')
