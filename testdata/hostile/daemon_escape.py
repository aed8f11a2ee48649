# hostile: leave processes behind: a double-forked daemon in a new session and a background subprocess
# expect: ok
import os, subprocess, time
subprocess.Popen(['sleep', '300'], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
print('daemons started')
