# hostile: walk /var/tmp and /tmp for anything of other sessions or of the host (the test's own case directories live under /var/tmp)
# expect: ok
# maxout: 1000000
import os
n = 0
for root in ['/var/tmp', '/tmp', '/dev/shm']:
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                data = open(p, 'rb').read(4096)
                if b'canary' in data or b'session' in data:
                    print(p, data[:200])
                n += 1
            except OSError:
                pass
print('read', n, 'files')
