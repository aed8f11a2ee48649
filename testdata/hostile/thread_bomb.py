# hostile: 5000 sleeping threads
# expect: RuntimeError|MemoryError|OSError
# timeout: 5s
WIN = 'HOSTILE' + '-WIN'
import threading, time
n = 0
try:
    for i in range(5000):
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        n += 1
finally:
    print('started', n)
    if n >= 5000:
        print(WIN, 'started', n, 'threads')
