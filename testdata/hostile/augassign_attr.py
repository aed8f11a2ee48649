# hostile: c.x *= 3000000000 (augmented assignment on an attribute target)
# expect: MemoryError
# then: print('alive')
# then-expect: alive
class C:
    pass
c = C()
c.x = 'a'
c.x *= 3000000000
print(len(c.x))
