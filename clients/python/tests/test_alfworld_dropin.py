"""gantry.alfworld, the drop-in for alfworld's batched text environment: against the reference
engine's golden traces, and side by side with the real alfworld package when
GANTRY_TEST_ALFWORLD_PYTHON names the Python of a venv made by bench/alfworld_reference/setup.sh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import gantry
from gantry.alfworld import AlfredTWEnv
from conftest import ROOT, traces

HERE = Path(__file__).resolve().parent


def streams(n: int, episode: str) -> tuple[list[dict], list[list[str]]]:
    trs = traces(episode=episode, limit=n)
    longest = max(len(t["commands"]) for t in trs)
    actions = [[t["commands"][k] if k < len(t["commands"]) else "look" for t in trs] for k in range(longest)]
    return trs, actions


def play(env_games: list[str], actions: list[list[str]], client: gantry.Client, max_steps: int = 50) -> dict:
    env = AlfredTWEnv(game_files=env_games, client=client, max_steps=max_steps).init_env(batch_size=len(env_games))
    obs, infos = env.reset()
    out = {"reset": [obs, infos], "steps": []}
    for a in actions:
        obs, scores, dones, infos = env.step(a)
        out["steps"].append([obs, scores, dones, infos])
    env.close()
    return out


def test_interface_and_expert_wins(client: gantry.Client) -> None:
    trs, actions = streams(3, "expert")
    env = AlfredTWEnv({"rl": {"training": {"max_nb_steps_per_episode": 50}}}, train_eval="eval_out_of_distribution",
                      client=client)
    assert env.num_games == 134
    batch = env.init_env(batch_size=3)
    obs, infos = batch.reset()
    assert obs == [t["init"]["obs"] for t in trs]  # games in order: the embedded list is MINT's order
    assert ["/".join(f.split("/")[-3:-1]) for f in infos["extra.gamefile"]] == [t["game"] for t in trs]
    assert infos["admissible_commands"] == [t["init"]["admissible"] for t in trs]
    for k, a in enumerate(actions):
        obs, scores, dones, infos = batch.step(a)
        for i, t in enumerate(trs):
            if k < len(t["commands"]) and not (k > 0 and t["done"][k - 1]):
                assert obs[i] == t["obs"][k]
                assert dones[i] == t["done"][k] and infos["won"][i] == t["won"][k]
                assert scores[i] == int(t["won"][k])
    assert all(dones) and all(infos["won"])
    # A second reset moves on to the next games.
    obs, infos = batch.reset()
    assert ["/".join(f.split("/")[-3:-1]) for f in infos["extra.gamefile"]] == gantry.games()[3:6]
    batch.close()


def test_random_streams_hit_the_step_limit(client: gantry.Client) -> None:
    trs, actions = streams(2, "random")
    out = play([t["game"] for t in trs], actions, client)
    for k, (obs, scores, dones, infos) in enumerate(out["steps"][:50]):
        for i, t in enumerate(trs):
            assert obs[i] == t["obs"][k]
            assert dones[i] == t["done"][k]
    assert all(out["steps"][49][2])  # done at the step limit of 50
    # A done slot repeats its last answer.
    assert out["steps"][-1][0] == out["steps"][49][0]


@pytest.mark.alfworld
@pytest.mark.skipif(not os.environ.get("GANTRY_TEST_ALFWORLD_PYTHON"),
                    reason="set GANTRY_TEST_ALFWORLD_PYTHON to the Python of bench/alfworld_reference/setup.sh's venv")
@pytest.mark.parametrize("episode,n", [("expert", 6), ("random", 6)])
def test_side_by_side_with_alfworld(client: gantry.Client, tmp_path: Path, episode: str, n: int) -> None:
    with tarfile.open(ROOT / "testdata" / "alfworld" / "valid_unseen.tar.gz") as tf:
        tf.extractall(tmp_path, filter="data")
    trs, actions = streams(n, episode)
    files = [str(tmp_path / "json_2.1.1" / "valid_unseen" / t["game"] / "game.tw-pddl") for t in trs]
    req = {"gamefiles": files, "max_steps": 50, "actions": actions}
    proc = subprocess.run([os.environ["GANTRY_TEST_ALFWORLD_PYTHON"], str(HERE / "alfworld_reference_side.py")],
                          input=json.dumps(req), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = json.loads(proc.stdout)
    got = play(files, actions, client)

    def by_game(files_of_reset: list[str]) -> list[int]:
        return [files_of_reset.index(f) for f in files]

    ri = by_game(ref["reset"][1]["extra.gamefile"])
    gi = by_game(got["reset"][1]["extra.gamefile"])
    assert [ref["reset"][0][j] for j in ri] == [got["reset"][0][j] for j in gi]
    for k, (r, g) in enumerate(zip(ref["steps"], got["steps"])):
        for name, x in (("obs", 0), ("scores", 1), ("dones", 2)):
            assert [r[x][j] for j in ri] == [g[x][j] for j in gi], f"step {k}: {name}"
        assert [r[3]["won"][j] for j in ri] == [g[3]["won"][j] for j in gi], f"step {k}: won"
        assert [sorted(r[3]["admissible_commands"][j]) for j in ri] == \
            [sorted(g[3]["admissible_commands"][j]) for j in gi], f"step {k}: admissible"
