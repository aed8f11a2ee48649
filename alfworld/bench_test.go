package alfworld

import (
	"math/rand"
	"testing"

	"github.com/gantry-dev/gantry/internal/alfdata"
)

// mixedStream is a seeded command stream over a game: mostly admissible
// commands, some look/inventory and rejected ones.
func mixedStream(g *Game, n int) []string {
	rng := rand.New(rand.NewSource(1))
	env := NewEnv(g, Options{MaxSteps: -1})
	env.Reset()
	var out []string
	for len(out) < n {
		adm := env.Admissible()
		var c string
		switch x := rng.Intn(10); {
		case x < 7:
			c = adm[rng.Intn(len(adm))]
		case x < 8:
			c = "look"
		case x < 9:
			c = "jump"
		default:
			c = "take mug 9 from desk 9"
		}
		out = append(out, c)
		env.Step(c)
		if env.Won() {
			env.Reset()
		}
	}
	return out
}

func benchGames(b *testing.B) []*Game {
	var gs []*Game
	data := alfdata.Games(b)
	for _, k := range sortedKeys(data) {
		g, err := ParseGameFile(data[k])
		if err != nil {
			b.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gs
}

func benchSteps(b *testing.B, admissible bool) {
	gs := benchGames(b)
	envs := make([]*Env, len(gs))
	streams := make([][]string, len(gs))
	for i, g := range gs {
		envs[i] = NewEnv(g, Options{MaxSteps: -1})
		envs[i].Reset()
		streams[i] = mixedStream(g, 200)
	}
	buf := make([]byte, 0, 4096)
	adm := make([]string, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	gi, si := 0, 0
	for i := 0; i < b.N; i++ {
		env := envs[gi]
		buf, _, _ = env.StepAppend(buf[:0], streams[gi][si])
		if admissible {
			adm = env.AppendAdmissible(adm[:0])
		}
		si++
		if si == len(streams[gi]) {
			env.Reset()
			si = 0
			gi = (gi + 1) % len(gs)
		}
	}
}

func BenchmarkStep(b *testing.B)           { benchSteps(b, false) }
func BenchmarkStepAdmissible(b *testing.B) { benchSteps(b, true) }

func BenchmarkReset(b *testing.B) {
	gs := benchGames(b)
	env := NewEnv(gs[0], Options{})
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = env.ResetAppend(buf[:0])
	}
}

func BenchmarkLoad(b *testing.B) {
	data := alfdata.Games(b)
	keys := sortedKeys(data)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseGameFile(data[keys[i%len(keys)]]); err != nil {
			b.Fatal(err)
		}
	}
}
