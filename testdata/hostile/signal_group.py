# hostile: signal the process group and session of the parent
# expect: ok|WorkerDied
# then: print('alive')
# then-expect: alive
import os, signal, time
for what, fn in [('pgrp', lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGTERM)), ('own pgrp', lambda: os.killpg(0, signal.SIGTERM))]:
    try:
        fn()
        print('signalled', what)
    except OSError as e:
        print(what, 'refused:', type(e).__name__)
time.sleep(0.5)
print('still here')
