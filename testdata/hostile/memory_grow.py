# hostile: allocate and touch 100 MiB blocks until memory runs out
# expect: MemoryError
# timeout: 10s
# then: print('alive')
# then-expect: alive
l = []
while True:
    l.append(b'x' * (100 << 20))
