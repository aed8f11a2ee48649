# gantry's Python worker: runs code actions for one session, keeping state.
# Standard library only; Python 3.9+. It talks to gantry over its own pipes
# (fd 3: requests from gantry, fd 4: replies), never over stdin/stdout, so
# code that prints, writes to fd 1 or closes stdout cannot corrupt it.
# Protocol: docs/bridge.md.
import ast
import builtins
import io
import json
import os
import resource
import signal
import sys
import types

REQ_FD, REP_FD = 3, 4
FILENAME = "<action>"


class Channel:
    def __init__(self):
        self.r = os.fdopen(REQ_FD, "rb", buffering=0)
        self.buf = b""

    def send(self, msg):
        data = (json.dumps(msg, default=repr) + "\n").encode()
        view = memoryview(data)
        while view:
            n = os.write(REP_FD, view)
            view = view[n:]

    def recv(self):
        while b"\n" not in self.buf:
            chunk = os.read(REQ_FD, 1 << 16)
            if not chunk:
                os._exit(0)  # gantry went away
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


chan = Channel()


class ToolError(Exception):
    """A gantry tool failed; the message is the tool's."""


def make_tool(spec):
    name = spec["name"]

    def call(*args, **kwargs):
        chan.send({"type": "call", "name": name, "args": list(args), "kwargs": kwargs})
        while True:
            msg = chan.recv()
            if msg.get("type") == "return":
                if msg.get("ok"):
                    return msg.get("value")
                raise ToolError(msg.get("error", "tool failed"))
            # Anything else while waiting is a protocol error.
            raise RuntimeError("gantry bridge: unexpected message while calling %s" % name)

    call.__name__ = name.rsplit(".", 1)[-1]
    call.__qualname__ = name
    call.__doc__ = spec.get("doc", "")
    return call


def install_tools(ns, specs):
    for spec in specs:
        parts = spec["name"].split(".")
        target = ns
        for p in parts[:-1]:
            obj = target.get(p) if isinstance(target, dict) else getattr(target, p, None)
            if obj is None:
                obj = types.SimpleNamespace()
                if isinstance(target, dict):
                    target[p] = obj
                else:
                    setattr(target, p, obj)
            target = obj
        fn = make_tool(spec)
        if isinstance(target, dict):
            target[parts[-1]] = fn
        else:
            setattr(target, parts[-1], fn)


def read_capped(f, limit):
    size = f.seek(0, 2)
    f.seek(0)
    if size <= limit:
        return f.read().decode("utf-8", "replace"), False
    half = limit // 2
    head = f.read(half)
    f.seek(size - half)
    tail = f.read(half)
    cut = size - len(head) - len(tail)
    text = head.decode("utf-8", "replace") + "\n[... %d bytes truncated ...]\n" % cut + tail.decode("utf-8", "replace")
    return text, True


def error_report(exc, lines):
    import traceback  # only when something failed: it is slow to import

    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in tb if f.filename == FILENAME]
    out = []
    line = 0
    if frames:
        out.append("Traceback (most recent call last):")
        for f in frames:
            out.append('  File "%s", line %d, in %s' % (f.filename, f.lineno, f.name))
            src = lines[f.lineno - 1].strip() if 0 < f.lineno <= len(lines) else ""
            if src:
                out.append("    " + src)
            line = f.lineno
    if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        line = exc.lineno or 0
        out = out or []
        out.append('  File "%s", line %d' % (FILENAME, line))
        if exc.text:
            out.append("    " + exc.text.strip())
    msg = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or "")
    name = type(exc).__name__
    out.append("%s: %s" % (name, msg) if msg else name)
    src = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return {"type": name, "message": msg, "line": line, "source": src, "traceback": "\n".join(out)}


_capture = []


def capture_file():
    # One capture file for the worker's life, emptied per action; a new one
    # if code closed it.
    if not _capture or _capture[0].closed:
        path = os.path.join(os.environ.get("TMPDIR") or "/tmp", "gantry-capture-%d" % os.getpid())
        f = open(path, "w+b")
        os.unlink(path)  # anonymous from now on, like a TemporaryFile
        _capture[:] = [f]
    f = _capture[0]
    f.seek(0)
    f.truncate()
    return f


def run(code, ns, limit):
    lines = code.split("\n")
    value = None
    err = None
    sys.stdout.flush()
    sys.stderr.flush()
    cap = capture_file()
    saved = os.dup(1), os.dup(2)
    os.dup2(cap.fileno(), 1)
    os.dup2(cap.fileno(), 2)
    try:
        tree = ast.parse(code, FILENAME, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, FILENAME, "exec"), ns)
        if last is not None:
            v = eval(compile(last, FILENAME, "eval"), ns)
            if v is not None:
                value = repr(v)
                if len(value) > limit:
                    value = value[: limit // 2] + "\n[... %d bytes truncated ...]\n" % (len(value) - limit) + value[-limit // 2 :]
    except BaseException as exc:  # report everything, KeyboardInterrupt and SystemExit included
        err = error_report(exc, lines)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        # Code may have replaced or closed the Python-level streams.
        if sys.stdout is None or getattr(sys.stdout, "closed", False) or sys.stdout.fileno() != 1:
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0, closefd=False), write_through=True)
        if sys.stderr is None or getattr(sys.stderr, "closed", False):
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", buffering=0, closefd=False), write_through=True)
    out, truncated = read_capped(cap, limit)
    return {"stdout": out, "value": value, "error": err, "truncated": truncated}


def set_limits(limits):
    for name, value in limits.items():
        res = getattr(resource, name, None)
        if res is None or value is None or value <= 0:
            continue
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass


def main():
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit raises instead
    init = chan.recv()
    set_limits(init.get("limits", {}))
    ns = {"__name__": "__main__", "__builtins__": builtins}
    install_tools(ns, init.get("tools") or [])
    chan.send({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        msg = chan.recv()
        if msg.get("type") != "exec":
            continue
        try:
            res = run(msg["code"], ns, int(msg.get("max_output", 16384)))
        except KeyboardInterrupt:
            res = {"stdout": "", "value": None, "error": {"type": "KeyboardInterrupt", "message": "", "line": 0, "source": "", "traceback": "KeyboardInterrupt"}, "truncated": False}
        res["type"] = "result"
        res["id"] = msg.get("id")
        chan.send(res)


if __name__ == "__main__":
    main()
