# hostile: kill the parent, pid 1 of the sandbox, and (inside a pid namespace only) every process it can see
# expect: ok|WorkerDied
# then: print('alive')
# then-expect: alive
WIN = 'HOSTILE' + '-WIN'
import os, signal, time
print('pid', os.getpid(), 'ppid', os.getppid())
for pid in [os.getppid(), 1]:
    try:
        os.kill(pid, signal.SIGKILL)
        print('sent SIGKILL to', pid)
    except OSError as e:
        print(pid, 'refused:', type(e).__name__)
if os.getpid() < 100:
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError as e:
        print('kill -1 refused:', type(e).__name__)
else:
    print(WIN, 'not in a pid namespace: pid', os.getpid())
time.sleep(0.5)
print('still here')
