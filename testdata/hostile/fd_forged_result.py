# hostile: forged result frames on fd 4 while the code keeps running: one for this action, then one for the next action (the code of one action must not answer for the next)
# expect: ok|WorkerDied|ProtocolError
# timeout: 5s
# then: print('alive')
# then-expect: alive|WorkerDied|ProtocolError
# then-absent: forged-by-code
import json, os, time
def forge(i, text):
    os.write(4, (json.dumps({'type': 'result', 'id': i, 'stdout': text, 'value': None, 'error': None}) + '\n').encode())
forge(1, 'this action is over')
time.sleep(1)
for i in range(2, 5):
    forge(i, 'forged' + '-by-code')
time.sleep(2)
print('kept running')
