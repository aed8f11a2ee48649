# hostile: close fds 1 and 2 and sys.stdout, then print
# expect: ValueError|OSError
# then: print('alive')
# then-expect: alive
import os, sys
os.close(1)
os.close(2)
sys.stdout.close()
print('x')
