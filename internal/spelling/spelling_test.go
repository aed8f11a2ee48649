package spelling

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"workers", "workers", 0},
		{"wrokers", "workers", 1}, // a swap of neighbours is one edit
		{"worker", "workers", 1},
		{"workerss", "workers", 1},
		{"wonkers", "workers", 1},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"drive", "driev", 1},
		{"kitten", "sitting", 3},
		{strings.Repeat("a", 65), strings.Repeat("a", 65), 0},
		{strings.Repeat("a", 65), strings.Repeat("a", 64) + "b", Far},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	within2 := func(name, c string, d int) bool { return d < 3 && d < len(name) && d < len(c) }
	third := func(name, _ string, d int) bool { return d < len(name)/3+2 }
	for _, c := range []struct {
		name       string
		candidates []string
		opt        Options
		want       string
	}{
		{"rovr", []string{"rover", "arm"}, Options{Near: within2}, "rover"},
		{"ROVER", []string{"rover"}, Options{FoldCase: true, Near: within2}, "rover"},
		{"ROVER", []string{"rover"}, Options{Near: within2}, ""},
		{"x", []string{"y", "arm"}, Options{Near: within2}, ""},        // one letter: any name is one edit away
		{"bat", []string{"cat", "hat"}, Options{Near: within2}, "cat"}, // ties: sorted order
		{"wrokers", []string{"workers", "wall-time"}, Options{Near: third}, "workers"},
		{"model-timout", []string{"model", "model-timeout"}, Options{Near: third}, "model-timeout"},
		{"zzzzzz", []string{"workers"}, Options{Near: third}, ""},
		{"", nil, Options{Near: third}, ""},
	} {
		if got := Nearest(c.name, c.candidates, c.opt); got != c.want {
			t.Errorf("Nearest(%q, %q) = %q, want %q", c.name, c.candidates, got, c.want)
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("workers", "wrokers")
	f.Add("", "abc")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Distance(a, b)
		if d != Distance(b, a) {
			t.Fatalf("Distance(%q, %q) is not symmetric", a, b)
		}
		if (d == 0) != (a == b) {
			t.Fatalf("Distance(%q, %q) = %d", a, b, d)
		}
		if d != Far && d > max(len(a), len(b)) {
			t.Fatalf("Distance(%q, %q) = %d exceeds the longer length", a, b, d)
		}
	})
}
