package expert

import (
	"testing"

	"github.com/gantry-dev/gantry/alfworld/scene"
)

func BenchmarkPlan(b *testing.B) {
	g := scene.Default()
	var worlds []*World
	for seed := int64(0); seed < 60; seed++ {
		s, err := g.Generate(seed, scene.Options{Kind: scene.Kinds[seed%6]})
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
