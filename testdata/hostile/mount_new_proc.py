# hostile: mount a fresh proc and sysfs, and bind the host's root somewhere writable
# expect: ok
# nowrite: @@HOSTDIR@@/pwned-@@RAND@@
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
MS_BIND, MS_REC = 4096, 16384
os.makedirs('/tmp/m1', exist_ok=True)
os.makedirs('/tmp/m2', exist_ok=True)
print('proc', libc.mount(b'proc', b'/tmp/m1', b'proc', 0, None), ctypes.get_errno())
print('bind', libc.mount(b'@@HOSTDIR@@', b'/tmp/m2', None, MS_BIND | MS_REC, None), ctypes.get_errno())
try:
    with open('/tmp/m2/pwned-@@RAND@@', 'w') as f:
        f.write('written through a bind mount')
    print('wrote through the bind mount')
except OSError as e:
    print('refused:', type(e).__name__)
