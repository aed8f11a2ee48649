package scene

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDumpGames writes generated game files to $SCENE_DUMP (a manual aid
// for loading them in the reference engine); it does nothing otherwise.
func TestDumpGames(t *testing.T) {
	dir := os.Getenv("SCENE_DUMP")
	if dir == "" {
		return
	}
	g := Default()
	for seed := int64(0); seed < 12; seed++ {
		s, err := g.Generate(seed, Options{Kind: kinds[seed%6]})
		if err != nil {
			t.Fatal(err)
		}
		data, err := g.MarshalGameFile(s)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, s.TaskDir(), s.TrialDir())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "game.tw-pddl"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
