# hostile: write to /proc/sys (the same value back: harmless if it works, but it must not)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
for path in ['/proc/sys/kernel/printk_ratelimit', '/proc/sys/vm/overcommit_ratio']:
    try:
        v = open(path).read()
        with open(path, 'w') as f:
            f.write(v)
        print(WIN, 'wrote', path)
    except OSError as e:
        print(path, 'refused:', type(e).__name__)
