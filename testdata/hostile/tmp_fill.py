# hostile: fill /tmp (in RAM) with 4 GiB in 32 MiB files, beyond the worker's 2 GiB memory limit
# expect: OSError
# timeout: 15s
WIN = 'HOSTILE' + '-WIN'
import os
chunk = b'x' * (32 << 20)
total = 0
try:
    for i in range(128):
        with open('/tmp/fill-%d' % i, 'wb') as f:
            f.write(chunk)
        total += len(chunk)
finally:
    print('wrote', total >> 20, 'MiB to /tmp')
    if total >= 2 << 30:
        print(WIN, 'wrote', total >> 20, 'MiB to /tmp, more than the memory limit')
