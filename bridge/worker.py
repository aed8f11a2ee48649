# gantry's Python worker: runs code actions for one session, keeping state.
# Standard library only; Python 3.9+. gantry runs it as `python -I -B -u -c
# <this script>`: it is in no file that code could rewrite. It talks to
# gantry over its own pipes (fd 3: requests from gantry, fd 4: replies),
# never over stdin/stdout, so code that prints, writes to fd 1 or closes
# stdout cannot corrupt it. Protocol: docs/bridge.md.
import ast
import builtins
import io
import json
import os
import resource
import signal
import sys
import threading
import types

REQ_FD, REP_FD = 3, 4
FILENAME = "<action>"  # as tracebacks name the code; it is compiled as "<action N>", N its cell


def cell_file(cell):
    return "<action %d>" % cell


def cell_of(filename):
    """The cell of a file name cell_file made, or None."""
    if filename.startswith("<action ") and filename.endswith(">"):
        try:
            return int(filename[8:-1])
        except ValueError:
            return None
    return None


# The source lines of recent cells, for tracebacks through functions that
# earlier actions defined (the last few only: the worker's memory is bounded).
_cells = {}
_MAX_CELLS = 64


def remember(cell, lines):
    _cells[cell] = lines
    while len(_cells) > _MAX_CELLS:
        del _cells[min(_cells)]


def nullrepr(value):
    return ""


class Channel:
    def __init__(self):
        self.buf = bytearray()
        self.max_frame = 4 << 20  # gantry's limit on one frame; init says
        self.lock = threading.Lock()  # the output streamer sends too

    def encode(self, msg):
        return (json.dumps(msg, default=repr) + "\n").encode()

    def send_data(self, data):
        view = memoryview(data)
        with self.lock:
            while view:
                n = os.write(REP_FD, view)
                view = view[n:]

    def send(self, msg):
        self.send_data(self.encode(msg))

    def recv(self):
        start = 0
        while True:
            end = self.buf.find(b"\n", start)
            if end >= 0:
                break
            start = len(self.buf)
            chunk = os.read(REQ_FD, 1 << 16)
            if not chunk:
                os._exit(0)  # gantry went away
            self.buf += chunk
        line = bytes(self.buf[:end])
        del self.buf[: end + 1]
        return json.loads(line)


chan = Channel()


def watch_gantry():
    """End the worker when gantry's end of the request pipe closes, even
    while code runs: as the sandbox's pid 1 under a user namespace gantry
    made, the worker does not get bubblewrap's parent-death signal (its
    parent runs as another user), and its exit ends everything in the
    sandbox."""
    import select
    import threading

    def watch():
        p = select.poll()
        p.register(REQ_FD, 0)  # only POLLHUP, POLLERR and POLLNVAL
        while True:
            try:
                if p.poll():
                    os._exit(0)
            except InterruptedError:
                continue
            except BaseException:
                os._exit(0)

    threading.Thread(target=watch, name="gantry-watch", daemon=True).start()
    # Python 3.12+ warns at every fork of a process with threads; this
    # thread only polls and is harmless in a child, so the code is not told.
    import warnings

    warnings.filterwarnings("ignore", message=r"This process \(pid=\d+\) is multi-threaded", category=DeprecationWarning)


class Interrupts:
    """Where gantry's interrupt (SIGINT: the action's time limit) lands.
    During an action it raises KeyboardInterrupt in the code; during a tool
    call it waits until the call is complete, so that it never cuts a frame
    in half (gantry does not interrupt while it runs the tool anyway);
    between actions it is dropped, not left to kill the idle worker."""

    IDLE, ACTION, CALL = 0, 1, 2

    def __init__(self):
        self.mode = self.IDLE
        self.pending = False

    def handler(self, signum, frame):
        if self.mode == self.ACTION:
            raise KeyboardInterrupt
        if self.mode == self.CALL:
            self.pending = True

    def install(self):
        # Code may have replaced the handler in an earlier action.
        if signal.getsignal(signal.SIGINT) != self.handler:
            signal.signal(signal.SIGINT, self.handler)


interrupts = Interrupts()


class ToolError(Exception):
    """A gantry tool failed; the message is the tool's. The exception
    raised is also the builtin its kind names (TypeError, ValueError,
    NameError, ConnectionError, PermissionError, TimeoutError,
    InterruptedError, RuntimeError), so code may catch either."""


TOOL_ERRORS = {}


def tool_error(kind):
    """The class a failed call raises: gantry names the builtin exception
    (the "kind" of its reply, one mapping in gantry's tool package); the
    class is that builtin and a ToolError, and reads as the builtin."""
    cls = TOOL_ERRORS.get(kind)
    if cls is None:
        base = getattr(builtins, kind, None) if isinstance(kind, str) else None
        if not (isinstance(base, type) and issubclass(base, Exception)):
            base = RuntimeError
        cls = type(base.__name__, (ToolError, base), {"__doc__": ToolError.__doc__})
        cls.__module__ = "builtins"
        TOOL_ERRORS[kind] = cls
    return cls


FLOAT_TAGS = ("$float", "$dict")


def to_wire(v, seen=None):
    """v with the floats JSON cannot carry tagged: NaN and the infinities
    become {"$float": "nan" | "inf" | "-inf"}, and a dict whose only key is
    a tag travels wrapped in {"$dict": ...}, so that gantry decodes both
    exactly. Lists, tuples and dicts are copied; other values are left to
    json (repr for what it cannot encode)."""
    if isinstance(v, float):
        if v != v:
            return {"$float": "nan"}
        if v in (float("inf"), float("-inf")):
            return {"$float": "inf" if v > 0 else "-inf"}
        return v
    if isinstance(v, (list, tuple, dict)):
        seen = seen if seen is not None else set()
        if id(v) in seen:
            raise ValueError("tool arguments cannot contain themselves (a cyclic list or dict)")
        seen.add(id(v))
        if isinstance(v, dict):
            out = {k: to_wire(x, seen) for k, x in v.items()}
            if len(out) == 1 and next(iter(out)) in FLOAT_TAGS:
                out = {"$dict": out}
        else:
            out = [to_wire(x, seen) for x in v]
        seen.discard(id(v))
        return out
    return v


def size_text(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d %s" % (n >> shift, unit)
    return "%d bytes" % n


def make_tool(spec):
    name = spec["name"]

    def call(*args, **kwargs):
        data = chan.encode({"type": "call", "name": name, "args": to_wire(list(args)), "kwargs": to_wire(kwargs)})
        if len(data) > chan.max_frame:
            raise ValueError(
                "the arguments of %s are %d bytes as JSON, more than a tool call may carry (%s)"
                % (name, len(data), size_text(chan.max_frame))
            )
        mode = interrupts.mode
        interrupts.mode = interrupts.CALL
        try:
            if _streamer:
                _streamer[0].pump()  # what was printed before the call, first
            chan.send_data(data)
            msg = chan.recv()
        finally:
            interrupts.mode = mode
        if interrupts.pending and mode == interrupts.ACTION:
            interrupts.pending = False
            raise KeyboardInterrupt
        if msg.get("type") == "return":
            if msg.get("ok"):
                return msg.get("value")
            raise tool_error(msg.get("kind"))(msg.get("error", "tool failed"))
        # Anything else while waiting is a protocol error.
        raise RuntimeError("gantry bridge: unexpected message while calling %s" % name)

    call.__name__ = name.rsplit(".", 1)[-1]
    call.__qualname__ = name
    call.__doc__ = spec.get("doc", "")
    if "params" in spec:
        holder = signature_holder(spec)
        if holder is not None:
            call.__wrapped__ = holder  # inspect.signature and help() follow it
    return call


# The annotation of a tool type in a stub's signature ("any" has none).
TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict, "None": None}


def signature_holder(spec):
    """A function with nothing but the tool's signature as the registry
    declares it (a variadic parameter as *name), which the stub names as
    __wrapped__ so that inspect.signature and help() show it. Built with
    exec, so that starting a worker does not import inspect; None when a
    parameter's name is no Python parameter name (a keyword)."""
    env = dict(TYPES)
    parts = []
    for i, p in enumerate(spec["params"]):
        ann = ": " + p["type"] if p.get("type") in TYPES else ""
        if p.get("variadic"):
            parts.append("*%s%s" % (p["name"], ann))
        elif p.get("required"):
            parts.append(p["name"] + ann)
        else:
            env["_default%d" % i] = p.get("default")
            parts.append("%s%s = _default%d" % (p["name"], ann, i))
    ret = " -> " + spec["returns"] if spec.get("returns") in TYPES else ""
    try:
        exec("def signature(%s)%s:\n    pass" % (", ".join(parts), ret), env)
    except SyntaxError:
        return None
    return env["signature"]


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


def cap_text(text, limit, unit="characters"):
    """text cut to about limit characters: the head and the tail, with a
    marker saying how many units (characters) were cut."""
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return text[:half] + "\n[... %d %s truncated ...]\n" % (len(text) - 2 * half, unit) + text[-half:]


def error_report(exc, lines, limit):
    import traceback  # only when something failed: it is slow to import

    import inspect

    # The frames in cells, each with its cell, and the parameter list
    # IPython shows (inspect.formatargvalues without values).
    frames = []
    t = exc.__traceback__
    while t is not None:
        code = t.tb_frame.f_code
        cell = cell_of(code.co_filename)
        if cell is not None:
            args = ""
            if code.co_name != "<module>":
                try:
                    a, va, kw, loc = inspect.getargvalues(t.tb_frame)
                    args = inspect.formatargvalues(a, va, kw, loc, formatvalue=nullrepr)
                except Exception:
                    args = ""
            frames.append({"cell": cell, "line": t.tb_lineno, "func": code.co_name, "args": args})
        t = t.tb_next
    out = []
    line = 0
    if frames:
        out.append("Traceback (most recent call last):")
        for f in frames:
            out.append('  File "%s", line %d, in %s' % (FILENAME, f["line"], f["func"]))
            cl = _cells.get(f["cell"], [])
            src = cl[f["line"] - 1].strip() if 0 < f["line"] <= len(cl) else ""
            if src:
                out.append("    " + src)
            line = f["line"]
    syntax = None
    if isinstance(exc, SyntaxError) and cell_of(exc.filename or "") is not None:
        line = exc.lineno or 0
        if not exc.text and 0 < line <= len(lines):
            # Compiled from a tree, the error has no text: the cell's line
            # (IPython reads it from its cache of cells).
            exc.text = lines[line - 1] + "\n"
        # CPython's own layout (carets included), the file named as ever.
        shown = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n").split("\n")
        if shown and shown[0].startswith('  File "'):
            shown[0] = '  File "%s", line %d' % (FILENAME, line)
        out.extend(shown[:-1])
        syntax = {"line": line, "text": exc.text or "", "offset": exc.offset or 0}
    msg = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or "")
    name = type(exc).__name__
    out.append("%s: %s" % (name, msg) if msg else name)
    src = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    report = {
        "type": name,
        "message": cap_text(msg, limit),
        "line": line,
        "source": cap_text(src, limit),
        "traceback": cap_text("\n".join(out), limit),
    }
    if syntax is not None:
        syntax["text"] = cap_text(syntax["text"], limit)
        report["syntax"] = syntax
    elif frames:
        report["frames"] = frames[:1500] + frames[-1500:] if len(frames) > 3000 else frames
    return report


_capture = []


def capture_file():
    # One capture file for the worker's life, emptied per action; a new one
    # if code closed it. In memory (bounded by RLIMIT_FSIZE like any file),
    # so that code filling /tmp does not silence later actions.
    if not _capture or _capture[0].closed:
        if hasattr(os, "memfd_create"):
            f = os.fdopen(os.memfd_create("gantry-capture"), "w+b")
        else:
            path = os.path.join(os.environ.get("TMPDIR") or "/tmp", "gantry-capture-%d" % os.getpid())
            f = open(path, "w+b")
            os.unlink(path)  # anonymous from now on, like a TemporaryFile
        _capture[:] = [f]
    f = _capture[0]
    f.seek(0)
    f.truncate()
    return f


class Streamer:
    """Sends the action's output (the capture file) to gantry as it is
    written, in stdout frames, up to limit bytes: a thread looks for new
    output every 50 ms, and the action's thread before each tool call and
    at its end."""

    def __init__(self, fd, action, limit):
        import codecs

        self.fd, self.action, self.limit = fd, action, limit
        self.offset = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop.wait(0.05):
            self.pump()

    def pump(self, final=False):
        with self.lock:  # the worker runs -u: printed text is in the file already
            while self.offset < self.limit:
                data = os.pread(self.fd, min(1 << 16, self.limit - self.offset), self.offset)
                if not data:
                    break
                self.offset += len(data)
                text = self.decoder.decode(data, final or self.offset >= self.limit)
                if text:
                    chan.send({"type": "stdout", "id": self.action, "text": text})

    def close(self):
        self.stop.set()
        self.thread.join()
        self.pump(final=True)


_streamer = []


def run(code, ns, limit, cell, stream=0, action=None):
    lines = code.split("\n")
    remember(cell, lines)
    name = cell_file(cell)
    value = None
    err = None
    sys.stdout.flush()
    sys.stderr.flush()
    cap = capture_file()
    saved = os.dup(1), os.dup(2)
    os.dup2(cap.fileno(), 1)
    os.dup2(cap.fileno(), 2)
    if stream > 0:
        _streamer[:] = [Streamer(cap.fileno(), action, stream)]
    try:
        tree = ast.parse(code, name, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        # One statement at a time, as IPython runs a cell: a statement
        # that does not compile ('break' outside a loop) fails after the
        # ones before it ran.
        for node in tree.body:
            exec(compile(ast.Module(body=[node], type_ignores=[]), name, "exec"), ns)
        if last is not None:
            v = eval(compile(last, name, "eval"), ns)
            if v is not None:
                value = repr(v)
                value = cap_text(value, limit, "bytes")
    except BaseException as exc:  # report everything, KeyboardInterrupt and SystemExit included
        try:
            err = error_report(exc, lines, limit)
        except BaseException as exc2:  # a str() that fails, memory exhausted
            err = {"type": type(exc).__name__, "message": "(the error could not be reported: %s)" % type(exc2).__name__, "line": 0, "source": "", "traceback": type(exc).__name__}
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
        if _streamer:
            mode = interrupts.mode
            interrupts.mode = interrupts.CALL  # no KeyboardInterrupt inside a frame
            try:
                _streamer.pop().close()
            finally:
                interrupts.mode = mode
    out, truncated = read_capped(cap, limit)
    return {"stdout": out, "value": value, "error": err, "truncated": truncated}


def set_limits(limits):
    # Hard and soft, so that code cannot raise them; a limit already lower
    # (inherited) is kept. A limit that cannot be set fails the start.
    for name, value in limits.items():
        res = getattr(resource, name, None)
        if res is None or value is None or value <= 0:
            continue
        hard = resource.getrlimit(res)[1]
        if hard != resource.RLIM_INFINITY and hard < value:
            value = hard
        resource.setrlimit(res, (value, value))


def main():
    interrupts.install()
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit raises instead
    init = chan.recv()
    for fd in init.get("close_fds") or []:
        try:
            os.close(fd)
        except OSError:
            pass
    if init.get("watch_gantry"):
        watch_gantry()
    set_limits(init.get("limits", {}))
    chan.max_frame = int(init.get("max_frame") or chan.max_frame)
    # -I ignores PYTHONPATH; honour the one gantry's options set.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[0:0] = extra
    ns = {"__name__": "__main__", "__builtins__": builtins}
    install_tools(ns, init.get("tools") or [])
    chan.send({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    cells = 0
    while True:
        msg = chan.recv()
        if msg.get("type") != "exec":
            continue
        interrupts.install()
        interrupts.pending = False
        try:
            interrupts.mode = interrupts.ACTION
            try:
                cells += 1
                res = run(msg["code"], ns, int(msg.get("max_output", 16384)), int(msg.get("cell") or cells), int(msg.get("stream") or 0), msg.get("id"))
            finally:
                interrupts.mode = interrupts.IDLE
        except KeyboardInterrupt:
            res = {"stdout": "", "value": None, "error": {"type": "KeyboardInterrupt", "message": "", "line": 0, "source": "", "traceback": "KeyboardInterrupt"}, "truncated": False}
        res["type"] = "result"
        res["id"] = msg.get("id")
        data = chan.encode(res)
        if len(data) > chan.max_frame:
            # Only a very large max_output gets here: cut every text to fit.
            each = chan.max_frame // 64
            for k in ("stdout", "value"):
                if res.get(k):
                    res[k] = cap_text(res[k], each)
            if res.get("error"):
                for k in ("message", "source", "traceback"):
                    res["error"][k] = cap_text(res["error"][k], each)
                res["error"].pop("frames", None)
            res["truncated"] = True
            data = chan.encode(res)
        chan.send_data(data)


if __name__ == "__main__":
    main()
