# hostile: a JSON frame of a type the protocol does not have
# expect: WorkerDied|ProtocolError
# then: print('alive')
# then-expect: alive
import json, os
os.write(4, (json.dumps({'type': 'ready', 'pid': 1}) + '\n').encode())
os.write(4, (json.dumps({'type': 'pwn', 'id': 1}) + '\n').encode())
print('after')
