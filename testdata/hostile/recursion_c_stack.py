# hostile: a recursion limit of 10^6: the C stack overflows (the worker segfaults)
# expect: WorkerDied|RecursionError|MemoryError|TimeoutError
# then: print('alive')
# then-expect: alive
import sys
sys.setrecursionlimit(1000000)
def f(n):
    return f(n + 1)
f(0)
