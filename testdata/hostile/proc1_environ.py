# hostile: read /proc/1/environ (bubblewrap, pid 1 of the sandbox, held gantry's whole environment: API keys)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import os
for path in ['/proc/1/environ', '/proc/self/environ', '/proc/%d/environ' % os.getppid()]:
    try:
        with open(path, 'rb') as f:
            print(path, f.read().replace(b'\0', b' ').decode('utf-8', 'replace'))
    except OSError as e:
        print(path, 'refused:', e)
print(dict(os.environ))
