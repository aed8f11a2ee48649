# hostile: write under the host's home directories and next to the session
# expect: ok
# nowrite: /root/gantry-hostile-@@RAND@@
# nowrite: @@HOSTHOME@@/gantry-hostile-@@RAND@@
# nowrite: @@HOSTDIR@@/gantry-hostile-@@RAND@@
# nowrite: /var/tmp/gantry-hostile-@@RAND@@
# nowrite: @@SESSIONS@@/gantry-hostile-@@RAND@@
import os
for d in ['/root', '@@HOSTHOME@@', '@@HOSTDIR@@', '/var/tmp', '@@SESSIONS@@', os.path.expanduser('~')]:
    p = os.path.join(d, 'gantry-hostile-@@RAND@@')
    try:
        with open(p, 'w') as f:
            f.write('written from the sandbox')
        print('wrote', p)
    except OSError as e:
        print(p, 'refused:', type(e).__name__)
