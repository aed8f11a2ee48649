# hostile: raise the worker's own limits, then allocate 3 GiB
# expect: MemoryError
WIN = 'HOSTILE' + '-WIN'
import resource
for name in ['RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE']:
    r = getattr(resource, name)
    soft, hard = resource.getrlimit(r)
    try:
        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        print(WIN, 'raised', name, 'from', hard)
    except (ValueError, OSError) as e:
        print(name, 'refused:', e)
b = bytearray(3 << 30)
print(len(b))
