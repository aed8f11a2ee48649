# hostile: write to /sys (a kernel knob, the same value back)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
import re
path = '/sys/kernel/mm/transparent_hugepage/enabled'
try:
    cur = re.search(r'\[(\w+)\]', open(path).read()).group(1)
    with open(path, 'w') as f:
        f.write(cur)
    print(WIN, 'wrote', path)
except (OSError, AttributeError) as e:
    print(path, 'refused:', type(e).__name__)
