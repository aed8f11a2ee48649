package tool

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-0.5, "-0.5"}, {0.1, "0.1"}, {0.0001, "0.0001"}, {1.5e-5, "1.5e-05"},
		{1e6, "1000000.0"}, {1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {1.2345678901234568e+17, "1.2345678901234568e+17"},
		{1e300, "1e+300"}, {math.NaN(), "nan"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	}
	for _, tt := range tests {
		if got := FormatFloat(tt.f); got != tt.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("a", 50) + strings.Repeat("é", 50) + strings.Repeat("b", 50)
	tests := []struct {
		name string
		s    string
		max  int
		want string
		cut  bool
	}{
		{"short", "hello", 10, "hello", false},
		{"no limit", long, 0, long, false},
		{"ascii", strings.Repeat("x", 100), 40, strings.Repeat("x", 4) + "\n[... 91 bytes truncated ...]\n" + strings.Repeat("x", 5), true},
		// A limit below the marker's length keeps the marker alone.
		{"tiny limit", strings.Repeat("x", 100), 5, "\n[... 100 bytes truncated ...]\n", true},
	}
	for _, tt := range tests {
		got, cut := Truncate(tt.s, tt.max)
		if got != tt.want || cut != tt.cut {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, got, cut, tt.want, tt.cut)
		}
	}
	// Cuts fall on rune boundaries, and what is kept fits.
	for max := 40; max < len(long); max += 7 {
		got, _ := Truncate(long, max)
		if !utf8.ValidString(got) || len(got) > max {
			t.Errorf("max %d: %q (%d bytes)", max, got, len(got))
		}
	}
}

// TruncateParts on a head and tail kept by a buffer gives what Truncate
// gives on the whole text.
func TestTruncateParts(t *testing.T) {
	text := strings.Repeat("0123456789", 30) + "€" + strings.Repeat("abcdefghij", 30)
	for max := 40; max < 200; max += 13 {
		want, _ := Truncate(text, max)
		head, tail := text[:max], text[len(text)-max:]
		if got := TruncateParts(head, tail, len(text), max); got != want {
			t.Errorf("max %d: got %q, want %q", max, got, want)
		}
	}
}
