# hostile: catch every KeyboardInterrupt and keep looping
# expect: TimeoutError
# timeout: 1s
# then: print('alive')
# then-expect: alive
import time
while True:
    try:
        while True:
            time.sleep(0.01)
    except KeyboardInterrupt:
        pass
