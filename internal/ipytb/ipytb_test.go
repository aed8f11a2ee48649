package ipytb

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// golden is a case of testdata/ipython8.json: cells run in IPython and what
// it printed (see testdata/README.md).
type golden struct {
	Name    string   `json:"name"`
	Cells   []string `json:"cells"`
	Results []struct {
		Stdout  string  `json:"stdout"`
		Type    string  `json:"type"`
		Message string  `json:"message"`
		Frames  []Frame `json:"frames"`
	} `json:"results"`
}

func loadGolden(t *testing.T) []golden {
	t.Helper()
	data, err := os.ReadFile("testdata/ipython8.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []golden
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestTracebackMatchesIPython lays out every recorded exception and
// compares it with what IPython 8 printed, byte for byte (after the
// output the cell printed first, and without trailing white space, as MINT
// stripped it); once with the parameter lists IPython gave, once with
// those read from the source.
func TestTracebackMatchesIPython(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			h := NewHistory(0)
			for i, code := range c.Cells {
				h.Add(i+1, code)
			}
			r := c.Results[len(c.Results)-1]
			if r.Type == "" {
				t.Fatal("the case raised nothing")
			}
			want := r.Stdout[strings.Index(r.Stdout, strings.Repeat("-", 75)):]
			want = strings.TrimRight(want, " \n")
			if got := Traceback(r.Type, r.Message, r.Frames, h); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			derived := make([]Frame, len(r.Frames))
			for i, f := range r.Frames {
				f.Args = ""
				derived[i] = f
			}
			if got := Traceback(r.Type, r.Message, derived, h); got != want {
				t.Errorf("with parameters from the source: got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestSyntax(t *testing.T) {
	tests := []struct {
		cell     int
		in, want string
	}{
		// CPython's report of the sandbox or the worker, and what IPython
		// printed for the same cell (MINT stripped the leading spaces).
		{1, "  File \"<action>\", line 1\n    for x in [1, 2]):\n                   ^\nSyntaxError: unmatched ')'",
			"Cell In[1], line 1\n    for x in [1, 2]):\n                   ^\nSyntaxError: unmatched ')'"},
		{4, "  File \"<action>\", line 2\n    print(1)\n    ^\nIndentationError: expected an indented block after 'if' statement on line 1\n",
			"Cell In[4], line 2\n    print(1)\n    ^\nIndentationError: expected an indented block after 'if' statement on line 1"},
		{2, "SyntaxError: source code cannot contain null bytes", "SyntaxError: source code cannot contain null bytes"},
	}
	for _, tc := range tests {
		if got := Syntax(tc.cell, tc.in); got != tc.want {
			t.Errorf("Syntax(%d, %q):\ngot  %q\nwant %q", tc.cell, tc.in, got, tc.want)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	// What IPython 8.12 printed for these cells (the offsets are
	// CPython's), without the leading spaces MINT stripped.
	tests := []struct {
		cell, line, offset int
		text, typ, msg     string
		want               string
	}{
		{1, 1, 16, "for x in [1, 2]):", "SyntaxError", "unmatched ')'", "Cell In[1], line 1\n    for x in [1, 2]):\n                   ^\nSyntaxError: unmatched ')'"},
		{1, 2, 1, "print(1)\n", "IndentationError", "expected an indented block after 'if' statement on line 1", "Cell In[1], line 2\n    print(1)\n    ^\nIndentationError: expected an indented block after 'if' statement on line 1"},
		{4, 1, 8, "x = 1 +\n", "SyntaxError", "invalid syntax", "Cell In[4], line 1\n    x = 1 +\n           ^\nSyntaxError: invalid syntax"},
		{5, 2, 3, "\t\tx = ?\n", "SyntaxError", "invalid syntax", "Cell In[5], line 2\n    x = ?\n    ^\nSyntaxError: invalid syntax"},
		{2, 0, 0, "", "SyntaxError", "", "Cell In[2]\nSyntaxError"},
	}
	for _, tc := range tests {
		if got := SyntaxError(tc.cell, tc.line, tc.text, tc.offset, tc.typ, tc.msg); got != tc.want {
			t.Errorf("got\n%q\nwant\n%q", got, tc.want)
		}
	}
}

func TestParseStyle(t *testing.T) {
	for in, want := range map[string]Style{"ipython": IPython, " IPython": IPython, "python": Python, "": Python} {
		if got, err := ParseStyle(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	if _, err := ParseStyle("jupyter"); err == nil || !strings.Contains(err.Error(), "choose ipython or python") {
		t.Errorf("got %v", err)
	}
}

func TestHistoryBound(t *testing.T) {
	h := NewHistory(10)
	h.Add(1, "aaaa")
	h.Add(2, "bbbb")
	h.Add(3, "cccc") // 12 bytes: cell 1 goes
	if _, ok := h.Source(1); ok {
		t.Error("cell 1 kept past the bound")
	}
	if s, ok := h.Source(3); !ok || s != "cccc" {
		t.Errorf("cell 3: %q %v", s, ok)
	}
	h.Add(4, strings.Repeat("x", 11)) // larger than the bound: not kept
	if _, ok := h.Source(4); ok {
		t.Error("an oversized cell was kept")
	}
	// A frame whose cell is forgotten shows its header only.
	got := Traceback("NameError", "name 'x' is not defined", []Frame{{Cell: 1, Line: 1, Func: "f"}}, h)
	if !strings.HasSuffix(got, "Cell In[1], line 1, in f()\n\nNameError: name 'x' is not defined") {
		t.Errorf("got\n%s", got)
	}
}

// FuzzTraceback lays out frames over arbitrary source: it must not panic,
// and must keep the rule, the header and the exception line.
func FuzzTraceback(f *testing.F) {
	for _, s := range []string{"def f(x):\n    return x / 0\nf(1)", "x = [\n1,\n", "s = '''\n", "if x:\n    # c\nelse:\n    y", "g = lambda a, *b: a\\\n+1", "def f(a=(1, 2), *, b: int = 3, **k): pass"} {
		f.Add(s, 2, "f")
	}
	f.Fuzz(func(t *testing.T, src string, line int, fn string) {
		h := NewHistory(0)
		h.Add(1, src)
		frames := []Frame{{Cell: 1, Line: line, Func: "<module>"}, {Cell: 1, Line: line, Func: fn}, {Cell: 1, Line: line, Func: "<lambda>"}}
		got := Traceback("ValueError", "m", frames, h)
		if !strings.HasPrefix(got, strings.Repeat("-", 75)+"\nValueError") || !strings.HasSuffix(got, "ValueError: m") {
			t.Fatalf("got %q", got)
		}
	})
}
