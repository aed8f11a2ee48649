# hostile: read another session's files (sessions lay side by side, visible when TMPDIR is not under /tmp)
# expect: ok
import os
roots = ['@@SESSIONS@@', os.path.dirname(os.path.dirname(os.path.abspath('.'))), os.path.dirname(os.environ.get('HOME', '/')), os.environ.get('TMPDIR', '/tmp')]
for root in roots:
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                print(p, open(p, errors='replace').read(200))
            except OSError as e:
                print(p, 'refused:', type(e).__name__)
