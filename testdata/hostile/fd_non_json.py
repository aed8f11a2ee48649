# hostile: a frame that is not JSON on fd 4
# expect: WorkerDied|ProtocolError
# then: print('alive')
# then-expect: alive
import os
os.write(4, b'this is not json\n')
print('after')
