# hostile: read the memory of the sandbox's pid 1 and of the parent through /proc/PID/mem and maps
# (the code's own process does not count: the worker may itself be pid 1, its parent then 0)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import os, re
for pid in sorted(set([1, os.getppid()]) - set([0, os.getpid()])):
    try:
        maps = open('/proc/%d/maps' % pid).read().splitlines()
        mem = open('/proc/%d/mem' % pid, 'rb')
        for line in maps:
            if '[stack]' in line:
                lo, hi = [int(x, 16) for x in line.split()[0].split('-')]
                mem.seek(lo)
                data = mem.read(hi - lo)
                for m in re.findall(rb'[A-Z_]+=[ -~](4,)', data):
                    print(pid, m.decode())
        print(WIN, 'read the memory of pid', pid)
    except OSError as e:
        print(pid, 'refused:', type(e).__name__)
