package scene

import (
	"os"
	"path/filepath"
	"testing"
)

// realScenes reads the 134 real games as scenes, grouped by room.
func realScenes(t testing.TB) map[Room][]*Scene {
	out := map[Room][]*Scene{}
	for _, g := range loadReal(t) {
		s, err := FromProblem(g.Problem)
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
// statistics against the real games' within DefaultTolerance.
func TestStatsCloseToReal(t *testing.T) {
	real := realScenes(t)
	g := Default()
	realStats, genStats := map[Room]Stats{}, map[Room]Stats{}
	const perRoom = 300
	for _, room := range Rooms {
		var gen []*Scene
		for seed := int64(0); seed < perRoom; seed++ {
			s, err := g.Generate(seed, Options{Room: room})
			if err != nil {
				t.Fatalf("%s seed %d: %v", room, seed, err)
			}
			gen = append(gen, s)
		}
		realStats[room], genStats[room] = Measure(real[room]), Measure(gen)
		for _, bad := range Compare(realStats[room], genStats[room], DefaultTolerance) {
			t.Errorf("%s: %s", room, bad)
		}
	}
	table := Table(Rooms, realStats, genStats)
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
