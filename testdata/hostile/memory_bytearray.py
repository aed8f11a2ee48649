# hostile: bytearray(10 ** 10): a MemoryError, and the worker lives on
# expect: MemoryError
# then: print(keep + 1)
# then-expect: 42
keep = 41
b = bytearray(10 ** 10)
