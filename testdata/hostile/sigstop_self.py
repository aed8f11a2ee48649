# hostile: the worker stops itself with SIGSTOP: it must be killed at the time limit
# expect: TimeoutError|ok
# (under bubblewrap the worker is pid 1 of its sandbox, which ignores a SIGSTOP sent from inside: ok;
# without it the worker stops and must be killed at the time limit)
# timeout: 1s
# then: print('alive')
# then-expect: alive
import os, signal
os.kill(os.getpid(), signal.SIGSTOP)
