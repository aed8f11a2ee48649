# hostile: connect to a TCP listener on the host's loopback
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import socket
host, port = '@@TCP@@'.rsplit(':', 1)
try:
    s = socket.create_connection((host, int(port)), timeout=1)
    print(WIN, 'connected', s.recv(200))
except OSError as e:
    print('refused:', type(e).__name__)
