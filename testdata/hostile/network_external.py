# hostile: reach the network: DNS and a TCP connection out
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import socket
try:
    s = socket.create_connection(('1.1.1.1', 53), timeout=1)
    print(WIN, 'connected out')
except OSError as e:
    print('tcp refused:', type(e).__name__)
try:
    print(WIN, 'resolved', socket.getaddrinfo('example.com', 80)[0][4])
except OSError as e:
    print('dns refused:', type(e).__name__)
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'x', ('8.8.8.8', 53))
    print('udp sent')
except OSError as e:
    print('udp refused:', type(e).__name__)
