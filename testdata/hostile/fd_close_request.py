# hostile: close the request fd (3): the worker answers, then cannot read the next action
# expect: ok|WorkerDied
# then: print('alive')
# then-expect: alive|WorkerDied
import os
os.close(3)
print('closed')
