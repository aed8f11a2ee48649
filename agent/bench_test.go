package agent

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/task/alfworldtask"
)

// BenchmarkTurn measures the loop's overhead per turn with the expert
// policy in text format: everything but a model (prompt rendering, parsing,
// the tool call, observation formatting, transcript), per turn.
func BenchmarkTurn(b *testing.B) {
	benchEpisodes(b, Text)
}

// BenchmarkCodeEpisode is one code-format episode: the expert writes a
// program, Starlark runs it against the engine.
func BenchmarkCodeEpisode(b *testing.B) {
	benchEpisodes(b, Code)
}

func benchEpisodes(b *testing.B, f Format) {
	all, err := games.ValidUnseen()
	if err != nil {
		b.Fatal(err)
	}
	var loaded []*alfworld.Game
	for _, eg := range all[:20] {
		g, err := eg.Load()
		if err != nil {
			b.Fatal(err)
		}
		loaded = append(loaded, g)
	}
	spec := Spec{Config: Config{Format: f, MaxTurns: 30}, NewRuntime: starlark}
	turns := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		te, err := alfworldtask.Start(loaded[i%len(loaded)], alfworldtask.Options{Example: true})
		if err != nil {
			b.Fatal(err)
		}
		ep, cleanup, err := NewEpisode(context.Background(), "g", te, spec)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := ep.Run(context.Background())
		cleanup()
		if err != nil || !tr.Success {
			b.Fatalf("%v %s", err, tr.StopReason)
		}
		turns += len(tr.Turns)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(turns), "ns/turn")
}
