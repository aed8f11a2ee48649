package repr

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHead(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		u    Unit
		want string
		cut  bool
	}{
		{"bytes, short", "short", 10, Bytes, "short", false},
		{"bytes, exact", "exactly10!", 10, Bytes, "exactly10!", false},
		{"bytes, long", "eleven char", 10, Bytes, "eleven cha", true},
		{"bytes, not inside a character", "aé", 2, Bytes, "a", true},
		{"bytes, none kept", "é", 0, Bytes, "", true},
		{"chars, short", "ééé", 3, Chars, "ééé", false},
		{"chars, long", "éééé", 3, Chars, "ééé", true},
		{"chars, none kept", "é", 0, Chars, "", true},
		{"chars, an invalid byte is one character", "a\xffbc", 3, Chars, "a\uFFFDb", true},
		{"chars, invalid bytes kept whole", "a\xffb", 3, Chars, "a\xffb", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := Head(tc.s, tc.max, tc.u)
			if got != tc.want || cut != tc.cut {
				t.Errorf("Head(%q, %d, %v) = %q, %v; want %q, %v", tc.s, tc.max, tc.u, got, cut, tc.want, tc.cut)
			}
		})
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"eleven char", 4, "char", true},
		{"aéb", 2, "b", true}, // not from inside é
		{"abc", 0, "", true},
	}
	for _, tc := range tests {
		if got, cut := Tail(tc.s, tc.max); got != tc.want || cut != tc.cut {
			t.Errorf("Tail(%q, %d) = %q, %v; want %q, %v", tc.s, tc.max, got, cut, tc.want, tc.cut)
		}
	}
}

func TestCountMark(t *testing.T) {
	if got := CountMark(1234); got != "... (1234 bytes)" {
		t.Errorf("CountMark = %q", got)
	}
}

// FuzzHead: a head in bytes is a prefix that ends at a character boundary
// and keeps all it may; a head in characters is what the []rune
// conversion keeps (M3ToolEval's reference cut).
func FuzzHead(f *testing.F) {
	f.Add("héllo wörld", 3)
	f.Add("a\xff\xfeb", 2)
	f.Add(strings.Repeat("日本", 10), 7)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		h, cut := Head(s, max, Bytes)
		if !strings.HasPrefix(s, h) || len(h) > max && cut || cut != (len(s) > max) {
			t.Fatalf("Head(%q, %d, Bytes) = %q, %v", s, max, h, cut)
		}
		if cut && utf8.ValidString(s) && max-len(h) >= utf8.UTFMax {
			t.Fatalf("Head(%q, %d, Bytes) = %q kept too little", s, max, h)
		}
		r := []rune(s)
		want := s
		if len(r) > max {
			want = string(r[:max])
		}
		if hc, cut := Head(s, max, Chars); hc != want || cut != (len(r) > max) {
			t.Fatalf("Head(%q, %d, Chars) = %q, %v; want %q", s, max, hc, cut, want)
		}
		tl, tcut := Tail(s, max)
		if !strings.HasSuffix(s, tl) || len(tl) > max || tcut != (len(s) > max) {
			t.Fatalf("Tail(%q, %d) = %q, %v", s, max, tl, tcut)
		}
	})
}
