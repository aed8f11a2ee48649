# hostile: point fd 1 at the reply fd and print forged result frames, for this action and the next
# expect: ok|WorkerDied|ProtocolError
# then: print('alive')
# then-expect: alive|WorkerDied|ProtocolError
# then-absent: forged-by-print
import json, os
os.dup2(4, 1)
for i in range(1, 5):
    print(json.dumps({'type': 'result', 'id': i, 'stdout': 'forged' + '-by-print', 'value': None, 'error': None}), flush=True)
