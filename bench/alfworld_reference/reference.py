#!/usr/bin/env python3
"""Drive the reference ALFWorld text engine: play, trace, verify and benchmark.

The reference is alfworld 0.3.5's text environment on TextWorld 1.6.2 (installed by setup.sh into
bench/.venv). Environments are built the way alfworld's AlfredTWEnv.init_env builds them for
evaluation, which is how ReAct and MINT ran ALFWorld: a TextWorld batch gym env of size 1 over the
PDDL backend, wrapped by AlfredDemangler (shuffle off) and AlfredInfos, asking for `won` and
`admissible_commands`, with a step limit.

Games come from a directory laid out as alfworld's data download lays them out
(json_2.1.1/<split>/<task>/<trial>/game.tw-pddl, optionally with gt_traj.txt beside each game).

Subcommands (run with -h for their flags):
  versions   print the versions of the installed reference packages
  play       play one game with commands from a file or stdin; one JSON object per step
  trace      write golden traces (JSON lines, gzip) for every game, in one or both grammars
  verify     replay each game's gt_traj.txt and compare with the observations it records
  bench      measure load time, reset time and steps per second on a mixed command stream
"""

from __future__ import annotations

import argparse
import ast
import gzip
import importlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_VENV = Path(os.environ.get("GANTRY_BENCH_VENV", ROOT / "bench" / ".venv"))
CURRENT_VERSION = "0.4.2"
GRAMMARS = ("classic", "current")
DEFAULT_MAX_STEPS = 50  # base_config.yaml: dagger.training.max_nb_steps_per_episode, as ReAct/MINT ran
TRACE_FORMAT = 1


# ---------------------------------------------------------------------------------------------
# The reference engine


class Reference:
    """The imported reference modules."""

    def __init__(self) -> None:
        import alfworld

        # alfworld 0.3.5's alfworld/agents/environment/__init__.py also imports the THOR (3-D)
        # environment and thereby torch, ai2thor and opencv, none of which the text environment
        # uses. Register the package without running that __init__, then import the text
        # environment's module itself, unchanged.
        pkg = "alfworld.agents.environment"
        if pkg not in sys.modules:
            import alfworld.agents  # noqa: F401  (its __init__ is empty)

            stub = types.ModuleType(pkg)
            stub.__path__ = [str(Path(alfworld.__file__).parent / "agents" / "environment")]
            sys.modules[pkg] = stub
        tw_env = importlib.import_module(pkg + ".alfred_tw_env")

        import textworld
        import textworld.gym
        from textworld.gym.envs.textworld_batch import TextworldBatchGymEnv

        self.alfworld = alfworld
        self.textworld = textworld
        self.AlfredDemangler = tw_env.AlfredDemangler
        self.AlfredInfos = tw_env.AlfredInfos
        self.BatchEnv = TextworldBatchGymEnv

    def versions(self) -> dict:
        from importlib import metadata

        out = {"python": sys.version.split()[0]}
        for name in ("alfworld", "textworld", "fast-downward-textworld", "tatsu"):
            out[name] = metadata.version(name)
        return out

    def request_infos(self, admissible: bool = True):
        return self.textworld.EnvInfos(won=True, admissible_commands=admissible, extras=["gamefile"])

    def wrappers(self) -> list:
        return [self.AlfredDemangler(shuffle=False), self.AlfredInfos]

    def gym_env(self, gamefile: str, max_steps: int | None, admissible: bool = True):
        """The env AlfredTWEnv.init_env returns for evaluation, over one game file."""
        return self.BatchEnv(
            [gamefile],
            self.request_infos(admissible),
            batch_size=1,
            asynchronous=True,
            max_episode_steps=max_steps or None,
            wrappers=self.wrappers(),
        )

    def plain_env(self, admissible: bool = True):
        """The wrapped single env inside the gym env, without step limit or batch bookkeeping."""
        from textworld.envs.wrappers import Filter, GenericEnvironment

        env = GenericEnvironment(self.request_infos(admissible))
        for w in self.wrappers() + [Filter]:
            env = w(env)
        return env


class Episode:
    """One game played through the reference gym env, as agents saw it."""

    def __init__(self, ref: Reference, gamefile: str, max_steps: int | None) -> None:
        self.env = ref.gym_env(gamefile, max_steps)

    def reset(self) -> dict:
        obs, infos = self.env.reset()
        return {"obs": obs[0], "admissible": list(infos["admissible_commands"][0]),
                "won": bool(infos["won"][0])}

    def step(self, command: str) -> dict:
        obs, scores, dones, infos = self.env.step([command])
        return {"obs": obs[0], "admissible": list(infos["admissible_commands"][0]),
                "done": bool(dones[0]), "won": bool(infos["won"][0])}

    def close(self) -> None:
        self.env.close()


# ---------------------------------------------------------------------------------------------
# Games


@dataclass
class Game:
    id: str  # <task>/<trial>, as in gamefile_id.txt
    path: Path  # the game.tw-pddl
    gt_traj: Path | None = None
    data: dict = field(default_factory=dict, repr=False)


def find_games(root: Path, order: Path | None = None, limit: int = 0) -> list[Game]:
    """The solvable games under root, in the order of an id file or sorted by id."""
    root = root.resolve()
    found: dict[str, Game] = {}
    for path in sorted(root.rglob("game.tw-pddl")):
        trial = path.parent
        gid = f"{trial.parent.name}/{trial.name}"
        if "movable" in str(trial) or "Sliced" in str(trial):
            continue  # alfworld's own loader skips these
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f"read {path}: {e}")
        if not data.get("solvable", False):
            continue
        gt = trial / "gt_traj.txt"
        found[gid] = Game(gid, path, gt if gt.exists() else None, data)
    if not found:
        raise SystemExit(f"no solvable game.tw-pddl under {root}")
    if order:
        ids = [line.strip() for line in order.read_text().splitlines() if line.strip()]
        missing = [i for i in ids if i not in found]
        if missing:
            raise SystemExit(f"{order}: {len(missing)} games not under {root}, e.g. {missing[0]}")
        games = [found[i] for i in ids]
    else:
        games = [found[k] for k in sorted(found)]
    return games[:limit] if limit > 0 else games


def task_text(grammar: str) -> str:
    m = re.search(r'"rhs": "Your task is to: (.*?)\."', grammar)
    if not m:
        raise ValueError("grammar has no 'Your task is to:' rule")
    return m.group(1)


def current_grammar_game(data: dict, venv: Path = DEFAULT_VENV) -> dict:
    """The game with alfworld 0.4.2's grammar and domain (move X to Y, help) in place of its own.

    alfworld builds a game's grammar from alfred.twl2 by replacing UNKNOWN GOAL with the task, and
    0.4.2's domain only adds the help action; the problem is the same.
    """
    d = venv / f"alfworld-{CURRENT_VERSION}-data"
    twl2 = (d / "alfred.twl2").read_text()
    pddl = (d / "alfred.pddl").read_text()
    m = re.search(r"\(:action help\b.*?\n\)\n", pddl, re.S)
    if not m or "UNKNOWN GOAL" not in twl2:
        raise SystemExit(f"{d}: unexpected alfworld {CURRENT_VERSION} data files")
    domain = data["pddl_domain"].rstrip()
    if not domain.endswith(")"):
        raise ValueError("pddl_domain does not end with ')'")
    out = dict(data)
    out["pddl_domain"] = domain[:-1].rstrip() + "\n\n\n" + m.group(0) + "\n)\n"
    out["grammar"] = twl2.replace("UNKNOWN GOAL", task_text(data["grammar"]))
    return out


class GameFiles:
    """Game files for a grammar: the originals for classic, rewritten copies for current."""

    def __init__(self, grammar: str) -> None:
        if grammar not in GRAMMARS:
            raise SystemExit(f"unknown grammar {grammar!r} (want one of {', '.join(GRAMMARS)})")
        self.grammar = grammar
        self.tmp = tempfile.TemporaryDirectory(prefix="alfworld-ref-") if grammar == "current" else None

    def path(self, game: Game) -> str:
        if self.tmp is None:
            return str(game.path)
        p = Path(self.tmp.name) / game.id / "game.tw-pddl"
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(current_grammar_game(game.data)))
        return str(p)

    def close(self) -> None:
        if self.tmp:
            self.tmp.cleanup()


# ---------------------------------------------------------------------------------------------
# Command streams

GT_CALL = re.compile(r"^(goto|take|put|open|close|use|heat|cool|clean|toggle|look|inventory)\((.*)\)\s*$")


def gt_commands(path: Path, grammar: str = "classic") -> list[str]:
    """The text commands of a gt_traj.txt (MINT's tool calls, in order)."""
    cmds = []
    for line in path.read_text().splitlines():
        m = GT_CALL.match(line.strip())
        if not m:
            continue
        name, args = m.group(1), ast.literal_eval("(" + m.group(2) + ",)") if m.group(2) else ()
        cmds.append(tool_command(name, args, grammar))
    return cmds


def tool_command(name: str, args: tuple, grammar: str = "classic") -> str:
    put = "put {} in/on {}" if grammar == "classic" else "move {} to {}"
    forms = {
        "goto": "go to {}", "take": "take {} from {}", "put": put, "open": "open {}",
        "close": "close {}", "use": "use {}", "toggle": "use {}", "heat": "heat {} with {}",
        "cool": "cool {} with {}", "clean": "clean {} with {}", "look": "look",
        "inventory": "inventory",
    }
    return forms[name].format(*args)


NAME = re.compile(r"\b([a-z]+ \d+)\b")


class StreamMaker:
    """Deterministic mixed command streams: admissible, probes and garbage, from a seed and a game."""

    def __init__(self, seed: int, game: Game, grammar: str, kind: str) -> None:
        self.rng = random.Random(f"{seed}:{game.id}:{kind}")
        self.grammar = grammar
        self.names: list[str] = []

    def observe(self, obs: str, admissible: list[str]) -> None:
        for n in NAME.findall(obs) + [n for c in admissible for n in NAME.findall(c)]:
            if n not in self.names and not n.startswith("loc "):
                self.names.append(n)

    def name(self) -> str:
        return self.rng.choice(self.names) if self.names else "apple 1"

    def probe(self) -> str:
        """A command that never changes the state."""
        r = self.rng.random()
        if r < 0.3:
            return self.rng.choice(["look", "inventory"])
        if r < 0.5:
            return "examine " + self.name()
        return self.garbage()

    def garbage(self) -> str:
        """A command the engine does not accept (or accepts only by its quirks)."""
        a, b = self.name(), self.name()
        wrong_put = "move {} to {}" if self.grammar == "classic" else "put {} in/on {}"
        return self.rng.choice([
            "", "jump", "xyzzy", "go to", "take", "help", "LOOK", "  look  ", "look around",
            "inventory please", "go  to " + a, "go to " + a + "0", "go to nowhere 1",
            "take {} from {}".format(a, b), "put {} in/on {}".format(a, b),
            wrong_put.format(a, b), "open " + a, "close " + a, "use " + a,
            "heat {} with {}".format(a, b), "cool {} with {}".format(a, b),
            "clean {} with {}".format(a, b), "slice {} with {}".format(a, b),
            "examine", "go to " + a.upper(), "go to loc 1", "take " + a,
        ])

    def random_step(self, admissible: list[str]) -> str:
        r = self.rng.random()
        if r < 0.6 and admissible:
            return self.rng.choice(admissible)
        if r < 0.7:
            return self.rng.choice(["look", "inventory"])
        if r < 0.8:
            return "examine " + self.name()
        return self.garbage()


def expert_stream(game: Game, grammar: str, seed: int, probes: int = 8) -> list[str] | None:
    """The gt_traj commands with state-preserving probes inserted at seeded places."""
    if game.gt_traj is None:
        return None
    cmds = gt_commands(game.gt_traj, grammar)
    mk = StreamMaker(seed, game, grammar, "expert")
    mk.names = sorted({n for c in cmds for n in NAME.findall(c)})
    where = sorted(mk.rng.sample(range(len(cmds) + 1), min(probes, len(cmds) + 1)))
    out = []
    for i, c in enumerate(cmds + [None]):
        while where and where[0] == i:
            where.pop(0)
            out.append(mk.probe())
        if c is not None:
            out.append(c)
    return out + ["look", "inventory"]  # after the win: the gym env repeats its last state


# ---------------------------------------------------------------------------------------------
# Playing and tracing


def play_stream(ref: Reference, gamefile: str, commands, max_steps: int | None, maker=None):
    """Play commands (a list, or a callable(admissible) -> command for count steps); return a trace."""
    ep = Episode(ref, gamefile, max_steps)
    try:
        first = ep.reset()
        tr = {"init": {"obs": first["obs"], "admissible": first["admissible"], "won": first["won"]},
              "commands": [], "obs": [], "admissible": [], "done": [], "won": []}
        adm = first["admissible"]
        if maker:
            maker.observe(first["obs"], adm)
        for c in commands:
            cmd = c(adm) if callable(c) else c
            st = ep.step(cmd)
            tr["commands"].append(cmd)
            tr["obs"].append(st["obs"])
            tr["admissible"].append(st["admissible"])
            tr["done"].append(st["done"])
            tr["won"].append(st["won"])
            adm = st["admissible"]
            if maker:
                maker.observe(st["obs"], adm)
        return tr
    finally:
        ep.close()


def episodes_for(ref: Reference, game: Game, files: GameFiles, seed: int, random_len: int,
                 max_steps: int):
    """The golden episodes of one game in one grammar."""
    path = files.path(game)
    exp = expert_stream(game, files.grammar, seed)
    if exp is not None:
        tr = play_stream(ref, path, exp, None)
        yield "expert", None, tr
    mk = StreamMaker(seed, game, files.grammar, "random")
    tr = play_stream(ref, path, [mk.random_step] * random_len, max_steps, mk)
    yield "random", max_steps, tr


def cmd_trace(args) -> None:
    ref = Reference()
    games = find_games(args.games, args.order, args.limit)
    vers = ref.versions()
    args.out.mkdir(parents=True, exist_ok=True)
    for grammar in args.grammar:
        files = GameFiles(grammar)
        out = args.out / f"{grammar}.jsonl.gz"
        tmp = out.with_suffix(".tmp")
        t0 = time.perf_counter()
        wins = 0
        # mtime=0 keeps the gzip bytes reproducible.
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for i, game in enumerate(games):
                for kind, limit, tr in episodes_for(ref, game, files, args.seed, args.random_len,
                                                    args.max_steps):
                    rec = {"format": TRACE_FORMAT, "game": game.id, "grammar": grammar,
                           "episode": kind, "max_steps": limit, "seed": args.seed, **tr}
                    if kind == "expert" and tr["won"] and tr["won"][-1]:
                        wins += 1
                    gz.write((json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
                             .encode())
                if args.verbose:
                    print(f"{grammar} {i + 1}/{len(games)} {game.id}", file=sys.stderr)
        tmp.replace(out)
        files.close()
        print(f"{out}: {len(games)} games, expert won {wins}, "
              f"{time.perf_counter() - t0:.0f} s ({json.dumps(vers)})")


def cmd_play(args) -> None:
    ref = Reference()
    gamefile = args.game
    if args.grammar == "current":
        data = json.loads(Path(gamefile).read_text())
        files = tempfile.NamedTemporaryFile("w", suffix=".tw-pddl", delete=False)
        files.write(json.dumps(current_grammar_game(data)))
        files.close()
        gamefile = files.name
    src = open(args.commands) if args.commands != "-" else sys.stdin
    ep = Episode(ref, gamefile, args.max_steps)
    try:
        st = ep.reset()
        print(json.dumps({"step": 0, "obs": st["obs"], "admissible": st["admissible"],
                          "done": False, "won": st["won"]}), flush=True)
        for n, line in enumerate(src, 1):
            cmd = line.rstrip("\n")
            st = ep.step(cmd)
            print(json.dumps({"step": n, "command": cmd, **st}), flush=True)
    finally:
        ep.close()
        if gamefile != args.game:
            os.unlink(gamefile)


# ---------------------------------------------------------------------------------------------
# Checking the reference against the recorded expert trajectories


def strip_loc(obs: str) -> str:
    """What MINT's tools return: the observation without a leading "You arrive at loc N. "."""
    if obs.startswith("You arrive at loc "):
        return obs[obs.find(". ") + 2:]
    return obs


def gt_observations(path: Path) -> list[str]:
    lines, on = [], False
    for line in path.read_text().splitlines():
        if line.startswith("Observation:"):
            on = True
            continue
        if line.startswith("Assistant:"):
            on = False
            continue
        if on and line.strip():
            lines.append(line)
    return lines


def cmd_verify(args) -> None:
    ref = Reference()
    games = [g for g in find_games(args.games, args.order, args.limit) if g.gt_traj]
    total = same = won = 0
    bad = []
    for g in games:
        cmds = gt_commands(g.gt_traj)
        want = gt_observations(g.gt_traj)
        tr = play_stream(ref, str(g.path), cmds, None)
        got = [strip_loc(o) for o in tr["obs"]]
        total += len(want)
        same += sum(a == b for a, b in zip(got, want))
        won += bool(tr["won"] and tr["won"][-1])
        if got != want:
            i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            bad.append((g.id, i, got[i] if i < len(got) else None, want[i] if i < len(want) else None))
    print(f"verify: {len(games)} games, {same}/{total} recorded observations identical, "
          f"{won} won, {len(bad)} games differ")
    for gid, i, a, b in bad[:10]:
        print(f"  {gid} step {i + 1}:\n    reference: {a!r}\n    recorded:  {b!r}")
    if bad:
        sys.exit(1)


# ---------------------------------------------------------------------------------------------
# Benchmark


class StepClock:
    """Splits the reference's step time: PddlEnv._gather_infos (whose work is all for the admissible
    commands, apart from checking the goal) against the rest (finding the command, applying the
    action, deriving the feedback text), by timing those methods of the installed classes."""

    def __init__(self) -> None:
        from textworld.envs.pddl import PddlEnv
        from textworld.envs.pddl.logic import PddlState

        self.gather = 0.0
        self.goal = 0.0
        self._undo = []
        clock = self

        def timed(cls, name, attr):
            orig = getattr(cls, name)

            def f(*a, **kw):
                t = time.perf_counter()
                try:
                    return orig(*a, **kw)
                finally:
                    setattr(clock, attr, getattr(clock, attr) + time.perf_counter() - t)

            setattr(cls, name, f)
            self._undo.append((cls, name, orig))

        timed(PddlEnv, "_gather_infos", "gather")
        timed(PddlState, "check_goal", "goal")

    def zero(self) -> None:
        self.gather = self.goal = 0.0

    def close(self) -> None:
        for cls, name, orig in self._undo:
            setattr(cls, name, orig)


def trace_streams(path: Path) -> dict[str, list[list[str]]]:
    """The commands of each game's episodes in a trace file, cut where the gym env said done."""
    out: dict[str, list[list[str]]] = {}
    with gzip.open(path, "rt") as f:
        for line in f:
            rec = json.loads(line)
            n = next((i + 1 for i, d in enumerate(rec["done"]) if d), len(rec["done"]))
            out.setdefault(rec["game"], []).append(rec["commands"][:n])
    return out


def bench_streams(games, files, seed, random_len, max_steps, ref, trace: Path | None):
    """The command stream of each game: its golden episodes' commands (expert first, then random),
    read from a trace file when there is one, else generated by playing them."""
    if trace and trace.exists():
        got = trace_streams(trace)
        missing = [g.id for g in games if g.id not in got]
        if missing:
            raise SystemExit(f"{trace}: no episodes for {missing[0]}")
        return [got[g.id] for g in games], str(trace)
    out = []
    for g in games:
        cmds = []
        for kind, limit, tr in episodes_for(ref, g, files, seed, random_len, max_steps):
            n = next((i + 1 for i, d in enumerate(tr["done"]) if d), len(tr["done"]))
            cmds.append(tr["commands"][:n])
        out.append(cmds)
    return out, "generated"


def cmd_bench(args) -> None:
    ref = Reference()
    games = find_games(args.games, args.order, args.limit)
    files = GameFiles(args.grammar)
    paths = [files.path(g) for g in games]
    trace = args.trace or ROOT / "testdata" / "alfworld" / "reference" / f"{args.grammar}.jsonl.gz"
    streams, source = bench_streams(games, files, args.seed, args.random_len, args.max_steps, ref,
                                    trace)

    env = ref.plain_env()
    env.load(paths[0])
    env.reset()  # loads libdownward and warms the import caches

    loads, resets, gym_resets = [], [], []
    steps = 0
    step_s = adm_s = 0.0
    clock = StepClock() if args.split else None
    for path, eps in zip(paths, streams):
        t = time.perf_counter()
        env.load(path)
        loads.append(time.perf_counter() - t)
        for cmds in eps:
            t = time.perf_counter()
            env.reset()
            resets.append(time.perf_counter() - t)
            if clock:
                clock.zero()
            t = time.perf_counter()
            for c in cmds:
                env.step(c)
            step_s += time.perf_counter() - t
            steps += len(cmds)
            if clock:
                adm_s += clock.gather - clock.goal
    if clock:
        clock.close()
    # The reset an agent pays through the gym env (AlfredTWEnv): reload the file, then reset.
    for path in paths[: args.gym_resets]:
        gym = ref.gym_env(path, args.max_steps)
        t = time.perf_counter()
        gym.reset()
        gym_resets.append(time.perf_counter() - t)
        gym.close()

    def ms(xs):
        return round(1000 * statistics.median(xs), 2) if xs else None

    res = {
        "engine": "reference", "grammar": args.grammar, "games": len(games), "steps": steps,
        "steps_per_s": round(steps / step_s, 2), "step_ms": round(1000 * step_s / steps, 3),
        "load_ms_median": ms(loads), "reset_ms_median": ms(resets),
        "gym_reset_ms_median": ms(gym_resets),
        "commands_from": source, "versions": ref.versions(),
    }
    if clock:
        res["admissible_share_of_step"] = round(adm_s / step_s, 3)
        res["steps_per_s_without_admissible"] = round(steps / (step_s - adm_s), 2)
    files.close()
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:42s} {v}")


GO_LINE = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$")


def parse_go_bench(text: str) -> list[dict]:
    """The results of `go test -bench` output: name, iterations and every value/unit pair."""
    out = []
    for line in text.splitlines():
        m = GO_LINE.match(line.strip())
        if not m:
            continue
        fields = m.group(3).split()
        metrics = {}
        for v, unit in zip(fields[::2], fields[1::2]):
            try:
                metrics[unit] = float(v)
            except ValueError:
                break
        if "ns/op" in metrics:
            out.append({"name": m.group(1), "n": int(m.group(2)), **metrics})
    return out


def cmd_compare(args) -> None:
    ref = json.loads(args.reference.read_text())
    go = parse_go_bench(args.go.read_text()) if args.go and args.go.exists() else []
    v = ref["versions"]
    print(f"reference: alfworld {v['alfworld']}, textworld {v['textworld']}, python {v['python']}, "
          f"{ref['grammar']} grammar, {ref['games']} games, {ref['steps']} steps "
          f"(commands: {ref['commands_from']})")
    rows = [
        ("steps/s (admissible commands computed, as always)", ref["steps_per_s"], "/s"),
        ("steps/s without the admissible-command work", ref.get("steps_per_s_without_admissible"), "/s"),
        ("reset of a loaded game", ref["reset_ms_median"], " ms"),
        ("load of a game.tw-pddl", ref["load_ms_median"], " ms"),
        ("gym env reset (load + reset: what an agent pays)", ref["gym_reset_ms_median"], " ms"),
    ]
    for label, val, unit in rows:
        if val is not None:
            print(f"  {label:52s} {val:>12,.2f}{unit}")
    if not go:
        print("gantry: no Go benchmark results to compare")
        return
    print("gantry (go test -bench), ratio = gantry / reference speed:")
    for b in go:
        name, ns = b["name"], b["ns/op"]
        low = name.lower()
        extra = "".join(f"  {b[k]:g} {k}" for k in ("B/op", "allocs/op") if k in b)
        if "steps/s" in b or "step" in low:
            sps = b.get("steps/s", 1e9 / ns if ns else 0)
            no_adm = any(w in low for w in ("noadmissible", "withoutadmissible", "noadm"))
            base = ref.get("steps_per_s_without_admissible") if no_adm else ref["steps_per_s"]
            ratio = f"{sps / base:,.0f}x" if base else "n/a"
            print(f"  {name:52s} {sps:>14,.0f} steps/s  ratio {ratio}{extra}")
        elif "reset" in low or "load" in low:
            base = ref["reset_ms_median"] if "reset" in low else ref["load_ms_median"]
            print(f"  {name:52s} {ns / 1e3:>14,.2f} us  ratio {base * 1e6 / ns:,.0f}x{extra}")
        else:
            print(f"  {name:52s} {ns:>14,.0f} ns/op{extra}")


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def games_flags(sp):
        sp.add_argument("--games", type=Path, required=True,
                        help="directory holding json_2.1.1/<split>/<task>/<trial>/game.tw-pddl")
        sp.add_argument("--order", type=Path, help="file of <task>/<trial> ids giving the order (gamefile_id.txt)")
        sp.add_argument("--limit", type=int, default=0, help="only the first N games")
        sp.add_argument("--seed", type=int, default=42)
        sp.add_argument("--random-len", type=int, default=55,
                        help="commands in each random episode (past the step limit on purpose)")
        sp.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS)

    sub.add_parser("versions")
    sp = sub.add_parser("play")
    sp.add_argument("--game", required=True)
    sp.add_argument("--commands", default="-", help="file of commands, one a line (default stdin)")
    sp.add_argument("--grammar", choices=GRAMMARS, default="classic")
    sp.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, help="0: none")
    sp = sub.add_parser("trace")
    games_flags(sp)
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--grammar", nargs="+", choices=GRAMMARS, default=list(GRAMMARS))
    sp.add_argument("-v", "--verbose", action="store_true")
    sp = sub.add_parser("verify")
    games_flags(sp)
    sp = sub.add_parser("bench")
    games_flags(sp)
    sp.add_argument("--grammar", choices=GRAMMARS, default="classic")
    sp.add_argument("--gym-resets", type=int, default=10, help="games to time a full gym reset on")
    sp.add_argument("--no-split", dest="split", action="store_false",
                    help="do not time the admissible-command work apart from the rest of a step")
    sp.add_argument("--trace", type=Path, help="take the command streams from this trace file "
                    "(default: testdata/alfworld/reference/<grammar>.jsonl.gz when present)")
    sp.add_argument("--json", action="store_true")
    sp = sub.add_parser("compare")
    sp.add_argument("--reference", type=Path, required=True, help="output of bench --json")
    sp.add_argument("--go", type=Path, help="output of go test -bench")
    args = p.parse_args(argv)

    if args.cmd == "versions":
        print(json.dumps(Reference().versions()))
    elif args.cmd == "play":
        cmd_play(args)
    elif args.cmd == "trace":
        cmd_trace(args)
    elif args.cmd == "verify":
        cmd_verify(args)
    elif args.cmd == "bench":
        cmd_bench(args)
    elif args.cmd == "compare":
        cmd_compare(args)


if __name__ == "__main__":
    main()
