# hostile: a thread forges result frames after this action ended, while the next one runs
# expect: ok
# then: import time; time.sleep(1.5); print('alive')
# then-expect: alive|WorkerDied|ProtocolError
# then-absent: forged-by-thread
import json, os, threading, time
def forge():
    time.sleep(0.5)
    for i in range(1, 5):
        os.write(4, (json.dumps({'type': 'result', 'id': i, 'stdout': 'forged' + '-by-thread', 'value': None, 'error': None}) + '\n').encode())
threading.Thread(target=forge, daemon=True).start()
print('thread started')
