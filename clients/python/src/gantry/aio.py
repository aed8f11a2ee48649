"""The asyncio client of gantry serve: the surface of gantry.Client with coroutines."""

from __future__ import annotations

import os
from typing import Any, AsyncIterator, Coroutine, Generator, Iterable, Optional, Sequence, Union

import httpx

from ._local import LocalServer
from .client import DEFAULT_TIMEOUT, ResetSpec, _check, _headers, batch_body, batch_results, reset_body, reset_results
from .devices import AsyncDeviceMethods, session_body
from .errors import GantryError
from .types import AnswerResult, ExecResult, ResetItem, SessionInfo, StepResult, ToolList


class AsyncClient(AsyncDeviceMethods):
    """The asyncio form of :class:`gantry.Client` (same arguments; ``async with`` closes it)."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, timeout: float = DEFAULT_TIMEOUT,
                 serve_args: Sequence[str] = (), binary: Optional[str] = None) -> None:
        url = url or os.environ.get("GANTRY_URL") or None
        token = token or os.environ.get("GANTRY_TOKEN") or None
        self.server: Optional[LocalServer] = None
        if url is None:
            self.server = LocalServer(binary, serve_args)
            url = self.server.url
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, headers=_headers(token), timeout=timeout,
                                       limits=httpx.Limits(max_connections=256, max_keepalive_connections=256))

    async def _request(self, method: str, path: str, json: Any = None) -> Any:
        try:
            r = await self._http.request(method, path, json=json)
        except httpx.HTTPError as e:
            raise GantryError(f"gantry at {self.url}: {e}") from e
        return _check(r)

    def session(self, runtime: str = "starlark", env: Union[str, dict[str, Any], None] = None, *,
                game: Optional[str] = None, seed: Optional[int] = None,
                max_steps: Optional[int] = None, task: Optional[str] = None,
                format: Optional[str] = None, devices: Optional[Sequence[str]] = None) -> "_NewSession":
        """Creates a session (see :meth:`gantry.Client.session`): ``s = await client.session(...)``,
        or ``async with client.session(...) as s:``, which deletes it at the end."""
        body = session_body(runtime, env, game, seed, max_steps, devices, task, format)
        return _NewSession(self._create(body))

    async def _create(self, body: dict[str, Any]) -> "AsyncSession":
        return AsyncSession(self, SessionInfo.from_json(await self._request("POST", "/v1/sessions", body)))

    async def sessions(self) -> list[SessionInfo]:
        return [SessionInfo.from_json(d) for d in (await self._request("GET", "/v1/sessions"))["sessions"]]

    async def batch_step(self, steps: Iterable[tuple[Union[str, "AsyncSession"], str]], admissible: bool = False
                         ) -> list[Union[StepResult, GantryError]]:
        return batch_results(await self._request("POST", "/v1/batch/step", batch_body(steps, admissible)))  # type: ignore[arg-type]

    async def batch_reset(self, resets: Iterable[ResetSpec], admissible: bool = False
                          ) -> list[Union[ResetItem, GantryError]]:
        """See :meth:`gantry.Client.batch_reset`."""
        return reset_results(await self._request("POST", "/v1/batch/reset", reset_body(resets, admissible)))  # type: ignore[arg-type]

    async def close(self) -> None:
        await self._http.aclose()
        if self.server is not None:
            self.server.stop()
            self.server = None

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AsyncSession:
    """The asyncio form of :class:`gantry.Session` (``async with`` deletes it)."""

    def __init__(self, client: AsyncClient, info: SessionInfo) -> None:
        self.client = client
        self.info = info
        self.id = info.id
        self.observation = info.observation
        self._closed = False

    @property
    def game(self) -> str:
        return self.info.game

    @property
    def devices(self) -> list[str]:
        return self.info.devices

    def _path(self, tail: str = "") -> str:
        return f"/v1/sessions/{self.id}{tail}"

    async def exec(self, code: str) -> ExecResult:
        return ExecResult.from_json(await self.client._request("POST", self._path("/exec"), {"code": code}))

    def exec_stream(self, code: str) -> AsyncIterator[Union[str, ExecResult]]:
        """``async for item in s.exec_stream(code)``: the printed output as it is printed (``str``),
        then the ExecResult (see :meth:`gantry.Session.exec_stream`)."""
        from .stream import aexec_stream

        return aexec_stream(self, code)

    async def answer(self, answer: str) -> AnswerResult:
        return AnswerResult.from_json(await self.client._request("POST", self._path("/answer"), {"answer": answer}))

    async def step(self, command: str, admissible: bool = False) -> StepResult:
        body: dict[str, Any] = {"command": command}
        if admissible:
            body["admissible"] = True
        return StepResult.from_json(await self.client._request("POST", self._path("/step"), body))

    async def reset(self, admissible: bool = False) -> StepResult:
        body = {"admissible": True} if admissible else None
        res = StepResult.from_json(await self.client._request("POST", self._path("/reset"), body))
        self.observation = res.observation
        return res

    async def tools(self) -> ToolList:
        return ToolList.from_json(await self.client._request("GET", self._path("/tools")))

    async def state(self) -> SessionInfo:
        return SessionInfo.from_json(await self.client._request("GET", self._path()))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.client._request("DELETE", self._path())
        except GantryError as e:
            if e.status not in (404, 410):
                raise

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class _NewSession:
    """A session being created: awaitable, or an async context manager deleting it at the end."""

    def __init__(self, coro: Coroutine[Any, Any, AsyncSession]) -> None:
        self._coro = coro
        self._session: Optional[AsyncSession] = None

    def __await__(self) -> Generator[Any, None, AsyncSession]:
        return self._coro.__await__()

    async def __aenter__(self) -> AsyncSession:
        self._session = await self._coro
        return self._session

    async def __aexit__(self, *exc: Any) -> None:
        if self._session is not None:
            await self._session.close()
