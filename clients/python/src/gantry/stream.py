"""Streamed code actions: the server-sent events of ``POST /v1/sessions/{id}/exec`` read one at a time.

``Session.exec_stream(code)`` yields the printed output as ``str`` chunks while the code runs, then the
action's :class:`ExecResult` (always last). Leaving the loop early (or closing the generator) closes the
connection, which cancels the action on the server.
"""

from __future__ import annotations

import http.client
import json
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Optional, Union

from .errors import GantryError, error_from_body
from .types import ExecResult

if TYPE_CHECKING:
    from .aio import AsyncSession
    from .client import Session

ACCEPT = "text/event-stream"

StreamItem = Union[str, ExecResult]


class _Events:
    """Parses server-sent events from lines; ``line`` returns an event (name, data) when one ends."""

    def __init__(self) -> None:
        self.name = ""
        self.data: list[str] = []

    def line(self, line: str) -> Optional[tuple[str, Any]]:
        line = line.rstrip("\r\n")
        if line == "":
            if not self.name and not self.data:
                return None
            ev = (self.name or "message", json.loads("\n".join(self.data)) if self.data else None)
            self.name, self.data = "", []
            return ev
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self.name = value
        elif field == "data":
            self.data.append(value)
        return None


def _item(name: str, data: Any) -> Optional[StreamItem]:
    """A yielded item of an event; raises the error of an error event."""
    if name == "stdout":
        return str(data.get("text", ""))
    if name == "result":
        return ExecResult.from_json(data)
    if name == "error":
        raise error_from_body(503, data, json.dumps(data))
    return None  # an event this client does not know: skipped


class _Decoder:
    """Turns the stream's lines into the items it yields: ``feed`` returns one when a line completes it, and
    ``done`` is true once the result has come (the last item)."""

    def __init__(self) -> None:
        self._events = _Events()
        self.done = False

    def feed(self, line: str) -> Optional[StreamItem]:
        got = self._events.line(line)
        item = None if got is None else _item(*got)
        if isinstance(item, ExecResult):
            self.done = True
        return item


def _not_streamed(status: int, raw: bytes) -> GantryError:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if status >= 400:
        return error_from_body(status, body, raw[:500].decode("utf-8", "replace"))
    return GantryError(f"the server answered {status} without a stream of events")


def exec_stream(session: "Session", code: str) -> Iterator[StreamItem]:
    """The synchronous stream of a code action (see :meth:`gantry.Session.exec_stream`)."""
    t = session.client._http
    # A connection of its own: the stream holds it until the action ends.
    conn = t.stream_connection()
    try:
        headers = dict(t.headers)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = ACCEPT
        try:
            conn.request("POST", t.prefix + session._path("/exec"), body=json.dumps({"code": code}).encode(),
                         headers=headers)
            r = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            raise GantryError(f"gantry at {session.client.url}: {e}") from e
        if r.status != 200 or not (r.getheader("Content-Type") or "").startswith(ACCEPT):
            raise _not_streamed(r.status, r.read())
        dec = _Decoder()
        while not dec.done:
            try:
                raw = r.readline()
            except (OSError, http.client.HTTPException) as e:
                raise GantryError(f"gantry at {session.client.url}: the stream broke: {e}") from e
            if not raw:
                raise GantryError(f"gantry at {session.client.url}: the stream ended without a result")
            item = dec.feed(raw.decode("utf-8"))
            if item is not None:
                yield item
    finally:
        conn.close()


async def aexec_stream(session: "AsyncSession", code: str) -> AsyncIterator[StreamItem]:
    """The asyncio stream of a code action (see :meth:`gantry.AsyncSession.exec_stream`)."""
    import httpx

    c = session.client
    try:
        async with c._http.stream("POST", session._path("/exec"), json={"code": code},
                                  headers={"Accept": ACCEPT}) as r:
            if r.status_code != 200 or not r.headers.get("content-type", "").startswith(ACCEPT):
                raise _not_streamed(r.status_code, await r.aread())
            dec = _Decoder()
            async for line in r.aiter_lines():
                item = dec.feed(line)
                if item is not None:
                    yield item
                if dec.done:
                    return
            raise GantryError(f"gantry at {c.url}: the stream ended without a result")
    except httpx.HTTPError as e:
        raise GantryError(f"gantry at {c.url}: {e}") from e
