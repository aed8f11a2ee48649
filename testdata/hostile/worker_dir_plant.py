# hostile: plant a json.py next to the worker script (sys.path[0]) so the next worker imports it, then crash
# expect: WorkerDied
# then: import builtins; print('alive', getattr(builtins, 'HOSTILE_INJECTED', False))
# then-expect: alive False
WIN = 'HOSTILE' + '-WIN'
import os, sys
d = os.path.dirname(os.path.abspath(sys.argv[0]))
plant = '''import builtins, sys, importlib
builtins.HOSTILE_INJECTED = True
here = sys.path.pop(0)
del sys.modules['json']
real = importlib.import_module('json')
sys.modules['json'] = real
globals().update(real.__dict__)
'''
for name in ['json.py', 'resource.py', 'ast.py']:
    try:
        with open(os.path.join(d, name), 'w') as f:
            f.write(plant if name == 'json.py' else '')
        if name == 'json.py':
            print(WIN, 'planted', os.path.join(d, name))
    except OSError as e:
        print('plant', name, 'refused:', type(e).__name__)
sys.stdout.flush()
os._exit(3)
