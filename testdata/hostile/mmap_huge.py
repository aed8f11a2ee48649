# hostile: an anonymous mmap of 100 GB
# expect: OSError|MemoryError
import mmap
m = mmap.mmap(-1, 100 * 10 ** 9)
print(len(m))
