# hostile: fill the work directory with 1.2 GiB in 32 MiB files (only a per-file limit held)
# expect: OSError
# timeout: 15s
WIN = 'HOSTILE' + '-WIN'
import os
chunk = b'x' * (32 << 20)
total = 0
try:
    for i in range(38):
        with open('fill-%d' % i, 'wb') as f:
            f.write(chunk)
        total += len(chunk)
finally:
    print('wrote', total >> 20, 'MiB to', os.getcwd())
    if total >= 1200 << 20:
        print(WIN, 'wrote', total >> 20, 'MiB to the work directory')
