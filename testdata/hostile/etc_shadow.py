# hostile: read /etc/shadow (root-only on the host)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
try:
    data = open('/etc/shadow').read()
    print(WIN, 'read /etc/shadow:', len(data), 'bytes')
except OSError as e:
    print('refused:', type(e).__name__)
