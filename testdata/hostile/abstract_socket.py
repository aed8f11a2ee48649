# hostile: connect to an abstract Unix socket of the host (no file: only a network namespace hides it)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(1)
try:
    s.connect('\0@@ABSTRACT@@')
    print(WIN, 'connected', s.recv(200))
except OSError as e:
    print('refused:', type(e).__name__)
