# hostile: print the worker's environment
# expect: ok
import os
print(dict(os.environ))
