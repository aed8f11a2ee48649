package games

import (
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
)

func TestValidUnseen(t *testing.T) {
	all, err := ValidUnseen()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 134 {
		t.Fatalf("%d games, want 134", len(all))
	}
	counts := map[alfworld.TaskType]int{}
	for _, g := range all {
		game, err := g.Load()
		if err != nil {
			t.Fatal(err)
		}
		counts[game.TaskType]++
	}
	// The split's composition (ReAct's table): 24 put, 18 examine, 31 clean,
	// 23 heat, 21 cool, 17 put two.
	want := map[alfworld.TaskType]int{alfworld.Put: 24, alfworld.Examine: 18, alfworld.Clean: 31, alfworld.Heat: 23, alfworld.Cool: 21, alfworld.PutTwo: 17}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%v: %d games, want %d", k, counts[k], v)
		}
	}
	g, err := Find(all[3].ID)
	if err != nil || g.ID != all[3].ID {
		t.Fatalf("Find: %v %v", g.ID, err)
	}
	if _, err := Find("nope/trial"); err == nil {
		t.Fatal("Find of a missing game succeeded")
	}
}
