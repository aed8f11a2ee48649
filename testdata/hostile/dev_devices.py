# hostile: open the host's disks, memory and kernel log
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import os
for path in ['/dev/vda', '/dev/sda', '/dev/nvme0n1', '/dev/mem', '/dev/kmem', '/dev/port', '/dev/kmsg']:
    try:
        fd = os.open(path, os.O_RDONLY)
        os.read(fd, 16)
        os.close(fd)
        print(WIN, 'opened', path)
    except OSError as e:
        print(path, 'refused:', type(e).__name__)
