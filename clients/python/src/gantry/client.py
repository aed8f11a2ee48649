"""The synchronous client of gantry serve."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
import urllib.parse
from typing import Any, Iterable, Optional, Sequence, Union

import httpx

from ._local import LocalServer
from .devices import DeviceMethods, session_body
from .errors import GantryError, error_from_body, error_from_item
from .types import ExecResult, SessionInfo, StepResult, ToolList

DEFAULT_TIMEOUT = 120.0


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


class Client(DeviceMethods):
    """A client of gantry serve.

    With no ``url`` (and no ``$GANTRY_URL``) it starts a local ``gantry serve`` on a free loopback
    port, using the binary bundled in the wheel, ``$GANTRY_BIN`` or ``gantry`` on PATH, and stops it
    when the client is closed or the interpreter exits. ``token`` (or ``$GANTRY_TOKEN``) is sent as a
    bearer token. ``serve_args`` are extra flags for the local server (e.g. ``["--max-sessions", "100000"]``).
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, timeout: float = DEFAULT_TIMEOUT,
                 serve_args: Sequence[str] = (), binary: Optional[str] = None) -> None:
        url = url or os.environ.get("GANTRY_URL") or None
        token = token or os.environ.get("GANTRY_TOKEN") or None
        self.server: Optional[LocalServer] = None
        if url is None:
            self.server = LocalServer(binary, serve_args)
            url = self.server.url
        self.url = url.rstrip("/")
        self._http = _Transport(self.url, _headers(token), timeout)

    # --- plumbing

    def _request(self, method: str, path: str, json: Any = None) -> Any:
        try:
            status, raw = self._http.request(method, path, json)
        except (OSError, http.client.HTTPException) as e:
            raise GantryError(f"gantry at {self.url}: {e}") from e
        return _check_raw(status, raw)

    # --- sessions

    def session(self, runtime: str = "starlark", env: Optional[dict[str, Any]] = None, *, game: Optional[str] = None,
                seed: Optional[int] = None, max_steps: Optional[int] = None,
                devices: Optional[Sequence[str]] = None) -> "Session":
        """Creates a session: a runtime ("starlark", "python" or "none") and an ALFWorld game.

        ``game`` is an embedded game's id (or the path of its game.tw-pddl), ``seed`` a generated game,
        neither an embedded game at random; ``env`` is the raw env object of the API. ``devices`` (names, or
        ``["*"]`` for all the token may use) become the session's functions (``rover.drive(...)``); with
        devices and no game the session has no task environment.
        """
        body = session_body(runtime, env, game, seed, max_steps, devices)
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

    def step(self, command: str, admissible: bool = False) -> StepResult:
        """A plain environment command ("go to desk 1"); admissible asks for the admissible commands."""
        body: dict[str, Any] = {"command": command}
        if admissible:
            body["admissible"] = True
        return StepResult.from_json(self.client._request("POST", self._path("/step"), body))

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
