# hostile: is root in the sandbox the real root? (uid_map "0 0 1" when gantry runs as root)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import os
m = open('/proc/self/uid_map').read().split()
print('uid', os.getuid(), 'uid_map', m)
if len(m) >= 3 and m[1] == '0' and os.getuid() == int(m[0]):
    print(WIN, 'code runs as the real root (uid_map %s)' % ' '.join(m))
caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')]
print(caps)
