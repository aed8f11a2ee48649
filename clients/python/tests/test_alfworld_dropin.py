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
    expert = {t["game"]: t for t in traces("expert")}
    env = AlfredTWEnv({"rl": {"training": {"max_nb_steps_per_episode": 50}}}, train_eval="eval_out_of_distribution",
                      client=client)
    assert env.num_games == 134
    batch = env.init_env(batch_size=3)
    obs, infos = batch.reset()
    games = ["/".join(f.split("/")[-3:-1]) for f in infos["extra.gamefile"]]
    trs = [expert[g] for g in games]
    assert obs == [t["init"]["obs"] for t in trs]
    assert infos["admissible_commands"] == [t["init"]["admissible"] for t in trs]
    for k in range(max(len(t["commands"]) for t in trs)):
        obs, scores, dones, infos = batch.step([t["commands"][k] if k < len(t["commands"]) else "look" for t in trs])
        for i, t in enumerate(trs):
            if k < len(t["commands"]) and not (k > 0 and t["done"][k - 1]):
                assert obs[i] == t["obs"][k]
                assert dones[i] == t["done"][k] and infos["won"][i] == t["won"][k]
                assert scores[i] == int(t["won"][k])
    assert all(dones) and all(infos["won"])
    # The next reset moves on to the next games; seed() restarts TextWorld's order.
    _, infos2 = batch.reset()
    assert set(infos2["extra.gamefile"]).isdisjoint(infos["extra.gamefile"])
    batch.seed(1234)
    _, infos3 = batch.reset()
    assert infos3["extra.gamefile"] == infos["extra.gamefile"]
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

    assert ref["reset"] == got["reset"][:1] + [ref["reset"][1]] and \
        ref["reset"][1]["extra.gamefile"] == got["reset"][1]["extra.gamefile"]
    assert ref["reset"][1]["won"] == got["reset"][1]["won"]
    for k, (r, g) in enumerate(zip(ref["steps"], got["steps"])):
        assert r[0] == g[0], f"step {k}: observations"
        assert r[1] == g[1], f"step {k}: scores"
        assert r[2] == g[2], f"step {k}: dones"
        assert r[3]["won"] == g[3]["won"], f"step {k}: won"
        assert [sorted(x) for x in r[3]["admissible_commands"]] == \
            [sorted(x) for x in g[3]["admissible_commands"]], f"step {k}: admissible commands"
    assert len(ref["steps"]) == len(got["steps"]) == len(actions)
