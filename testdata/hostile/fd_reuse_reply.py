# hostile: close fd 4 and reopen it on /dev/null: the result goes nowhere
# expect: TimeoutError|WorkerDied
# timeout: 1s
# then: print('alive')
# then-expect: alive
import os
os.close(4)
fd = os.open('/dev/null', os.O_WRONLY)
print('fd', fd)
