"""Devices from Python: a local gantry serve with a simulated rover (the reference firmware on the embedded
MQTT broker, --sim-rover), listed, described, driven from session code, stopped and reset."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import gantry

# The simulated rover's clock runs 50 times real time: a 500 ms drive takes 10 ms.
SERVE = ["--sim-rover", "rover", "--sim-rover", "scout", "--sim-speed", "50"]


@pytest.fixture(scope="module")
def dclient() -> Iterator[gantry.Client]:
    with gantry.Client(serve_args=SERVE) as c:
        yield c


def test_list_and_describe(dclient: gantry.Client) -> None:
    devs = dclient.devices()
    assert [d.name for d in devs] == ["rover", "scout"]
    assert devs[0].online and "drive" in devs[0].actions and "reset" not in devs[0].actions

    info = dclient.device("rover")
    assert info.title == "Simulated rover" and info.online and not info.estop.engaged
    assert info.tool("drive").signature.startswith("rover.drive(speed: float, ms: int = 500)")
    assert info.tool("rover.drive").parameters["properties"]["speed"]["maximum"] == 1
    assert info.protocol_description["actions"]["drive"]["params"]["ms"]["unit"] == "ms"
    assert info.policy["rate"] == 20 and info.token_policy is None

    with pytest.raises(gantry.NotFound) as e:
        dclient.device("nosuch")
    assert e.value.code == "unknown_device"
    assert 'no device "nosuch" (devices: rover, scout)' in e.value.message


def test_session_drives_the_rover(dclient: gantry.Client) -> None:
    with dclient.session(devices=["rover"]) as s:
        assert s.devices == ["rover"] and s.info.env["kind"] == "none"
        assert "rover.drive(speed: float, ms: int = 500)" in s.tools().prompt
        r = s.exec("d0 = rover.distance()\nr = rover.drive(speed=0.5, ms=500)\nprint(round(d0 - rover.distance(), 2), r['moved'])")
        assert r.ok, r.observation
        assert r.stdout == "0.25 0.25\n"
        r = s.exec("rover.drive(speed=3)")  # beyond the device's own bounds
        assert r.error_type == "ValueError" and "speed" in r.exception.message  # type: ignore[union-attr]
    with pytest.raises(gantry.BadRequest) as e:
        dclient.session(devices=["nosuch"])
    assert e.value.code == "unknown_device"
    with dclient.session(devices=["*"], game="pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012") as s:
        assert s.devices == ["rover", "scout"] and s.info.env["kind"] == "alfworld"
        assert s.exec("print(devices.list())").stdout == "{'rover': 'online', 'scout': 'online'}\n"


def test_estop_and_reset(dclient: gantry.Client) -> None:
    with dclient.session(devices=["scout"]) as s:
        res = dclient.estop(reason="pytest")
        assert res.engaged and res.estop.reason == "pytest" and res.stopped == 0
        assert set(res.devices) == {"rover", "scout"} and all(a.ok for a in res.devices.values())
        assert res.devices["scout"].result["stopped"] is True
        r = s.exec("print(scout.distance())\nscout.drive(speed=0.1)")
        assert r.error_type == "PermissionError" and "emergency stop engaged (pytest)" in r.exception.message  # type: ignore[union-attr]
        assert dclient.devices()[0].name == "rover" and dclient.device("scout").estop.engaged

        rr = dclient.reset_devices()
        assert not rr.estop.engaged and set(rr.devices) == {"rover", "scout"}
        assert s.exec("scout.drive(speed=0.1, ms=100)").ok
        assert dclient.estop_device("scout")["stopped"] is True  # one device; the guard does not latch
        assert not dclient.device("scout").estop.engaged
        dclient.reset_devices()


async def test_async_devices() -> None:
    async with gantry.AsyncClient(serve_args=SERVE) as client:
        devs = await client.devices()
        assert [d.name for d in devs] == ["rover", "scout"]
        info = await client.device("rover")
        assert info.tool("distance").signature == "rover.distance() -> float"
        async with client.session(devices=["rover"]) as s:
            assert s.devices == ["rover"]
            r = await s.exec("print(rover.distance() > 0)")
            assert r.stdout == "True\n"
        res = await client.estop()
        assert res.engaged and res.devices["rover"].ok
        assert not (await client.reset_devices()).estop.engaged
        with pytest.raises(gantry.NotFound):
            await client.device("nosuch")


def test_tokens_limit_devices(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        "  - name: alice\n    token: alice-0123456789abcdef\n    devices: [rover]\n"
        "    device_policy: {devices: {rover: {allow: [distance, get]}}}\n"
        "  - name: bob\n    token: bob-0123456789abcdef\n")
    with gantry.Client(token="alice-0123456789abcdef", serve_args=[*SERVE, "--tokens", str(tokens)]) as alice:
        assert [d.name for d in alice.devices()] == ["rover"]
        assert alice.device("rover").token_policy == {"allow": ["distance", "get"], "rate": 0, "dry_run": False}
        with pytest.raises(gantry.Forbidden) as e:
            alice.device("scout")
        assert 'token "alice" may not use device "scout" (allowed: rover)' in e.value.message
        with pytest.raises(gantry.Forbidden):
            alice.session(devices=["rover", "scout"])
        with alice.session(devices=["rover"]) as s:
            assert s.exec("rover.distance()").ok
            r = s.exec("rover.drive(speed=0.1)")
            assert r.error_type == "PermissionError" and "drive is not allowed on rover" in r.exception.message  # type: ignore[union-attr]
        with pytest.raises(gantry.Forbidden):
            alice.reset_devices()  # no device_reset

        bob = gantry.Client(alice.url, token="bob-0123456789abcdef")
        assert bob.devices() == []
        res = bob.estop()  # bob may use no device: his actions only
        assert res.devices == {} and not res.engaged
        with pytest.raises(gantry.Forbidden):
            bob.session(devices=["*"], runtime="starlark")
        bob.close()
