package sandbox

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/tool"
)

// scopeSteps are actions that ask locals(), globals() and vars() what is
// defined, as real model code does, with what CPython prints for them.
var scopeSteps = []struct{ code, want string }{
	{`print("x" not in locals(), "x" in globals())`, "True False"},
	{"x = 1\nprint(\"x\" in locals(), locals()[\"x\"], \"x\" in vars())", "True 1 True"},
	{`print("x" in globals(), globals()["x"])`, "True 1"},
	{"if \"found\" not in locals():\n    found = []\nfound.append(1)\nprint(found)", "[1]"},
	{"if \"found\" not in locals():\n    found = []\nfound.append(2)\nprint(found)", "[1, 2]"},
	{"def f(a):\n    b = a + 1\n    return sorted(locals().items())\nprint(f(1))", "[('a', 1), ('b', 2)]"},
	{"def g():\n    return 'x' in globals(), 'g' in globals(), 'nope' in globals()\nprint(g())", "(True, True, False)"},
	{`print("print" in globals(), "len" in locals())`, "False False"},
}

func TestScopeBuiltins(t *testing.T) {
	s, err := New(tool.NewRegistry(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, st := range scopeSteps {
		res, err := s.Exec(context.Background(), st.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); got != st.want {
			t.Errorf("step %d %q: got %q, want %q", i, st.code, got, st.want)
		}
	}
}

func TestScopeBuiltinsArgs(t *testing.T) {
	s, err := New(tool.NewRegistry(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for code, want := range map[string]string{
		"locals(1)":                              "TypeError: locals: got 1 arguments, want 0",
		"globals(1)":                             "TypeError: globals: got 1 arguments, want 0",
		"vars(1)":                                "TypeError: vars() argument must have __dict__ attribute",
		"import math\nprint('pi' in vars(math))": "True",
	} {
		res, err := s.Exec(context.Background(), code)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Observation()
		if res.Err != nil {
			got = res.Err.Error()
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", code, got, want)
		}
	}
}
