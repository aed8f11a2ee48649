#!/usr/bin/env python3
"""ALFWorld through gantry's Python client against the alfworld package, same games, same commands.

    bench.py gantry   [--games N] [--rounds R] [--vector 64]   (Python with the gantry package)
    bench.py alfworld [--games N]                              (Python of bench/alfworld_reference's venv)

Both read the command streams of testdata/alfworld/reference/classic.jsonl.gz (the reference
engine's recorded episodes: an expert episode and a random one per game), cut at the step limit of
50, for the first N games of testdata/alfworld/gamefile_id.txt, and print one JSON object. Every
step asks for the admissible commands and the won flag, as alfworld's AlfredTWEnv does.
run.sh runs both and prints the table of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_STEPS = 50


def streams(n_games: int) -> list[tuple[str, list[str]]]:
    order = (ROOT / "testdata/alfworld/gamefile_id.txt").read_text().split()[:n_games]
    by_game: dict[str, list[list[str]]] = {}
    with gzip.open(ROOT / "testdata/alfworld/reference/classic.jsonl.gz", "rt") as f:
        for line in f:
            d = json.loads(line)
            cmds = d["commands"][:MAX_STEPS]
            if True in d["done"][:MAX_STEPS]:
                cmds = cmds[: d["done"].index(True) + 1]
            by_game.setdefault(d["game"], []).append(cmds)
    return [(g, c) for g in order for c in by_game[g]]


def ms(xs: list[float]) -> float:
    return round(1000 * statistics.median(xs), 3)


def run_gantry(args: argparse.Namespace) -> dict:
    import gantry
    from gantry.envs import AlfWorldVector

    eps = streams(args.games)
    out: dict = {"engine": "gantry", "games": args.games, "episodes": len(eps)}
    with gantry.Client(serve_args=["--max-sessions", "100000"]) as client:
        sessions = {g: client.session(runtime="none", game=g, max_steps=MAX_STEPS) for g, _ in eps}
        # Single env: one Session.step per command, the admissible commands in every answer; through
        # the local server's Unix socket (the client's default) and over loopback TCP.
        with gantry.Client(client.url) as tcp:
            tsessions = {g: tcp.session(runtime="none", game=g, max_steps=MAX_STEPS) for g, _ in eps}
            for name, ss in (("", sessions), ("_tcp", tsessions)):
                steps, spent, resets = 0, 0.0, []
                for _ in range(args.single_rounds):
                    for g, cmds in eps:
                        s = ss[g]
                        t = time.perf_counter()
                        s.reset(admissible=True)
                        resets.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        for c in cmds:
                            s.step(c, admissible=True)
                        spent += time.perf_counter() - t
                        steps += len(cmds)
                out["single_steps_per_s" + name] = round(steps / spent, 1)
                out["single_steps" + name] = steps
                out["reset_ms_median" + name] = ms(resets)
            for s in tsessions.values():
                s.close()
        # A new session (a fresh episode on a game not yet loaded by this client).
        creates = []
        for g, _ in eps[:: 2]:
            t = time.perf_counter()
            client.session(runtime="none", game=g, max_steps=MAX_STEPS).close()
            creates.append(time.perf_counter() - t)
        out["new_session_ms_median"] = ms(creates)
        for s in sessions.values():
            s.close()

        # Vectorised: AlfWorldVector over N sessions, one batch request per step.
        # Each slot plays a game's random stream (50 steps, to the step limit): no slot ends early,
        # so no autoreset (a new session on another game) falls inside the timed steps.
        n = args.vector
        venv = AlfWorldVector(num_envs=n, client=client, max_steps=MAX_STEPS)
        full = [e for e in eps if len(e[1]) == MAX_STEPS] or eps
        slots = [full[i % len(full)] for i in range(n)]
        longest = max(len(c) for _, c in slots)
        vsteps, vspent = 0, 0.0
        for _ in range(args.rounds):
            venv.reset(options={"games": [g for g, _ in slots]})
            t = time.perf_counter()
            for k in range(longest):
                venv.step([c[k] if k < len(c) else "look" for _, c in slots])
            vspent += time.perf_counter() - t
            vsteps += n * longest
        venv.close()
        # The same through Client.batch_step directly (no Gymnasium bookkeeping).
        bsessions = [client.session(runtime="none", game=g, max_steps=MAX_STEPS) for g, _ in slots]
        bsteps, bspent = 0, 0.0
        for _ in range(args.rounds):
            for s in bsessions:
                s.reset()
            t = time.perf_counter()
            for k in range(longest):
                client.batch_step([(s, c[k] if k < len(c) else "look") for s, (_, c) in zip(bsessions, slots)],
                                  admissible=True)
            bspent += time.perf_counter() - t
            bsteps += n * longest
        for s in bsessions:
            s.close()
        out["batch_steps_per_s"] = round(bsteps / bspent, 1)
        out["vector"] = n
        out["vector_steps_per_s"] = round(vsteps / vspent, 1)
        out["vector_steps"] = vsteps
    return out


def run_alfworld(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT / "bench" / "alfworld_reference"))
    from reference import Reference

    ref = Reference()
    eps = streams(args.games)
    tmp = tempfile.mkdtemp()
    with tarfile.open(ROOT / "testdata/alfworld/valid_unseen.tar.gz") as tf:
        tf.extractall(tmp, filter="data")
    path = {g: f"{tmp}/json_2.1.1/valid_unseen/{g}/game.tw-pddl" for g, _ in eps}
    # Warm up: the first reset loads libdownward.
    warm = ref.gym_env(path[eps[0][0]], MAX_STEPS)
    warm.reset()
    warm.close()
    steps, spent, resets = 0, 0.0, []
    for g, cmds in eps:
        env = ref.gym_env(path[g], MAX_STEPS)  # AlfredTWEnv.init_env(batch_size=1) over this game
        t = time.perf_counter()
        env.reset()
        resets.append(time.perf_counter() - t)
        t = time.perf_counter()
        for c in cmds:
            env.step([c])
        spent += time.perf_counter() - t
        steps += len(cmds)
        env.close()
    return {"engine": "alfworld", "games": args.games, "episodes": len(eps), "single_steps_per_s": round(steps / spent, 1),
            "single_steps": steps, "reset_ms_median": ms(resets), "versions": ref.versions()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("engine", choices=["gantry", "alfworld"])
    p.add_argument("--games", type=int, default=8, help="the first N games of gamefile_id.txt (default 8)")
    p.add_argument("--rounds", type=int, default=3, help="gantry: play the episodes this many times (default 3)")
    p.add_argument("--single-rounds", type=int, default=20,
                   help="gantry: play the episodes this many times one step at a time (default 20)")
    p.add_argument("--vector", type=int, default=64, help="gantry: sessions of the vectorised env (default 64)")
    args = p.parse_args()
    print(json.dumps(run_gantry(args) if args.engine == "gantry" else run_alfworld(args)))


if __name__ == "__main__":
    main()
