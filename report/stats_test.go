package report

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 5e-5 }

// TestWilson: published values of the Wilson score interval.
func TestWilson(t *testing.T) {
	tests := []struct {
		x, n      int
		low, high float64
	}{
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{81, 263, 0.2553, 0.3662}, // Newcombe (1998), the single proportion's example
	}
	for _, tc := range tests {
		got := Wilson(tc.x, tc.n)
		if !near(got.Low, tc.low) || !near(got.High, tc.high) {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tc.x, tc.n, got.Low, got.High, tc.low, tc.high)
		}
	}
}

// TestDiffUnpaired: Newcombe's (1998) worked example of method 10,
// 56/70 − 48/80 = 0.2000, 95% CI 0.0524 to 0.3339.
func TestDiffUnpaired(t *testing.T) {
	got := DiffUnpaired(56, 70, 48, 80)
	if !near(got.Estimate, 0.2) || !near(got.Low, 0.0524) || !near(got.High, 0.3339) {
		t.Fatalf("got %+v", got)
	}
}

// TestDiffPaired: properties of the paired interval.
func TestDiffPaired(t *testing.T) {
	tests := []struct{ a, b, c, d int }{{12, 9, 2, 21}, {0, 0, 0, 6}, {3, 0, 0, 3}, {1, 4, 0, 1}, {0, 6, 0, 0}, {40, 5, 9, 80}}
	for _, tc := range tests {
		got := DiffPaired(tc.a, tc.b, tc.c, tc.d)
		n := tc.a + tc.b + tc.c + tc.d
		if !near(got.Estimate, float64(tc.b-tc.c)/float64(n)) {
			t.Errorf("%v: estimate %v", tc, got.Estimate)
		}
		if got.Low > got.Estimate || got.High < got.Estimate || got.Low < -1 || got.High > 1 {
			t.Errorf("%v: interval %+v does not hold its estimate", tc, got)
		}
		// Swapping the two runs mirrors the interval.
		sw := DiffPaired(tc.a, tc.c, tc.b, tc.d)
		if !near(sw.Low, -got.High) || !near(sw.High, -got.Low) {
			t.Errorf("%v: swapped %+v, not the mirror of %+v", tc, sw, got)
		}
		// Pairing never widens the interval of positively correlated runs.
		if tc.a*tc.d > tc.b*tc.c {
			un := DiffUnpaired(tc.a+tc.b, n, tc.a+tc.c, n)
			if got.High-got.Low > un.High-un.Low+1e-12 {
				t.Errorf("%v: paired %+v wider than unpaired %+v", tc, got, un)
			}
		}
	}
	// No discordant games: the difference is 0 and the interval holds it.
	if got := DiffPaired(3, 0, 0, 3); got.Estimate != 0 || got.Low >= 0 || got.High <= 0 {
		t.Fatalf("no discordant pairs: %+v", got)
	}
}

func FuzzDiffPaired(f *testing.F) {
	f.Add(uint8(12), uint8(9), uint8(2), uint8(21))
	f.Fuzz(func(t *testing.T, a, b, c, d uint8) {
		got := DiffPaired(int(a), int(b), int(c), int(d))
		if math.IsNaN(got.Low) || math.IsNaN(got.High) || got.Low > got.Estimate+1e-12 || got.High < got.Estimate-1e-12 {
			t.Fatalf("%d %d %d %d: %+v", a, b, c, d, got)
		}
	})
}
