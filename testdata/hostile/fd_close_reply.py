# hostile: close the reply fd (4): the worker cannot answer
# expect: WorkerDied
# then: print('alive')
# then-expect: alive
import os
os.close(4)
print('x')
