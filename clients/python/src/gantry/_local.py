"""Finding the gantry binary and running a local gantry serve."""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import weakref
from pathlib import Path
from typing import IO, Optional, Sequence

from .errors import ServerStartError

_PREFIX = "gantry: serving on "


def bundled_binary() -> Optional[str]:
    """The gantry binary inside this package (platform wheels carry one), or None."""
    p = Path(__file__).resolve().parent / "_bin" / "gantry"
    if not p.is_file():
        return None
    mode = p.stat().st_mode
    if not mode & stat.S_IXUSR:
        try:
            p.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            return None
    return str(p)


def find_binary() -> str:
    """The gantry binary: the one in the wheel, then $GANTRY_BIN, then gantry on PATH."""
    b = bundled_binary()
    if b:
        return b
    env = os.environ.get("GANTRY_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise ServerStartError(f"GANTRY_BIN={env} is not an executable file")
        return env
    on_path = shutil.which("gantry")
    if on_path:
        return on_path
    raise ServerStartError("no gantry binary: install a platform wheel of gantry, set GANTRY_BIN, "
                           "or put gantry on PATH (go build ./cmd/gantry)")


class LocalServer:
    """A gantry serve child process on a free loopback port, stopped by stop() or at exit.

    With ``unix`` it also serves a Unix socket, ``self.unix``, in a private temporary directory
    (None when the binary is too old to know ``--unix``).
    """

    def __init__(self, binary: Optional[str] = None, args: Sequence[str] = (), start_timeout: float = 60.0,
                 unix: bool = False) -> None:
        self.binary = binary or find_binary()
        self.unix: Optional[str] = None
        self._dir: Optional[str] = None
        if unix:
            self._dir = tempfile.mkdtemp(prefix="gantry-")  # mode 0700
            self.unix = os.path.join(self._dir, "gantry.sock")
        try:
            self._start(args, start_timeout)
        except ServerStartError as e:
            if self.unix is None or "unknown flag: --unix" not in str(e):
                self._rmdir()
                raise
            self._rmdir()
            self.unix = None
            self._start(args, start_timeout)
        # Keep reading stdout so that the server never blocks on a full pipe.
        assert self.proc.stdout is not None
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop, self.proc, self._dir)
        atexit.register(self._finalizer)

    def _start(self, args: Sequence[str], start_timeout: float) -> None:
        self._log = tempfile.TemporaryFile(prefix="gantry-serve-", suffix=".log")
        cmd = [self.binary, "serve", "--addr", "127.0.0.1:0", *args]
        if self.unix:
            cmd += ["--unix", self.unix]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self._log, text=True, start_new_session=True)
        except OSError as e:
            raise ServerStartError(f"cannot start {self.binary}: {e}") from e
        self.url = self._read_url(start_timeout)

    def _rmdir(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _read_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        found: list[str] = []
        done = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith(_PREFIX):
                    found.append(line[len(_PREFIX):].strip())
                    break
            done.set()

        t = threading.Thread(target=read, daemon=True)
        t.start()
        done.wait(timeout)
        if found:
            return found[0]
        _stop(self.proc)
        raise ServerStartError(f"{self.binary} serve did not start: {self.stderr_tail()}")

    def stderr_tail(self, n: int = 2000) -> str:
        """The end of the server's log."""
        try:
            self._log.seek(0)
            data = self._log.read()
            return data[-n:].decode("utf-8", "replace").strip() or "(no output)"
        except (OSError, ValueError):
            return "(log unavailable)"

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 10 s)."""
        self._finalizer()
        try:
            self._log.close()
        except OSError:
            pass


def _drain(f: IO[str]) -> None:
    try:
        for _ in f:
            pass
    except (OSError, ValueError):
        pass


def _stop(proc: "subprocess.Popen[str]", tmpdir: Optional[str] = None) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)
