"""Tests of reference.py's own logic (no reference engine needed).

Run: python3 -m unittest discover -s bench/alfworld_reference -p 'test_*.py'
"""

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as r  # noqa: E402

GT = """Assistant:
<execute>
goto("shelf 1")
take("keychain 4", "sofa 1")
put("keychain 4", "safe 1")
heat("mug 1", "microwave 1")
</execute>

Observation:
On the shelf 1, you see nothing.
You pick up the keychain 4 from the sofa 1.

You put the keychain 4 in/on the safe 1.
You heat the mug 1 using the microwave 1.
Assistant:
<execute>
use("desklamp 1")
</execute>

Observation:
You turn on the desklamp 1.
"""

GO_OUT = """goos: linux
BenchmarkStep/admissible-2   	  200000	      5000 ns/op	    2000 steps/s	     0 B/op	       0 allocs/op
BenchmarkStepNoAdmissible-2  	 1000000	      1000 ns/op
BenchmarkReset               	 1000	      15000 ns/op
--- FAIL: BenchmarkBroken
PASS
"""


class GtTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "gt_traj.txt"
        self.path.write_text(GT)

    def tearDown(self):
        self.dir.cleanup()

    def test_commands(self):
        cases = [
            ("classic", ["go to shelf 1", "take keychain 4 from sofa 1", "put keychain 4 in/on safe 1",
                         "heat mug 1 with microwave 1", "use desklamp 1"]),
            ("current", ["go to shelf 1", "take keychain 4 from sofa 1", "move keychain 4 to safe 1",
                         "heat mug 1 with microwave 1", "use desklamp 1"]),
        ]
        for grammar, want in cases:
            with self.subTest(grammar=grammar):
                self.assertEqual(r.gt_commands(self.path, grammar), want)

    def test_observations(self):
        self.assertEqual(r.gt_observations(self.path), [
            "On the shelf 1, you see nothing.", "You pick up the keychain 4 from the sofa 1.",
            "You put the keychain 4 in/on the safe 1.", "You heat the mug 1 using the microwave 1.",
            "You turn on the desklamp 1."])

    def test_strip_loc(self):
        for got, want in [("You arrive at loc 12. On the desk 1, you see nothing.", "On the desk 1, you see nothing."),
                          ("You arrive at desk 1. On the desk 1, you see nothing.",
                           "You arrive at desk 1. On the desk 1, you see nothing."),
                          ("Nothing happens.", "Nothing happens.")]:
            self.assertEqual(r.strip_loc(got), want)

    def test_expert_stream_keeps_order(self):
        game = r.Game("task/trial", Path("unused"), self.path)
        a = r.expert_stream(game, "classic", 42)
        self.assertEqual(a, r.expert_stream(game, "classic", 42), "not deterministic")
        self.assertNotEqual(a, r.expert_stream(game, "classic", 43))
        gt = r.gt_commands(self.path)
        it = iter(a)
        self.assertTrue(all(c in it for c in gt), "expert commands out of order or missing")
        self.assertEqual(len(a), len(gt) + min(8, len(gt) + 1) + 2)
        self.assertEqual(a[-2:], ["look", "inventory"])


class GoBenchTest(unittest.TestCase):
    def test_parse(self):
        got = r.parse_go_bench(GO_OUT)
        self.assertEqual([b["name"] for b in got],
                         ["BenchmarkStep/admissible", "BenchmarkStepNoAdmissible", "BenchmarkReset"])
        self.assertEqual(got[0]["steps/s"], 2000)
        self.assertEqual(got[0]["allocs/op"], 0)
        self.assertEqual(got[2]["ns/op"], 15000)

    def test_parse_nothing(self):
        self.assertEqual(r.parse_go_bench("no benchmarks\nPASS\n"), [])


class GrammarTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.venv = Path(self.dir.name)
        d = self.venv / f"alfworld-{r.CURRENT_VERSION}-data"
        d.mkdir()
        (d / "alfred.twl2").write_text('"rhs": "Your task is to: UNKNOWN GOAL."\ntemplate :: "move {o} to {r}";\n')
        (d / "alfred.pddl").write_text("(define (domain alfred)\n(:action a\n)\n\n(:action help\n"
                                       "    :parameters (?a - agent)\n)\n\n)\n")

    def tearDown(self):
        self.dir.cleanup()

    def test_current(self):
        game = {"pddl_domain": "(define (domain alfred)\n(:action a\n)\n)\n",
                "grammar": '"rhs": "Your task is to: put some pen on shelf."\ntemplate :: "put {o} in/on {r}";\n',
                "pddl_problem": "(define (problem p))", "solvable": True}
        got = r.current_grammar_game(game, self.venv)
        self.assertEqual(got["pddl_problem"], game["pddl_problem"])
        self.assertIn("Your task is to: put some pen on shelf.", got["grammar"])
        self.assertIn("move {o} to {r}", got["grammar"])
        self.assertIn("(:action help", got["pddl_domain"])
        self.assertTrue(got["pddl_domain"].rstrip().endswith(")"))
        self.assertIn("(:action a", got["pddl_domain"])

    def test_bad_games(self):
        for name, game in [("no task", {"pddl_domain": "(x)", "grammar": "nothing"}),
                           ("domain not closed", {"pddl_domain": "(x", "grammar": '"rhs": "Your task is to: a."'})]:
            with self.subTest(name), self.assertRaises(ValueError):
                r.current_grammar_game(game, self.venv)


class FindGamesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        for task, trial, solvable in [("b-task", "trial_2", True), ("a-task", "trial_1", True),
                                      ("c-task", "trial_3", False), ("movable-task", "trial_4", True)]:
            d = self.root / "json_2.1.1" / "valid_unseen" / task / trial
            d.mkdir(parents=True)
            (d / "game.tw-pddl").write_text(json.dumps({"solvable": solvable}))

    def tearDown(self):
        self.dir.cleanup()

    def test_sorted_and_filtered(self):
        self.assertEqual([g.id for g in r.find_games(self.root)], ["a-task/trial_1", "b-task/trial_2"])
        self.assertEqual([g.id for g in r.find_games(self.root, limit=1)], ["a-task/trial_1"])

    def test_order(self):
        order = self.root / "order.txt"
        order.write_text("b-task/trial_2\na-task/trial_1\n")
        self.assertEqual([g.id for g in r.find_games(self.root, order)], ["b-task/trial_2", "a-task/trial_1"])
        order.write_text("z-task/trial_9\n")
        with self.assertRaises(SystemExit):
            r.find_games(self.root, order)

    def test_bad_inputs(self):
        with self.assertRaises(SystemExit):
            r.find_games(self.root / "json_2.1.1" / "valid_unseen" / "c-task")  # nothing solvable
        bad = self.root / "json_2.1.1" / "valid_unseen" / "d-task" / "trial_5"
        bad.mkdir(parents=True)
        (bad / "game.tw-pddl").write_text("{not json")
        with self.assertRaises(SystemExit):
            r.find_games(self.root)


class StreamTest(unittest.TestCase):
    def test_deterministic_mix(self):
        game = r.Game("task/trial", Path("unused"))
        adm = ["go to desk 1", "go to shelf 2", "inventory", "look"]

        def stream(seed):
            mk = r.StreamMaker(seed, game, "classic", "random")
            mk.observe("On the desk 1, you see a pen 1, and a mug 2.", adm)
            return [mk.random_step(adm) for _ in range(300)]

        a = stream(42)
        self.assertEqual(a, stream(42))
        self.assertNotEqual(a, stream(7))
        admissible = sum(c in adm for c in a)
        self.assertGreater(admissible, 150)
        self.assertLess(admissible, 270)
        self.assertTrue(any(c.startswith("examine ") for c in a))
        self.assertTrue(any(c not in adm and not c.startswith("examine ") for c in a))
        self.assertFalse(any("loc " in c and c != "go to loc 1" for c in a))


if __name__ == "__main__":
    unittest.main()
