# hostile: connect to host Unix sockets: a listener under /var/tmp (answered before) and one in the host's /tmp
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import socket
for path in ['@@SOCK@@', '@@TMPSOCK@@', '/var/run/docker.sock', '/run/dbus/system_bus_socket']:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(path)
        print(WIN, 'connected to', path, s.recv(200))
    except OSError as e:
        print(path, 'refused:', type(e).__name__)
    finally:
        s.close()
