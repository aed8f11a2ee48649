# hostile: remount the read-only view of / read-write (needs CAP_SYS_ADMIN, which real root in the sandbox has) and write a host file
# expect: ok
# nowrite: @@HOSTDIR@@/pwned-@@RAND@@
# nowrite: /var/tmp/gantry-hostile-@@RAND@@
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096
for target in [b'/', b'@@HOSTDIR@@', b'/var/tmp']:
    r = libc.mount(None, target, None, MS_REMOUNT | MS_BIND, None)
    print('remount', target, 'errno' if r else 'ok', ctypes.get_errno() if r else '')
for path in ['@@HOSTDIR@@/pwned-@@RAND@@', '/var/tmp/gantry-hostile-@@RAND@@']:
    try:
        with open(path, 'w') as f:
            f.write('written from the sandbox')
        print('wrote', path)
    except OSError as e:
        print(path, 'refused:', type(e).__name__)
