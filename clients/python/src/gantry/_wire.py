"""A lean HTTP/1.1 keep-alive transport over TCP or a Unix socket.

A plain step costs the server a few microseconds, so a client's own overhead decides how many steps a
second one Python loop makes. This transport writes each request with one ``sendall`` (headers and
body together, TCP_NODELAY on TCP) from a pre-encoded header block, and reads the answer with as few
``recv`` calls as it takes, parsing only the status line and the headers that frame the body
(Content-Length, chunked transfer encoding, Connection: close). It speaks to gantry serve only, which
answers every request with a body framed one of those ways.
"""

from __future__ import annotations

import http.client
import socket
import threading
from typing import Optional, Union

_RECV = 65536


class ProtocolError(http.client.HTTPException):
    """The server's answer is not HTTP/1.1 as gantry serve writes it."""


class _Conn:
    """One connection and the bytes received past the last answer."""

    __slots__ = ("sock", "rest")

    def __init__(self, family: int, address: Union[str, tuple[str, int]], timeout: Optional[float]) -> None:
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(address)
            if family != socket.AF_UNIX:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            s.close()
            raise
        self.sock = s
        self.rest = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def round_trip(self, request: bytes) -> tuple[int, bytes, bool]:
        """Sends a request and reads its answer: status, body, and whether the server closes."""
        sock = self.sock
        sock.sendall(request)
        data = self.rest
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = sock.recv(_RECV)
            if not chunk:
                raise http.client.RemoteDisconnected("the server closed the connection")
            data += chunk
        head = data[:end]
        if head[:9] not in (b"HTTP/1.1 ", b"HTTP/1.0 ") or len(head) < 12:
            raise ProtocolError(f"not an HTTP/1.1 status line: {head[:40]!r}")
        status = int(head[9:12])
        lower = head.lower()
        close = b"\nconnection: close" in lower or head[:9] == b"HTTP/1.0 "
        start = end + 4
        i = lower.find(b"\ncontent-length:")
        if i >= 0:
            j = lower.find(b"\r\n", i + 16)
            n = int(head[i + 16: j if j >= 0 else len(head)])
            while len(data) - start < n:
                chunk = sock.recv(max(_RECV, n - (len(data) - start)))
                if not chunk:
                    raise http.client.IncompleteRead(data[start:], n - (len(data) - start))
                data += chunk
            self.rest = data[start + n:]
            return status, data[start:start + n], close
        if b"\ntransfer-encoding: chunked" in lower:
            body, self.rest = self._chunked(data[start:])
            return status, body, close
        if status in (204, 304) or 100 <= status < 200:
            self.rest = data[start:]
            return status, b"", close
        # No framing: the body runs to the end of the connection.
        parts = [data[start:]]
        while True:
            chunk = sock.recv(_RECV)
            if not chunk:
                break
            parts.append(chunk)
        self.rest = b""
        return status, b"".join(parts), True

    def _chunked(self, data: bytes) -> tuple[bytes, bytes]:
        parts: list[bytes] = []
        while True:
            while b"\r\n" not in data:
                data += self._more()
            line, data = data.split(b"\r\n", 1)
            size = int(line.split(b";", 1)[0], 16)
            if size == 0:
                # Trailers (none from gantry) end with an empty line.
                while True:
                    while b"\r\n" not in data:
                        data += self._more()
                    line, data = data.split(b"\r\n", 1)
                    if not line:
                        return b"".join(parts), data
            while len(data) < size + 2:
                data += self._more()
            parts.append(data[:size])
            data = data[size + 2:]

    def _more(self) -> bytes:
        chunk = self.sock.recv(_RECV)
        if not chunk:
            raise http.client.IncompleteRead(b"")
        return chunk


class Wire:
    """Keep-alive connections to one server, one per thread.

    ``unix`` is the path of a Unix socket; without it the connections go to ``host:port`` over TCP.
    ``headers`` are sent with every request (``Host`` comes from ``host``).
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: Optional[float],
                 unix: Optional[str] = None) -> None:
        self.family = socket.AF_UNIX if unix else socket.AF_INET
        self.address: Union[str, tuple[str, int]] = unix if unix else (host, port)
        if not unix and ":" in host:
            self.family = socket.AF_INET6
        self.timeout = timeout
        host_header = (f"[{host}]" if ":" in host else host) + ("" if unix or port == 80 else f":{port}")
        fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._fixed = f" HTTP/1.1\r\nHost: {host_header}\r\n{fixed}".encode()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[_Conn] = []

    def head(self, method: str, path: str) -> bytes:
        """The start of a request up to its Content-Length value: requests to one path can reuse it."""
        return method.encode() + b" " + path.encode() + self._fixed + b"Content-Type: application/json\r\nContent-Length: "

    def request(self, method: str, path: str, data: Optional[bytes]) -> tuple[int, bytes]:
        """Sends a request with an optional JSON body and returns the status and the body."""
        if data is None:
            req = method.encode() + b" " + path.encode() + self._fixed + b"Content-Length: 0\r\n\r\n"
        else:
            req = self.head(method, path) + str(len(data)).encode() + b"\r\n\r\n" + data
        return self.send(req)

    def send(self, req: bytes) -> tuple[int, bytes]:
        """Sends a whole encoded request; a kept-alive connection the server has closed is retried once."""
        while True:
            c: Optional[_Conn] = getattr(self._local, "conn", None)
            reused = c is not None
            if c is None:
                c = _Conn(self.family, self.address, self.timeout)
                with self._lock:
                    self._all.append(c)
                self._local.conn = c
            try:
                status, body, close = c.round_trip(req)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop(c)
                if not reused:  # a fresh connection that fails is an error; a stale kept-alive one is retried
                    raise
                continue
            except BaseException:
                self._drop(c)
                raise
            if close:
                self._drop(c)
            return status, body

    def _drop(self, c: _Conn) -> None:
        c.close()
        self._local.conn = None
        with self._lock:
            if c in self._all:
                self._all.remove(c)

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                c.close()
            self._all.clear()
        self._local = threading.local()
