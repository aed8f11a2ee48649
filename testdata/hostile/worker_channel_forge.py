# hostile: use the worker's own channel (sys.modules['__main__'].chan) from a thread to answer for the next action
# expect: ok
# then: import time; time.sleep(1.5); print('alive')
# then-expect: alive|WorkerDied|ProtocolError
# then-absent: forged-by-channel
import sys, threading, time
w = sys.modules['__main__']
def forge():
    time.sleep(0.5)
    for i in range(1, 5):
        w.chan.send({'type': 'result', 'id': i, 'stdout': 'forged' + '-by-channel', 'value': None, 'error': None})
threading.Thread(target=forge, daemon=True).start()
print('thread started')
