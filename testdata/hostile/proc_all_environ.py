# hostile: walk every /proc/PID/environ and cmdline the sandbox can see
# expect: ok
import os
for pid in os.listdir('/proc'):
    if not pid.isdigit():
        continue
    for what in ['environ', 'cmdline']:
        try:
            with open('/proc/%s/%s' % (pid, what), 'rb') as f:
                print(pid, what, f.read().replace(b'\0', b' ').decode('utf-8', 'replace'))
        except OSError as e:
            print(pid, what, 'refused:', type(e).__name__)
