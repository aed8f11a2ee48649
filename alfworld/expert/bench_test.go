package expert

import (
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/scene"
)

func BenchmarkPlan(b *testing.B) {
	g := scene.Default()
	var worlds []*World
	for seed := int64(0); seed < 60; seed++ {
		s, err := g.Generate(seed, scene.Options{Kind: scene.Kinds()[seed%6]})
		if err != nil {
			b.Fatal(err)
		}
		worlds = append(worlds, worldOfScene(s, g.Tables()))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := PlanWorld(worlds[i%len(worlds)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateAndSolve is one generated game end to end on this
// package's side: generate, render the PDDL, read it back, plan.
func BenchmarkGenerateAndSolve(b *testing.B) {
	g := scene.Default()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, err := g.Generate(int64(i), scene.Options{})
		if err != nil {
			b.Fatal(err)
		}
		text, err := g.ProblemText(s)
		if err != nil {
			b.Fatal(err)
		}
		p, err := scene.ReadProblem(text)
		if err != nil {
			b.Fatal(err)
		}
		back, err := scene.FromProblem(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := PlanWorld(worldOfScene(back, g.Tables())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEpisodeGenerated is one generated game played by the expert
// through the engine, as `gantry eval` runs it: generate, render, parse
// with the engine, reset, plan and step to the win.
func BenchmarkEpisodeGenerated(b *testing.B) {
	g := scene.Default()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, err := g.Generate(int64(i), scene.Options{})
		if err != nil {
			b.Fatal(err)
		}
		game, err := g.Game(s)
		if err != nil {
			b.Fatal(err)
		}
		env := alfworld.NewEnv(game, alfworld.Options{})
		env.Reset()
		cmds, err := Plan(env)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cmds {
			env.Step(c)
		}
		if !env.Won() {
			b.Fatalf("seed %d not won", i)
		}
	}
}

// BenchmarkPlanEnv is Plan on a live engine state (a real kitchen game).
func BenchmarkPlanEnv(b *testing.B) {
	keys, games := realGames(b)
	var env *alfworld.Env
	for _, k := range keys {
		if strings.HasPrefix(k, "pick_heat") {
			env = alfworld.NewEnv(games[k], alfworld.Options{})
			break
		}
	}
	env.Reset()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Plan(env); err != nil {
			b.Fatal(err)
		}
	}
}
