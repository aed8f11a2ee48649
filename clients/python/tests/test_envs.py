"""The Gymnasium environments, checked by Gymnasium's own env_checker."""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium.utils.env_checker import check_env

import gantry
from gantry.envs import AlfWorld, AlfWorldVector
from conftest import traces


def test_check_env(client: gantry.Client) -> None:
    env = gymnasium.make("gantry/AlfWorld-v0", client=client, render_mode="ansi").unwrapped
    assert isinstance(env, AlfWorld)
    check_env(env, skip_render_check=False)
    env.close()


def test_registered_and_expert_episode(client: gantry.Client) -> None:
    tr = traces(limit=1)[0]
    env = gymnasium.make("gantry/AlfWorld-v0", game=tr["game"], client=client)
    obs, info = env.reset(seed=0)
    assert obs == tr["init"]["obs"]
    assert info["admissible_commands"] == tr["init"]["admissible"]
    assert info["gamefile"] == tr["game"] and info["won"] is False
    total = 0.0
    for i, cmd in enumerate(tr["commands"]):
        obs, reward, terminated, truncated, info = env.step(cmd)
        assert obs == tr["obs"][i]
        total += float(reward)
    assert terminated and not truncated and info["won"] and total == 1.0
    env.close()


def test_seeded_reset_picks_the_same_games(client: gantry.Client) -> None:
    a, b = AlfWorld(client=client), AlfWorld(client=client)
    ga = [a.reset(seed=7)[1]["gamefile"]] + [a.reset()[1]["gamefile"] for _ in range(4)]
    gb = [b.reset(seed=7)[1]["gamefile"]] + [b.reset()[1]["gamefile"] for _ in range(4)]
    assert ga == gb and set(ga) <= set(gantry.games())
    a.close()
    b.close()


def test_truncated_at_step_limit(client: gantry.Client) -> None:
    env = AlfWorld(game=gantry.games()[0], max_steps=3, client=client)
    env.reset()
    outs = [env.step("look") for _ in range(3)]
    assert [o[3] for o in outs] == [False, False, True] and not any(o[2] for o in outs)
    env.close()


def test_vector_env(client: gantry.Client) -> None:
    trs = traces(limit=4)
    n = len(trs)
    venv = AlfWorldVector(num_envs=n, client=client)
    obs, infos = venv.reset(seed=1, options={"games": [t["game"] for t in trs]})
    assert list(obs) == [t["init"]["obs"] for t in trs]
    assert list(infos["gamefile"]) == [t["game"] for t in trs]
    # The expert streams go on after the win; an env ends (and autoresets) at its first win.
    ends = [t["won"].index(True) for t in trs]
    won_at = {}
    for k in range(max(ends) + 1):
        actions = [t["commands"][k] if k <= ends[i] else "look" for i, t in enumerate(trs)]
        obs, rewards, term, trunc, infos = venv.step(actions)
        for i, t in enumerate(trs):
            if k <= ends[i]:
                assert obs[i] == t["obs"][k]
                assert bool(term[i]) == (k == ends[i]) and not trunc[i]
            if term[i]:
                won_at[i] = k
                assert rewards[i] == 1.0 and infos["won"][i]
    assert won_at == dict(enumerate(ends))
    assert isinstance(venv.observation_space, gymnasium.spaces.Tuple)
    assert np.all(np.asarray(infos["_won"]))
    venv.close()


def test_vector_autoreset(client: gantry.Client) -> None:
    g = gantry.games()[0]
    venv = AlfWorldVector(num_envs=2, games=[g], max_steps=2, client=client)
    venv.reset(seed=3)
    _, _, _, trunc1, _ = venv.step(["look", "look"])
    _, _, _, trunc2, _ = venv.step(["look", "look"])
    assert not trunc1.any() and trunc2.all()
    obs, _, _, trunc3, infos = venv.step(["look", "look"])  # next-step autoreset: actions ignored
    assert not trunc3.any() and all(o.startswith("-= Welcome to TextWorld") for o in obs)
    venv.close()


def test_make_vec(client: gantry.Client) -> None:
    venv = gymnasium.make_vec("gantry/AlfWorld-v0", num_envs=3, vectorization_mode="vector_entry_point",
                              client=client)
    obs, infos = venv.reset(seed=5)
    assert len(obs) == 3 and all(o.startswith("-= Welcome to TextWorld") for o in obs)
    obs, rewards, term, trunc, infos = venv.step(["look"] * 3)
    assert rewards.shape == (3,) and len(infos["admissible_commands"]) == 3
    venv.close()
