package isolate

import (
	"context"
	"testing"
)

// TestScopeBuiltins: locals(), globals() and vars() work in a worker too.
func TestScopeBuiltins(t *testing.T) {
	s := newSession(t, nil, Options{}, "serve")
	for i, st := range []struct{ code, want string }{
		{`print("x" not in locals())`, "True"},
		{"if \"x\" not in locals():\n    x = 1\nprint(x, \"x\" in globals())", "1 True"},
		{"def f(a):\n    return list(locals().keys())\nprint(f(1), 'f' in vars())", "['a'] True"},
	} {
		res, err := s.Exec(context.Background(), st.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); got != st.want {
			t.Errorf("step %d: got %q, want %q", i, got, st.want)
		}
	}
}
