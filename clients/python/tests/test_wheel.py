"""The platform wheel: built by build_wheel.sh, installed into a fresh venv, an episode played with
no Go toolchain and no GANTRY_BIN (the bundled binary is found first). Slow (a cross build and a
venv): runs when GANTRY_TEST_WHEEL=1 (scripts/test sets it)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.environ.get("GANTRY_TEST_WHEEL") != "1", reason="set GANTRY_TEST_WHEEL=1")

EPISODE = r"""
import json, sys, gantry
b = gantry.find_binary()
with gantry.Client() as c, c.session(runtime="starlark", game=sys.argv[1]) as s:
    r = s.exec('print(goto("shelf 1"))')
    print(json.dumps({"binary": b, "server": c.server.binary, "obs": r.stdout, "steps": r.steps}))
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the test installs the x86_64 wheel")
def test_wheel_in_fresh_venv(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable)
    subprocess.run([str(HERE / "build_wheel.sh"), "x86_64"], env=env, check=True)
    (whl,) = out.glob("gantry-*-manylinux*x86_64*.whl")
    with zipfile.ZipFile(whl) as z:
        info = z.getinfo("gantry/_bin/gantry")
        assert (info.external_attr >> 16) & 0o111, "the binary is stored executable"

    vdir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(vdir)
    vpy = vdir / "bin" / "python"
    subprocess.run([str(vpy), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(whl)], check=True)

    # No Go, no GANTRY_BIN, no gantry on PATH, run from outside the source tree.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GANTRY", "GO"))}
    clean["PATH"] = f"{vdir / 'bin'}:/usr/bin:/bin"
    probe = subprocess.run(["sh", "-c", "command -v go gantry || true"], env=clean, capture_output=True, text=True)
    assert probe.stdout.strip() == "", f"go or gantry on PATH: {probe.stdout}"
    game = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"
    res = subprocess.run([str(vpy), "-c", EPISODE, game], env=clean, cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    import json

    got = json.loads(res.stdout)
    assert got["binary"].startswith(str(vdir)) and got["binary"].endswith("gantry/_bin/gantry")
    assert got["server"] == got["binary"]
    assert got["obs"] == "On the shelf 1, you see a keychain 2.\n" and got["steps"] == 1
