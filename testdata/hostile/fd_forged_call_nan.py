# hostile: a call frame with NaN written straight to fd 4 (not valid JSON; was dropped silently)
# expect: WorkerDied|ProtocolError|ValueError
# tools: alfworld
# then: print('alive')
# then-expect: alive
import os
os.write(4, b'{"type": "call", "name": "goto", "args": [NaN], "kwargs": {}}\n')
print('after')
