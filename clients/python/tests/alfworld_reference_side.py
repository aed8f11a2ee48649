"""Plays command streams through the real alfworld package (run with the Python of a venv made by
bench/alfworld_reference/setup.sh). Reads {"gamefiles", "max_steps", "actions"} as JSON on stdin,
writes {"reset": [obs, infos], "steps": [[obs, scores, dones, infos], ...]} as JSON on stdout.

The environment is built as alfworld's AlfredTWEnv.init_env builds it (bench/alfworld_reference/
reference.py): TextWorld's batch gym env over the game files, AlfredDemangler and AlfredInfos."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench" / "alfworld_reference"))
from reference import Reference  # noqa: E402


def plain(infos):
    return {k: [list(x) if isinstance(x, (list, tuple)) else x for x in v] for k, v in infos.items()}


def main():
    req = json.load(sys.stdin)
    # asynchronous=True as alfworld's init_env builds it: each game in a process of its own (the wrappers
    # are instances, shared by every env of a synchronous batch).
    ref = Reference()
    env = ref.BatchEnv(req["gamefiles"], ref.request_infos(True), batch_size=len(req["gamefiles"]),
                       asynchronous=True, max_episode_steps=req["max_steps"], wrappers=ref.wrappers())
    obs, infos = env.reset()
    out = {"reset": [list(obs), plain(infos)], "steps": []}
    for actions in req["actions"]:
        obs, scores, dones, infos = env.step(actions)
        out["steps"].append([list(obs), [int(s) for s in scores], [bool(d) for d in dones], plain(infos)])
    env.close()
    json.dump(out, sys.stdout)


main()
