# hostile: ptrace the parent and pid 1
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
for pid in sorted(set([1, os.getppid()])):
    r = libc.ptrace(PTRACE_ATTACH, pid, None, None)
    if r == 0:
        print(WIN, 'attached to', pid)
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    else:
        print(pid, 'refused: errno', ctypes.get_errno())
