# hostile: write 1 MiB chunks with no newline to the reply fd (gantry buffered 6.2 GiB and died): frames are bounded
# expect: WorkerDied|ProtocolError
# output: lost
# timeout: 5s
# then: print('alive')
# then-expect: alive
import os
chunk = b'x' * (1 << 20)
for i in range(8192):
    os.write(4, chunk)
