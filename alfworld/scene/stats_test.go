package scene

import (
	"os"

	"github.com/gantry-dev/gantry/alfworld"
	"path/filepath"
	"testing"
)

// realScenes reads the 134 real games with the engine's parser, grouped
// by room.
func realScenes(t testing.TB) map[Room][]*Scene {
	out := map[Room][]*Scene{}
	for _, g := range loadReal(t) {
		game, err := alfworld.ParseProblem([]byte(g.File.Problem), "")
		if err != nil {
			t.Fatalf("%s: %v", g.Path, err)
		}
		s, err := FromGame(game)
		if err != nil {
			t.Fatalf("%s: %v", g.Path, err)
		}
		room, err := RoomOfFloorPlan(g.FloorPlan)
		if err != nil {
			t.Fatal(err)
		}
		s.Room = room
		out[room] = append(out[room], s)
	}
	return out
}

// TestStatsCloseToReal generates games in each room and checks their
// statistics against the real games' within DefaultTolerance. Both sides
// are read by the engine's parser from their PDDL text.
func TestStatsCloseToReal(t *testing.T) {
	real := realScenes(t)
	g := Default()
	realStats, genStats := map[Room]Stats{}, map[Room]Stats{}
	const perRoom = 300
	for _, room := range rooms {
		var gen []*Scene
		for seed := int64(0); seed < perRoom; seed++ {
			s, err := g.Generate(seed, Options{Room: room})
			if err != nil {
				t.Fatalf("%s seed %d: %v", room, seed, err)
			}
			text, err := g.ProblemText(s)
			if err != nil {
				t.Fatal(err)
			}
			game, err := alfworld.ParseProblem([]byte(text), s.Task.Text)
			if err != nil {
				t.Fatalf("%s seed %d: engine rejects the problem: %v", room, seed, err)
			}
			back, err := FromGame(game)
			if err != nil {
				t.Fatal(err)
			}
			gen = append(gen, back)
		}
		realStats[room], genStats[room] = Measure(real[room]), Measure(gen)
		for _, bad := range Compare(realStats[room], genStats[room], DefaultTolerance()) {
			t.Errorf("%s: %s", room, bad)
		}
	}
	table := Table(rooms[:], realStats, genStats)
	t.Logf("real / generated:\n%s", table)
	golden := filepath.Join("testdata", "stats.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != table {
		t.Errorf("statistics changed; if intended, run go test ./alfworld/scene -run TestStats -update and update docs/alfworld-scene.md\n%s", table)
	}
}
