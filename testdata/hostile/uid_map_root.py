# hostile: is root in the sandbox the real root? (uid_map "0 0 1", or the sandbox's user mapped to root, when gantry runs as root)
# expect: ok
# Seen from inside, the map only says what the parent namespace calls the user; the real root
# shows itself by what the kernel lets it do: it is exempt from RLIMIT_NPROC.
WIN = 'HOSTILE' + '-WIN'
import os, resource
m = open('/proc/self/uid_map').read().split()
print('uid', os.getuid(), 'uid_map', m)
if len(m) >= 3 and m[1] == '0' and os.getuid() == int(m[0]):
    print(WIN, 'code runs as the real root (uid_map %s)' % ' '.join(m))
caps = [l.strip() for l in open('/proc/self/status') if l.startswith('CapEff')]
print(caps)
resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
try:
    pid = os.fork()
except OSError as e:
    print('fork under RLIMIT_NPROC=1 refused:', type(e).__name__)
else:
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    print(WIN, 'the process limit does not bind: the real root outside')
