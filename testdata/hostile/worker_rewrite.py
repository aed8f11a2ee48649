# hostile: rewrite the worker's own code (it lay in the writable session directory), then crash it so the "fresh" worker runs the attacker's version without limits
# expect: WorkerDied
# then: import builtins, resource; print('alive', getattr(builtins, 'HOSTILE_INJECTED', False), resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY)
# then-expect: alive False True
WIN = 'HOSTILE' + '-WIN'
import os, sys
paths = set([os.path.abspath(sys.argv[0])])
main = sys.modules.get('__main__')
if getattr(main, '__file__', None):
    paths.add(os.path.abspath(main.__file__))
inject = 'import builtins\nbuiltins.HOSTILE_INJECTED = True\n'
for path in paths:
    try:
        src = open(path).read()
    except OSError as e:
        print('cannot read', path, type(e).__name__)
        continue
    new = inject + src.replace('set_limits(init.get("limits", {}))', 'pass')
    for attempt in ['write', 'chmod', 'replace']:
        try:
            if attempt == 'chmod':
                os.chmod(path, 0o700)
            if attempt == 'replace':
                os.unlink(path)
            with open(path, 'w') as f:
                f.write(new)
            print(WIN, 'rewrote the worker at', path, 'by', attempt)
            break
        except OSError as e:
            print(attempt, path, 'refused:', type(e).__name__)
sys.stdout.flush()
os._exit(3)
