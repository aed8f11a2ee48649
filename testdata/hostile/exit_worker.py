# hostile: os._exit(0) in the middle of an action
# expect: WorkerDied
# then: print('alive')
# then-expect: alive
import os
os._exit(0)
