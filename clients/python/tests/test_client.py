"""The synchronous and asyncio clients against a real gantry serve."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import gantry
from conftest import traces

GAME = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"


def test_session_exec_step_reset_tools(client: gantry.Client) -> None:
    with client.session(runtime="starlark", game=GAME) as s:
        assert s.game == GAME
        assert s.observation.startswith("-= Welcome to TextWorld, ALFRED! =-")
        assert "put a pencil in shelf" in s.task

        r = s.exec('print(goto("shelf 1"))\nx = 1/0')
        assert r.stdout == "On the shelf 1, you see a keychain 2.\n"
        assert r.error_type == "ZeroDivisionError"
        assert r.exception is not None and r.exception.line == 2
        assert "Traceback (most recent call last)" in (r.traceback or "")
        assert not r.ok and not r.done and not r.won and r.steps == 1

        r = s.exec("x = 6 * 7\nx")
        assert r.ok and r.value == "42" and r.error_type is None

        st = s.step("go to desk 1", admissible=True)
        assert st.observation.startswith("You arrive at loc")
        assert st.admissible is not None and "go to bed 1" in st.admissible
        assert st.steps == 2

        rs = s.reset(admissible=True)
        assert rs.steps == 0 and rs.observation == s.observation
        assert s.exec("print(x)").stdout == "42\n"  # variables survive a reset

        tools = s.tools()
        names = {t.name for t in tools}
        assert {"goto", "take_from", "put"} <= names
        assert "goto(" in tools.prompt
    with pytest.raises(gantry.NotFound) as ei:
        s.state()
    assert ei.value.code == "unknown_session" and s.id in ei.value.message


def test_expert_episode_wins(client: gantry.Client) -> None:
    tr = traces(limit=1)[0]
    with client.session(runtime="none", game=tr["game"]) as s:
        assert s.observation == tr["init"]["obs"]
        for cmd, obs in zip(tr["commands"], tr["obs"]):
            res = s.step(cmd)
            assert res.observation == obs
        assert res.won and res.done and res.reward == 1.0


@pytest.mark.parametrize("make,exc,code", [
    (lambda c: c.session(game="no-such/game"), gantry.BadRequest, "bad_env"),
    (lambda c: c.session(runtime="cobol"), gantry.BadRequest, "bad_runtime"),
    (lambda c: c.session(runtime="none").exec("1"), gantry.BadRequest, "no_runtime"),
    (lambda c: c.session(runtime="none").step("x" * 2000), gantry.BadRequest, "command_too_long"),
    (lambda c: gantry.Session(c, gantry.SessionInfo(id="s-nope", runtime="none", env={})).step("look"),
     gantry.NotFound, "unknown_session"),
])
def test_server_errors_become_exceptions(client: gantry.Client, make, exc, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc) as ei:
        make(client)
    assert ei.value.code == code
    assert ei.value.message and ei.value.message in str(ei.value)
    assert isinstance(ei.value, gantry.GantryError)


def test_batch_step(client: gantry.Client) -> None:
    a = client.session(runtime="none", game=GAME)
    b = client.session(runtime="none", game=GAME)
    try:
        out = client.batch_step([(a, "go to desk 1"), ("s-missing", "look"), (b.id, "look")], admissible=True)
        assert isinstance(out[0], gantry.StepResult) and out[0].observation.startswith("You arrive at loc")
        assert out[0].admissible
        assert isinstance(out[1], gantry.NotFound) and out[1].code == "unknown_session"
        assert isinstance(out[2], gantry.StepResult) and out[2].steps == 1
        ids = {x.id for x in client.sessions()}
        assert {a.id, b.id} <= ids
    finally:
        a.close()
        b.close()


def test_local_server_stops_on_close() -> None:
    c = gantry.Client()
    assert c.server is not None and c.url.startswith("http://127.0.0.1:")
    proc = c.server.proc
    assert c.health()
    c.close()
    assert proc.wait() == 0  # drained and exited cleanly on SIGTERM


def test_bad_binary_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "gantry"
    fake.write_text("#!/bin/sh\necho 'no serve here' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(gantry.ServerStartError, match="no serve here"):
        gantry.Client(binary=str(fake))


def test_tokens(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("tokens:\n  - name: alice\n    token: 0123456789abcdef0123\n    runtimes: [none]\n")
    with gantry.Client(serve_args=["--tokens", str(tokens)]) as owner:
        with pytest.raises(gantry.Unauthorized) as ei:
            owner.session(runtime="none")
        assert ei.value.code == "no_token"
        with gantry.Client(owner.url, token="0123456789abcdef0123") as alice:
            with alice.session(runtime="none", game=GAME) as s:
                assert s.step("look").observation
            with pytest.raises(gantry.Forbidden):
                alice.session(runtime="starlark")
        with gantry.Client(owner.url, token="wrong-token-wrong-token") as mallory:
            with pytest.raises(gantry.Unauthorized) as ei:
                mallory.sessions()
            assert ei.value.code == "bad_token"


async def test_async_client(client: gantry.Client) -> None:
    async with gantry.AsyncClient(client.url) as ac:
        async with ac.session(game=GAME) as s:
            r = await s.exec('print(goto("shelf 1"))\n1/0')
            assert r.stdout == "On the shelf 1, you see a keychain 2.\n" and r.error_type == "ZeroDivisionError"
            st = await s.step("look", admissible=True)
            assert st.admissible and st.steps == 2
            assert (await s.reset()).steps == 0
            assert len(await s.tools()) > 0
            out = await ac.batch_step([(s, "inventory"), ("s-missing", "look")])
            assert isinstance(out[0], gantry.StepResult) and isinstance(out[1], gantry.NotFound)
        with pytest.raises(gantry.NotFound):
            await s.state()  # the with block deleted it
        async with await ac.session(runtime="none", game=GAME) as s2:  # an awaited session is a context manager too
            assert (await s2.step("look")).steps == 1
        with pytest.raises(gantry.BadRequest) as ei:
            await ac.session(game="no-such/game")
        assert ei.value.code == "bad_env"


async def test_async_client_starts_local_server() -> None:
    ac = gantry.AsyncClient()
    assert ac.server is not None
    proc = ac.server.proc
    s = await ac.session(runtime="none", game=GAME)
    assert (await s.step("look")).observation
    await ac.close()
    assert proc.wait() == 0


def test_binary_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if gantry._local.bundled_binary():
        pytest.skip("a bundled binary always comes first")
    monkeypatch.setenv("GANTRY_BIN", str(tmp_path / "missing"))
    with pytest.raises(gantry.ServerStartError, match="GANTRY_BIN"):
        gantry.find_binary()
    monkeypatch.delenv("GANTRY_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(gantry.ServerStartError, match="no gantry binary"):
        gantry.find_binary()
    exe = tmp_path / "gantry"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert gantry.find_binary() == str(exe)


def test_unreachable_server_is_a_gantry_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with gantry.Client(f"http://127.0.0.1:{port}") as c:
            with pytest.raises(gantry.GantryError, match=f"gantry at http://127.0.0.1:{port}"):
                c.sessions()
            assert not c.health()


def test_threads_share_a_client(client: gantry.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sessions = [client.session(runtime="none", game=GAME) for _ in range(8)]

    def play(s: gantry.Session) -> int:
        for _ in range(20):
            r = s.step("look")
        return r.steps

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(play, sessions)) == [20] * 8
    for s in sessions:
        s.close()
