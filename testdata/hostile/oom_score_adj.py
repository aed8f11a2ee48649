# hostile: make the worker the last process the OOM killer picks (oom_score_adj -1000, root only)
# expect: ok
WIN = 'HOSTILE' + '-WIN'
try:
    with open('/proc/self/oom_score_adj', 'w') as f:
        f.write('-1000')
    v = open('/proc/self/oom_score_adj').read().strip()
    if v == '-1000':
        print(WIN, 'oom_score_adj is', v)
except OSError as e:
    print('refused:', type(e).__name__)
