# hostile: read another session's files (sessions lay side by side, visible when TMPDIR is not under /tmp)
# expect: ok
# Walks where other sessions' directories would be: the host's session root, the parents of the
# working directory and of HOME, and TMPDIR; not the system directories and the interpreter the
# sandbox shows read-only (the parents of the working directory reach "/" in the sandbox).
import os, sys
system = ('/usr', '/proc', '/sys', '/dev', '/etc', '/bin', '/sbin', '/lib', '/lib64', sys.prefix, sys.base_prefix)
roots = ['@@SESSIONS@@', os.path.dirname(os.path.dirname(os.path.abspath('.'))), os.path.dirname(os.environ.get('HOME', '/')), os.environ.get('TMPDIR', '/tmp')]
seen = set()
for root in roots:
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.join(dirpath, d).startswith(system)]
        for name in files:
            p = os.path.join(dirpath, name)
            if p in seen:
                continue
            seen.add(p)
            try:
                print(p, open(p, errors='replace').read(200))
            except OSError as e:
                print(p, 'refused:', type(e).__name__)
print('walked', len(seen), 'files')
