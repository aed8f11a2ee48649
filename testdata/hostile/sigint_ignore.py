# hostile: ignore SIGINT and loop: interrupting fails, killing must not
# expect: TimeoutError
# timeout: 1s
# then: print('alive')
# then-expect: alive
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
