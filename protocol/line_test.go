package protocol

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll collects lines and "TOO_LONG" markers until EOF.
func readAll(t testing.TB, r io.Reader, max int) []string {
	lr := NewLineReaderSize(r, max)
	var out []string
	for {
		line, err := lr.Next()
		if errors.Is(err, ErrLineTooLong) {
			out = append(out, "TOO_LONG")
			continue
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, string(line))
	}
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"simple", "a\nb\n", 10, []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", 10, []string{"a", "b"}},
		{"blank lines skipped", "\n\r\n  \na\n\n", 10, []string{"a"}},
		{"unterminated tail dropped", "a\nhalf", 10, []string{"a"}},
		{"exactly max with newline", "123456789\n", 10, []string{"123456789"}},
		{"one over max", "1234567890\nok\n", 10, []string{"TOO_LONG", "ok"}},
		{"far over max", strings.Repeat("x", 100) + "\nok\n", 10, []string{"TOO_LONG", "ok"}},
		{"two long lines", strings.Repeat("x", 30) + "\n" + strings.Repeat("y", 30) + "\nz\n", 10, []string{"TOO_LONG", "TOO_LONG", "z"}},
		{"garbage kept as a line", "\x00\xff{\nok\n", 10, []string{"\x00\xff{", "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and one byte at a time (partial lines across reads).
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got := readAll(t, r, tt.max)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestLineReaderProtocolLimit(t *testing.T) {
	ok := strings.Repeat("a", MaxLine-1) + "\n"
	long := strings.Repeat("b", MaxLine) + "\n"
	got := readAll(t, strings.NewReader(ok+long+"x\n"), MaxLine)
	if len(got) != 3 || len(got[0]) != MaxLine-1 || got[1] != "TOO_LONG" || got[2] != "x" {
		t.Errorf("got %d lines: first len %d, then %q", len(got), len(got[0]), got[1:])
	}
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)))
	if l, err := lr.Next(); err != nil || string(l) != "a" {
		t.Fatalf("first line %q %v", l, err)
	}
	if _, err := lr.Next(); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"a\nb\n", "\r\n\n", strings.Repeat("x", 40) + "\ny\n", "{\"id\":1}\r\n", "half"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 16
		got := readAll(t, bytes.NewReader(in), max)
		// Reference: split at newlines; drop the unterminated tail.
		var want []string
		parts := strings.Split(string(in), "\n")
		for _, p := range parts[:len(parts)-1] {
			switch {
			case len(p)+1 > max:
				want = append(want, "TOO_LONG")
			case strings.TrimSpace(strings.TrimSuffix(p, "\r")) == "":
			default:
				want = append(want, strings.TrimSuffix(p, "\r"))
			}
		}
		if strings.Join(got, "\x01") != strings.Join(want, "\x01") {
			t.Fatalf("input %q: got %q, want %q", in, got, want)
		}
		got1 := readAll(t, iotest.OneByteReader(bytes.NewReader(in)), max)
		if strings.Join(got1, "\x01") != strings.Join(want, "\x01") {
			t.Fatalf("input %q byte by byte: got %q, want %q", in, got1, want)
		}
	})
}
