"""The lean HTTP/1.1 transport: over a Unix socket and TCP against gantry serve, and the framings and
stale connections of HTTP/1.1 against a scripted server."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

import gantry
from gantry._wire import Wire

GAME = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"
COMMANDS = ["go to desk 1", "look", "take pencil 1 from desk 1", "go to shelf 1", 'say "hi" <&> \u00e9']


def play(c: gantry.Client) -> list[gantry.StepResult]:
    with c.session(runtime="none", game=GAME) as s:
        out = [s.step(cmd, admissible=i % 2 == 0) for i, cmd in enumerate(COMMANDS)]
        out.append(s.reset(admissible=True))
        return out


def test_local_server_uses_a_private_unix_socket(client: gantry.Client) -> None:
    assert client.server is not None and client.server.unix
    sock = client.server.unix
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700
    assert client.url.startswith("http://127.0.0.1:")  # the HTTP URL stays the client's url


def test_unix_tcp_and_http_client_answer_alike(client: gantry.Client) -> None:
    assert client.server is not None and client.server.unix
    via_unix = play(client)
    with gantry.Client(client.url) as tcp, gantry.Client("unix:" + client.server.unix) as unix:
        assert play(tcp) == via_unix
        assert play(unix) == via_unix
        assert unix.health() and tcp.health()
        # Every other endpoint through the Unix socket too (a long answer comes chunked).
        with unix.session(runtime="starlark", game=GAME) as s:
            assert s.exec("print(1 + 1)").stdout == "2\n"
            assert len(s.tools()) > 5
    assert via_unix[0].observation.startswith("You arrive at loc")
    assert via_unix[0].admissible and "look" in via_unix[0].admissible
    assert via_unix[1].admissible is None


def test_local_server_on_tcp_only() -> None:
    with gantry.Client(unix=False) as c:
        assert c.server is not None and c.server.unix is None
        assert play(c)[0].observation.startswith("You arrive at loc")


def test_socket_directory_removed_on_close() -> None:
    c = gantry.Client()
    assert c.server is not None and c.server.unix
    d = Path(c.server.unix).parent
    c.close()
    assert not d.exists()


def test_step_errors_are_exceptions(client: gantry.Client) -> None:
    s = client.session(runtime="none", game=GAME)
    s.close()
    with pytest.raises(gantry.NotFound, match="no session"):
        s.step("look")
    with client.session(runtime="none", game=GAME) as s:
        with pytest.raises(gantry.GantryError, match="command_too_long|over the limit"):
            s.step("x" * 2000)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
            while len(body) < n:
                body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture
def scripted() -> Iterator[Callable[[list[Optional[bytes]]], tuple[str, int, list[bytes]]]]:
    """A TCP server that reads a request and writes the next scripted answer; a None in the script
    closes the connection instead (the next request comes on a new one)."""
    servers: list[socket.socket] = []

    def start(answers: list[Optional[bytes]]) -> tuple[str, int, list[bytes]]:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        servers.append(srv)
        got: list[bytes] = []

        def serve() -> None:
            queue = list(answers)
            while queue:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    while queue:
                        if queue[0] is None:
                            queue.pop(0)
                            break
                        req = _read_request(conn)
                        if not req:
                            break
                        got.append(req)
                        conn.sendall(queue.pop(0) or b"")

        threading.Thread(target=serve, daemon=True).start()
        return "127.0.0.1", srv.getsockname()[1], got

    yield start
    for s in servers:
        s.close()


def test_framings(scripted) -> None:  # type: ignore[no-untyped-def]
    host, port, got = scripted([
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    ])
    w = Wire(host, port, {"User-Agent": "t"}, 10)
    assert w.request("POST", "/x", b'{"k":"v"}') == (200, b'{"a":1}')
    assert w.request("GET", "/y", None) == (200, b'{"b":2}')
    assert w.request("DELETE", "/z", None) == (204, b"")
    assert w.request("GET", "/w", None) == (404, b"{}")
    w.close()
    assert got[0] == (b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: t\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 9\r\n\r\n{\"k\":\"v\"}" % port)
    assert got[1].startswith(b"GET /y HTTP/1.1\r\n") and b"Content-Length: 0\r\n" in got[1]


def test_stale_connection_is_retried(scripted) -> None:  # type: ignore[no-untyped-def]
    # The server answers once, then drops the kept-alive connection; the second request, sent on the
    # dropped connection, goes out again on a new one.
    host, port, got = scripted([
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        None,
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\"ok\"",
    ])
    w = Wire(host, port, {}, 10)
    assert w.request("GET", "/a", None) == (200, b"{}")
    assert w.request("GET", "/b", None) == (200, b'"ok"')
    w.close()
    assert [g.split(b" ")[1] for g in got] == [b"/a", b"/b"]
