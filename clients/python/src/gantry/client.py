"""The synchronous client of gantry serve."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import urllib.parse
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import httpx

from ._local import LocalServer
from ._wire import Wire
from .devices import DeviceMethods, session_body
from .errors import GantryError, error_from_body, error_from_item
from .types import AnswerResult, ExecResult, ResetItem, SessionInfo, StepResult, ToolList, game_id

DEFAULT_TIMEOUT = 120.0

_dumps = json.JSONEncoder(ensure_ascii=True).encode
_decode = json.JSONDecoder().decode


def _headers(token: Optional[str]) -> dict[str, str]:
    h = {"User-Agent": "gantry-python"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return h


def _check(r: httpx.Response) -> Any:
    if r.status_code == 204:
        return None
    try:
        body = r.json()
    except ValueError:
        body = None
    if r.status_code >= 400:
        raise error_from_body(r.status_code, body, r.text[:500])
    return body


def _check_raw(status: int, raw: bytes) -> Any:
    if status == 204:
        return None
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if status >= 400:
        raise error_from_body(status, body, raw[:500].decode("utf-8", "replace"))
    return body


class _Transport:
    """Keep-alive HTTP/1.1 connections with the standard library, one per thread: a step costs a
    quarter of what it costs through httpx's synchronous client, which matters at thousands of
    steps a second."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        self.headers = headers
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def stream_connection(self) -> http.client.HTTPConnection:
        """A connection of its own for a streamed response (the caller closes it)."""
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _new(self) -> http.client.HTTPConnection:
        c: http.client.HTTPConnection
        if self.https:
            c = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                            context=ssl.create_default_context())
        else:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        with self._lock:
            self._all.append(c)
        return c

    def request(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        while True:
            c = getattr(self._local, "conn", None)
            reused = c is not None
            if c is None:
                c = self._local.conn = self._new()
            try:
                c.request(method, self.prefix + path, body=data, headers=headers)
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                c.close()
                self._local.conn = None
                if not reused:  # a fresh connection that fails is an error; a stale kept-alive one is retried
                    raise
            except BaseException:
                c.close()
                self._local.conn = None
                raise

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                c.close()
            self._all.clear()


class _UnixHTTPConnection(http.client.HTTPConnection):
    """An http.client connection over a Unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._socket_path)
        except BaseException:
            s.close()
            raise
        self.sock = s


class _WireTransport:
    """gantry serve over plain HTTP (TCP or a Unix socket) with the lean transport of _wire."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        self.headers = headers
        self.timeout = timeout
        self.unix: Optional[str] = None
        self.host = ""
        self.port = 0
        if url.startswith("unix:"):
            path = url[len("unix:"):]
            if path.startswith("//"):
                path = path[2:]
            if not path:
                raise ValueError(f"no socket path in {url!r}")
            self.prefix = ""
            self.unix = path
            self.wire = Wire("localhost", 0, headers, timeout, unix=path)
            return
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"not an http URL: {url!r}")
        self.prefix = u.path.rstrip("/")
        self.host = u.hostname
        self.port = u.port or 80
        self.wire = Wire(u.hostname, u.port or 80, headers, timeout)

    def stream_connection(self) -> http.client.HTTPConnection:
        """A connection of its own for a streamed response (the caller closes it)."""
        if self.unix is not None:
            return _UnixHTTPConnection(self.unix, self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        return self.wire.request(method, self.prefix + path, data)

    def close(self) -> None:
        self.wire.close()


def batch_body(steps: Iterable[tuple[Union[str, "Session"], str]], admissible: bool) -> dict[str, Any]:
    out = [{"session": s if isinstance(s, str) else s.id, "command": c} for s, c in steps]
    body: dict[str, Any] = {"steps": out}
    if admissible:
        body["admissible"] = True
    return body


def batch_results(body: Any) -> list[Union[StepResult, GantryError]]:
    out: list[Union[StepResult, GantryError]] = []
    for item in body.get("results", []):
        if item.get("error"):
            out.append(error_from_item(item["error"]))
        else:
            out.append(StepResult.from_json(item))
    return out


ResetSpec = Union[str, "Session", tuple[Union[str, "Session"], Optional[str]]]


def reset_body(resets: Iterable[ResetSpec], admissible: bool) -> dict[str, Any]:
    out = []
    for r in resets:
        s, game = (r if isinstance(r, tuple) else (r, None))
        item: dict[str, Any] = {"session": s if isinstance(s, str) else s.id}
        if game is not None:
            item["game"] = game_id(game)
        out.append(item)
    body: dict[str, Any] = {"resets": out}
    if admissible:
        body["admissible"] = True
    return body


def reset_results(body: Any) -> list[Union[ResetItem, GantryError]]:
    out: list[Union[ResetItem, GantryError]] = []
    for item in body.get("results", []):
        if item.get("error"):
            out.append(error_from_item(item["error"]))
        else:
            out.append(ResetItem(session=item["session"], result=StepResult.from_json(item),
                                 replaced=item.get("replaced") or None, env=item.get("env")))
    return out


class Client(DeviceMethods):
    """A client of gantry serve.

    With no ``url`` (and no ``$GANTRY_URL``) it starts a local ``gantry serve`` on a free loopback
    port, using the binary bundled in the wheel, ``$GANTRY_BIN`` or ``gantry`` on PATH, and stops it
    when the client is closed or the interpreter exits. ``token`` (or ``$GANTRY_TOKEN``) is sent as a
    bearer token. ``serve_args`` are extra flags for the local server (e.g. ``["--max-sessions", "100000"]``).

    A ``url`` of the form ``unix:/path/to/gantry.sock`` reaches a server started with
    ``gantry serve --unix PATH``. The local server the client starts serves a Unix socket in a private
    temporary directory too, and the client talks to it there (a plain step costs about half as much as
    over loopback TCP); ``unix=False`` keeps it on TCP. ``url`` is the server's HTTP URL either way.
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, timeout: float = DEFAULT_TIMEOUT,
                 serve_args: Sequence[str] = (), binary: Optional[str] = None, unix: bool = True) -> None:
        url = url or os.environ.get("GANTRY_URL") or None
        token = token or os.environ.get("GANTRY_TOKEN") or None
        self.server: Optional[LocalServer] = None
        via = None
        if url is None:
            self.server = LocalServer(binary, serve_args, unix=unix)
            url = self.server.url
            if self.server.unix:
                via = "unix:" + self.server.unix
        self.url = url.rstrip("/")
        headers = _headers(token)
        self._http: Union[_Transport, _WireTransport]
        if self.url.startswith("https:"):
            self._http = _Transport(self.url, headers, timeout)
        else:
            self._http = _WireTransport(via or self.url, headers, timeout)

    # --- plumbing

    def _request(self, method: str, path: str, json: Any = None) -> Any:
        try:
            status, raw = self._http.request(method, path, json)
        except (OSError, http.client.HTTPException) as e:
            raise GantryError(f"gantry at {self.url}: {e}") from e
        return _check_raw(status, raw)

    # --- sessions

    def session(self, runtime: str = "starlark", env: Union[str, dict[str, Any], None] = None, *,
                game: Optional[str] = None, seed: Optional[int] = None, max_steps: Optional[int] = None,
                task: Optional[str] = None, format: Optional[str] = None,
                devices: Optional[Sequence[str]] = None) -> "Session":
        """Creates a session: a runtime ("starlark", "python" or "none"), an environment and devices.

        ALFWorld (the default): ``game`` is an embedded game's id (or the path of its game.tw-pddl),
        ``seed`` a generated game, neither an embedded game at random. M3ToolEval
        (``env="m3tooleval"``): ``task`` names the task (family/task), ``format`` the action format
        of its prompt and of ``step`` (code, json or text). ``env`` may also be the API's raw env object.
        ``devices`` (names, or ``["*"]`` for all the token may use) become the session's functions
        (``rover.drive(...)``); with devices and no environment asked for, the session has none.
        """
        body = session_body(runtime, env, game, seed, max_steps, devices, task, format)
        return Session(self, SessionInfo.from_json(self._request("POST", "/v1/sessions", body)))

    def sessions(self) -> list[SessionInfo]:
        """This client's (token's) live sessions."""
        return [SessionInfo.from_json(d) for d in self._request("GET", "/v1/sessions")["sessions"]]

    def batch_step(self, steps: Iterable[tuple[Union[str, "Session"], str]], admissible: bool = False
                   ) -> list[Union[StepResult, GantryError]]:
        """Steps many sessions in one request, in order: (session, command) pairs.

        Each item of the answer is a StepResult or the GantryError of that step (not raised).
        """
        return batch_results(self._request("POST", "/v1/batch/step", batch_body(steps, admissible)))

    def batch_reset(self, resets: Iterable[ResetSpec], admissible: bool = False
                    ) -> list[Union[ResetItem, GantryError]]:
        """Resets many sessions in one request, in order: sessions, or (session, game) pairs.

        A game other than the session's replaces the session by a new one playing it (the item's
        ``session`` is the new id, ``replaced`` the old one's, which is deleted). Each item of the answer
        is a ResetItem or the GantryError of that reset (not raised).
        """
        return reset_results(self._request("POST", "/v1/batch/reset", reset_body(resets, admissible)))

    def health(self) -> bool:
        try:
            return self._http.request("GET", "/healthz", None)[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    def close(self) -> None:
        """Closes the connection and stops the local server if this client started one."""
        self._http.close()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __copy__(self) -> "Client":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "Client":
        # A client is a handle on a server: copies (Gymnasium copies an env spec's kwargs) share it.
        return self

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Session:
    """A session of gantry serve; closing it (or leaving its with block) deletes it."""

    def __init__(self, client: Client, info: SessionInfo) -> None:
        self.client = client
        self.info = info
        self.id = info.id
        self.observation = info.observation
        """The opening observation."""
        self._closed = False
        self._step_head: Optional[bytes] = None

    @property
    def game(self) -> str:
        return self.info.game

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def devices(self) -> list[str]:
        """The devices the session's code may use."""
        return self.info.devices

    def _path(self, tail: str = "") -> str:
        return f"/v1/sessions/{self.id}{tail}"

    def exec(self, code: str) -> ExecResult:
        """Runs a code action; an exception in the code is in the result, not raised."""
        return ExecResult.from_json(self.client._request("POST", self._path("/exec"), {"code": code}))

    def exec_stream(self, code: str) -> Iterator[Union[str, ExecResult]]:
        """Runs a code action and yields its printed output as it is printed (``str`` chunks), then its
        ExecResult, last. Leaving the loop early closes the connection, which cancels the action."""
        from .stream import exec_stream

        return exec_stream(self, code)

    def answer(self, answer: str) -> AnswerResult:
        """Proposes an answer (M3ToolEval sessions): the harness's verdict and the episode's state."""
        return AnswerResult.from_json(self.client._request("POST", self._path("/answer"), {"answer": answer}))

    def step(self, command: str, admissible: bool = False) -> StepResult:
        """A plain environment command ("go to desk 1"); admissible asks for the admissible commands."""
        t = self.client._http
        if not isinstance(t, _WireTransport):
            body: dict[str, Any] = {"command": command}
            if admissible:
                body["admissible"] = True
            return StepResult.from_json(self.client._request("POST", self._path("/step"), body))
        # The hot path: the request's start encoded once per session, the body by hand.
        head = self._step_head
        if head is None:
            head = self._step_head = t.wire.head("POST", t.prefix + self._path("/step"))
        data = b'{"command":' + _dumps(command).encode() + (b',"admissible":true}' if admissible else b"}")
        try:
            status, raw = t.wire.send(head + str(len(data)).encode() + b"\r\n\r\n" + data)
        except (OSError, http.client.HTTPException) as e:
            raise GantryError(f"gantry at {self.client.url}: {e}") from e
        if status != 200:
            return StepResult.from_json(_check_raw(status, raw))
        return StepResult.from_json(_decode(raw.decode()))

    def reset(self, admissible: bool = False) -> StepResult:
        """A new episode of the same game; the runtime's variables stay."""
        body = {"admissible": True} if admissible else None
        res = StepResult.from_json(self.client._request("POST", self._path("/reset"), body))
        self.observation = res.observation
        return res

    def tools(self) -> ToolList:
        """The functions the session's code can call, and the listing a prompt shows."""
        return ToolList.from_json(self.client._request("GET", self._path("/tools")))

    def state(self) -> SessionInfo:
        """The session and its episode's state."""
        return SessionInfo.from_json(self.client._request("GET", self._path()))

    def close(self) -> None:
        """Deletes the session (idempotent; a session already gone is not an error)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client._request("DELETE", self._path())
        except GantryError as e:
            if e.status not in (404, 410):
                raise

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<gantry.Session {self.id} runtime={self.info.runtime} game={self.game!r}>"


def reset_sessions(client: Client, slots: Sequence[tuple[Optional[Session], str]], max_steps: int
                   ) -> list[tuple[Session, StepResult]]:
    """Resets ALFWorld sessions, each on the game given, with one ``POST /v1/batch/reset`` (the vector
    environments' reset): a slot without a session gets a new one (runtime "none"), and a session whose
    game is not the one given is replaced by the server. Returns each slot's session and opening
    observation; raises the first failed item's error."""
    sessions = [s if s is not None else client.session(runtime="none", game=g, max_steps=max_steps)
                for s, g in slots]
    if not sessions:
        return []
    answers = client.batch_reset([(s, g) for s, (_, g) in zip(sessions, slots)], admissible=True)
    out: list[tuple[Session, StepResult]] = []
    for s, ans in zip(sessions, answers):
        if isinstance(ans, GantryError):
            raise ans
        if ans.replaced:
            s._closed = True  # deleted by the server
            s = Session(client, SessionInfo(id=ans.session, runtime=s.info.runtime, env=dict(ans.env or {}),
                                            observation=ans.result.observation))
        out.append((s, ans.result))
    return out
