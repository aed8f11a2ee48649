# hostile: a (bounded) fork bomb: 500 processes that sleep; the process limit must stop it
# expect: BlockingIOError|OSError
# timeout: 5s
# then: print('alive')
# then-expect: alive
WIN = 'HOSTILE' + '-WIN'
import os, time
n = 0
try:
    for i in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
finally:
    print('forked', n)
    if n >= 500:
        print(WIN, 'forked', n, 'processes')
