# hostile: plant usercustomize.py and a .pth in the user site-packages under $HOME, which Python runs at start, then crash the worker
# expect: WorkerDied
# then: import builtins; print('alive', getattr(builtins, 'HOSTILE_INJECTED', False))
# then-expect: alive False
import os, site, sys
code = 'import builtins; builtins.HOSTILE_INJECTED = True\n'
for d in [site.getusersitepackages(), os.path.expanduser('~/.local/lib/python%d.%d/site-packages' % sys.version_info[:2])]:
    try:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'usercustomize.py'), 'w') as f:
            f.write(code)
        with open(os.path.join(d, 'hostile.pth'), 'w') as f:
            f.write(code)
        print('planted in', d)
    except OSError as e:
        print('plant', d, 'refused:', type(e).__name__)
sys.stdout.flush()
os._exit(3)
