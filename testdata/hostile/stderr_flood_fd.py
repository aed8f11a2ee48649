# hostile: write to fd 2 directly, forever
# expect: OSError|TimeoutError
# timeout: 2s
import os
chunk = b'y' * 65536
while True:
    os.write(2, chunk)
