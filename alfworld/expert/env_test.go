package expert

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/scene"
	"github.com/gantry-dev/gantry/internal/alfdata"
)

var (
	realOnce  sync.Once
	realKeys  []string
	realByKey map[string]*alfworld.Game
	realErr   error
)

// realGames parses the 134 real games once per test binary (games are
// read-only; every test makes its own Envs).
func realGames(t testing.TB) ([]string, map[string]*alfworld.Game) {
	t.Helper()
	files := alfdata.Games(t)
	realOnce.Do(func() {
		realByKey = map[string]*alfworld.Game{}
		for k, data := range files {
			g, err := alfworld.ParseGameFile(data)
			if err != nil {
				realErr = fmt.Errorf("%s: %w", k, err)
				return
			}
			realByKey[k] = g
			realKeys = append(realKeys, k)
		}
		sort.Strings(realKeys)
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realKeys, realByKey
}

// play steps a plan through env and reports the observations.
func play(t testing.TB, env *alfworld.Env, cmds []string) []string {
	t.Helper()
	var obs []string
	for _, c := range cmds {
		if env.Done() {
			t.Fatalf("episode over before %q", c)
		}
		o, _, _ := env.Step(c)
		if o == alfworld.NothingHappens {
			t.Fatalf("%q: %s", c, o)
		}
		obs = append(obs, o)
	}
	return obs
}

// TestExpertWinsRealGames plays the expert's plan in every one of the 134
// real games, in both grammars, through the engine.
func TestExpertWinsRealGames(t *testing.T) {
	keys, games := realGames(t)
	if len(keys) != 134 {
		t.Fatalf("%d games, want 134", len(keys))
	}
	for _, gr := range []alfworld.Grammar{alfworld.Classic, alfworld.Current} {
		won, maxSteps, total := 0, 0, 0
		perKind := map[scene.Kind]int{}
		for _, k := range keys {
			env := alfworld.NewEnv(games[k], alfworld.Options{Grammar: gr})
			env.Reset()
			cmds, err := Plan(env)
			if err != nil {
				t.Errorf("%s (%s): %v", k, gr, err)
				continue
			}
			play(t, env, cmds)
			if !env.Won() || !env.Done() {
				t.Errorf("%s (%s): plan %q does not win", k, gr, cmds)
				continue
			}
			won++
			total += len(cmds)
			maxSteps = max(maxSteps, len(cmds))
			task, _ := scene.TaskOfGoal(games[k].Goal)
			perKind[task.Kind]++
		}
		t.Logf("%s grammar: won %d of %d real games, %.2f steps on average, at most %d; by type %v",
			gr, won, len(keys), float64(total)/float64(len(keys)), maxSteps, perKind)
		if won != len(keys) {
			t.Errorf("%s grammar: won %d of %d", gr, won, len(keys))
		}
	}
}

// TestNextTurnByTurn drives every real game one Next per turn, as a
// text-mode agent does.
func TestNextTurnByTurn(t *testing.T) {
	keys, games := realGames(t)
	for _, k := range keys {
		env := alfworld.NewEnv(games[k], alfworld.Options{})
		env.Reset()
		for !env.Done() {
			c, err := Next(env)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if c == "" {
				t.Fatalf("%s: Next gives nothing before the game is won", k)
			}
			env.Step(c)
		}
		if !env.Won() {
			t.Errorf("%s: not won after %d steps", k, env.Steps())
		}
		if c, err := Next(env); err != nil || c != "" {
			t.Errorf("%s: Next after the win = %q, %v; want \"\"", k, c, err)
		}
	}
}

// TestExpertWinsGeneratedGames generates games, loads their PDDL with the
// engine's parser and wins them with the expert; the engine's reading of
// each game must agree with the generator's scene.
func TestExpertWinsGeneratedGames(t *testing.T) {
	g := scene.Default()
	const n = 600
	won, total, maxSteps := 0, 0, 0
	for seed := int64(0); seed < n; seed++ {
		s, err := g.Generate(seed, scene.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var game *alfworld.Game
		if seed%10 == 0 {
			data, err := g.MarshalGameFile(s)
			if err != nil {
				t.Fatal(err)
			}
			game, err = alfworld.ParseGameFile(data)
			if err != nil {
				t.Fatalf("seed %d: engine rejects the game file: %v", seed, err)
			}
		} else {
			text, err := g.ProblemText(s)
			if err != nil {
				t.Fatal(err)
			}
			game, err = alfworld.ParseProblem([]byte(text), s.Task.Text)
			if err != nil {
				t.Fatalf("seed %d: engine rejects the problem: %v", seed, err)
			}
		}
		if len(game.Receptacles) != len(s.Receptacles) || len(game.Objects) != len(s.Objects) {
			t.Fatalf("seed %d: engine reads %d receptacles and %d objects, scene has %d and %d",
				seed, len(game.Receptacles), len(game.Objects), len(s.Receptacles), len(s.Objects))
		}
		if want := strings.TrimPrefix(s.Task.Text, "Your task is to: "); game.Task != want {
			t.Fatalf("seed %d: engine task %q, want %q", seed, game.Task, want)
		}
		env := alfworld.NewEnv(game, alfworld.Options{Grammar: alfworld.Grammar(seed % 2)})
		env.Reset()
		if env.Won() {
			t.Fatalf("seed %d: won before the first step", seed)
		}
		cmds, err := Plan(env)
		if err != nil {
			t.Fatalf("seed %d (%s): %v", seed, s.Task.Text, err)
		}
		play(t, env, cmds)
		if !env.Won() {
			t.Fatalf("seed %d (%s): plan %q does not win", seed, s.Task.Text, cmds)
		}
		won++
		total += len(cmds)
		maxSteps = max(maxSteps, len(cmds))
	}
	t.Logf("won %d of %d generated games, %.2f steps on average, at most %d", won, n, float64(total)/n, maxSteps)
}

// TestGoldenTrajectories records the expert's commands and the engine's
// observations for a few real and generated games (-update rewrites).
func TestGoldenTrajectories(t *testing.T) {
	keys, games := realGames(t)
	var b strings.Builder
	record := func(name string, game *alfworld.Game) {
		env := alfworld.NewEnv(game, alfworld.Options{})
		fmt.Fprintf(&b, "## %s\n%s\n", name, env.Reset())
		cmds, err := Plan(env)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			obs, done, won := env.Step(c)
			fmt.Fprintf(&b, "> %s\n%s\n", c, obs)
			if done {
				fmt.Fprintf(&b, "[done, won=%v]\n", won)
			}
		}
		b.WriteString("\n")
	}
	seen := map[string]bool{}
	for _, k := range keys { // the first game of each task type
		kind, _, _ := strings.Cut(k, "-")
		if !seen[kind] {
			seen[kind] = true
			record(k, games[k])
		}
	}
	g := scene.Default()
	for i, kind := range scene.Kinds() {
		s, err := g.Generate(int64(200+i), scene.Options{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		text, _ := g.ProblemText(s)
		game, err := alfworld.ParseProblem([]byte(text), s.Task.Text)
		if err != nil {
			t.Fatal(err)
		}
		record(fmt.Sprintf("generated seed %d", 200+i), game)
	}
	golden := filepath.Join("testdata", "trajectories.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("trajectories differ from %s (-update rewrites it)", golden)
	}
}
