# hostile: write to fd 1 directly, forever
# expect: OSError|TimeoutError
# timeout: 2s
# then: print('alive')
# then-expect: alive
import os
chunk = b'x' * 65536
while True:
    os.write(1, chunk)
