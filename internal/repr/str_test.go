package repr

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStr compares Str with CPython 3.11's repr; the wanted texts were
// printed by `python3 -c 'print(repr(s))'` for each case.
func TestStr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `''`},
		{"a", `'a'`},
		{"it's", `"it's"`},
		{`"q"`, `'"q"'`},
		{`"q" 'q'`, `'"q" \'q\''`},
		{"tab\tnl\n\r\x00\x7f", `'tab\tnl\n\r\x00\x7f'`},
		{"é", `'é'`},
		{"\u0080\u009f\u00a0\u00ad", `'\x80\x9f\xa0\xad'`},
		{"\u200b zero width", `'\u200b zero width'`},
		{"\u2028\u2029", `'\u2028\u2029'`},
		{"\U0001F600", "'\U0001F600'"},
		{"\U000e0001", `'\U000e0001'`},
		{"back\\slash", `'back\\slash'`},
		{"ünïcödé ✓", `'ünïcödé ✓'`},
		{"\x1b[31m", `'\x1b[31m'`},
		// Not UTF-8: the bytes Python's surrogateescape would hold.
		{"\xff\xfe", `'\udcff\udcfe'`},
	} {
		if got := Str(c.in); got != c.want {
			t.Errorf("Str(%q) = %s, want %s", c.in, got, c.want)
		}
		if got, want := StrLen(c.in), len(c.want); got != want {
			t.Errorf("StrLen(%q) = %d, want %d", c.in, got, want)
		}
	}
}

func FuzzStr(f *testing.F) {
	for _, s := range []string{"", "it's", "\x00\u200b\U000e0001", "é\xff", strings.Repeat(`"'`, 10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Str(s)
		if StrLen(s) != len(q) {
			t.Fatalf("StrLen(%q) = %d, len(Str) = %d", s, StrLen(s), len(q))
		}
		if !utf8.ValidString(q) {
			t.Fatalf("Str(%q) = %q is not UTF-8", s, q)
		}
		if q[0] != q[len(q)-1] || (q[0] != '\'' && q[0] != '"') {
			t.Fatalf("Str(%q) = %s is not quoted", s, q)
		}
		for _, c := range q[1 : len(q)-1] {
			if c == '\n' || c == '\r' || c < ' ' {
				t.Fatalf("Str(%q) = %q holds a raw control character", s, q)
			}
		}
	})
}
