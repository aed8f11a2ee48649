"""Streamed code actions, M3ToolEval sessions and batch resets through the Python client."""

from __future__ import annotations

import re
from typing import Iterator

import pytest

import gantry
from gantry.envs import AlfWorldVector

GAME = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"
OTHER = "look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"
WAIT = "import time\nprint('first')\ntime.sleep(3600)\nprint('never')"


@pytest.fixture(scope="module")
def slow() -> Iterator[gantry.Client]:
    """A server whose actions may run for an hour: only the tests end them."""
    with gantry.Client(serve_args=["--timeout", "1h"]) as c:
        yield c


def test_exec_stream_arrives_while_the_action_runs(slow: gantry.Client) -> None:
    with slow.session(game=GAME) as s:
        it = s.exec_stream(WAIT)
        assert next(it) == "first\n"  # the code is now waiting: only the e-stop below ends it
        assert slow.estop().stopped == 1
        rest = list(it)
        assert len(rest) == 1 and isinstance(rest[0], gantry.ExecResult)
        assert rest[0].stdout == "first\n" and rest[0].error_type == "KeyboardInterrupt"
        # Output and tool calls interleaved: the chunks are the result's stdout, in order.
        items = list(s.exec_stream("for r in ['desk 1', 'shelf 1']:\n    print(goto(r))\n6 * 7"))
        res = items[-1]
        assert isinstance(res, gantry.ExecResult) and res.value == "42" and res.steps == 2
        assert all(isinstance(x, str) for x in items[:-1]) and "".join(items[:-1]) == res.stdout  # type: ignore[arg-type]


def test_exec_stream_closed_early_cancels(slow: gantry.Client) -> None:
    with slow.session(game=GAME) as s:
        it = s.exec_stream(WAIT)
        assert next(it) == "first\n"
        it.close()  # closes the connection: the server cancels the action
        while True:  # the session is free once the cancelled action has ended
            try:
                r = s.exec("print('after')")
                break
            except gantry.SessionBusy:
                continue
        assert r.stdout == "after\n"


def test_exec_stream_refused(client: gantry.Client) -> None:
    with client.session(runtime="none", game=GAME) as s:
        with pytest.raises(gantry.BadRequest, match="no runtime"):
            list(s.exec_stream("1"))


async def test_async_exec_stream(slow: gantry.Client) -> None:
    async with gantry.AsyncClient(slow.url) as ac:
        async with ac.session(game=GAME) as s:
            it = s.exec_stream(WAIT)
            assert await it.__anext__() == "first\n"
            assert (await ac.estop()).stopped == 1
            rest = [x async for x in it]
            assert len(rest) == 1 and isinstance(rest[0], gantry.ExecResult)
            assert rest[0].error_type == "KeyboardInterrupt"


def test_m3tooleval_session(client: gantry.Client) -> None:
    with client.session(env="m3tooleval", task="message_decoder/full_alien_message_decoding") as s:
        assert s.info.env["kind"] == "m3tooleval" and s.observation.startswith("You have access to the following tools:")
        names = {t.name for t in s.tools()}
        assert {"convert_hex_to_ascii", "reverse_string", "caesar_decode"} <= names
        r = s.exec("print(reverse_string(convert_hex_to_ascii('7a686b7a686d666d686b')))")
        assert r.ok and r.stdout == "khmfmhzkhz\n"
        wrong = s.answer("not it")
        assert not wrong.correct and wrong.observation.startswith("Your answer is incorrect") and not wrong.done
        right = s.answer("fchahcufcu")  # the task's expected output
        assert right.correct and right.won and right.done and right.reward == 1.0
    with pytest.raises(gantry.BadRequest, match="no M3ToolEval task"):
        client.session(env="m3tooleval", task="no/such_task")
    with client.session(runtime="none", game=GAME) as s:
        with pytest.raises(gantry.BadRequest, match="takes no answers"):
            s.answer("x")


async def test_async_m3tooleval_session(client: gantry.Client) -> None:
    async with gantry.AsyncClient(client.url) as ac:
        async with ac.session(runtime="none", task="full_alien_message_decoding", format="text") as s:
            st = await s.step("reverse_string, abc")
            assert st.observation == "cba"
            a = await s.answer("fchahcufcu")
            assert a.correct and a.won


def test_batch_reset(client: gantry.Client) -> None:
    a = client.session(runtime="none", game=GAME)
    b = client.session(runtime="none", game=GAME)
    a.step("go to desk 1")
    items = client.batch_reset([a, (b, OTHER), "s-nope"], admissible=True)
    ra, rb, bad = items
    assert isinstance(ra, gantry.ResetItem) and ra.session == a.id and ra.replaced is None
    assert ra.result.steps == 0 and ra.result.admissible
    assert isinstance(rb, gantry.ResetItem) and rb.replaced == b.id and rb.env and rb.env["game"] == OTHER
    assert isinstance(bad, gantry.NotFound)
    with pytest.raises(gantry.NotFound):
        b.state()
    a.close()
    client.sessions()  # the replacement is one of the client's sessions
    assert any(i.id == rb.session for i in client.sessions())


def _requests(client: gantry.Client, route: str) -> float:
    text = client._http.request("GET", "/metrics", None)[1].decode()
    total = 0.0
    for m in re.finditer(r'^gantry_http_requests_total\{code="\d+",route="' + re.escape(route) + r'"\} (\S+)$', text, re.M):
        total += float(m.group(1))
    return total


def test_vector_reset_is_one_request(client: gantry.Client) -> None:
    venv = AlfWorldVector(num_envs=4, client=client)
    venv.reset(seed=1)  # creates the sessions
    before = (_requests(client, "POST /v1/batch/reset"), _requests(client, "POST /v1/sessions"),
              _requests(client, "POST /v1/sessions/{id}/reset"))
    obs, infos = venv.reset(seed=2)
    after = (_requests(client, "POST /v1/batch/reset"), _requests(client, "POST /v1/sessions"),
             _requests(client, "POST /v1/sessions/{id}/reset"))
    assert after[0] == before[0] + 1 and after[1:] == before[1:]
    assert len(obs) == 4 and all(o.startswith("-= Welcome to TextWorld") for o in obs)
    assert [s.game for s in venv.sessions] == list(infos["gamefile"])  # type: ignore[union-attr]
    assert len({s.id for s in venv.sessions}) == 4  # type: ignore[union-attr]
    venv.close()
