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

// TestSetUnpacksOnce: a Set unpacks the archive once: every lookup shares
// the same game data, and All gives each caller its own slice.
func TestSetUnpacksOnce(t *testing.T) {
	s := NewSet()
	a, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Find(a[5].ID)
	if err != nil {
		t.Fatal(err)
	}
	if &g.Data[0] != &a[5].Data[0] {
		t.Error("Find unpacked the archive again")
	}
	b, _ := s.All()
	if &b[0].Data[0] != &a[0].Data[0] {
		t.Error("All unpacked the archive again")
	}
	b[0] = Game{}
	if c, _ := s.All(); c[0].ID != a[0].ID {
		t.Error("a caller's change to All's slice reached the set")
	}
	if _, err := s.Find("json_2.1.1/valid_unseen/" + a[7].ID + "/game.tw-pddl"); err != nil {
		t.Errorf("Find by path: %v", err)
	}
	if _, err := s.Find("nope/trial"); err == nil {
		t.Error("Find of a missing game succeeded")
	}
}

// BenchmarkFind: looking up games one at a time, unpacking each time (the
// package's Find) and through one Set.
func BenchmarkFind(b *testing.B) {
	all, err := ValidUnseen()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Find", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Find(all[i%len(all)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Set.Find", func(b *testing.B) {
		s := NewSet()
		for i := 0; i < b.N; i++ {
			if _, err := s.Find(all[i%len(all)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
