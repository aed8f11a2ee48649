# hostile: the worker stops itself with SIGSTOP: it must be killed at the time limit
# expect: TimeoutError
# timeout: 1s
# then: print('alive')
# then-expect: alive
import os, signal
os.kill(os.getpid(), signal.SIGSTOP)
