package bridge

import "testing"

// TestScopeBuiltins: the Python worker answers locals(), globals() and
// vars() as CPython does, with the action's variables in them.
func TestScopeBuiltins(t *testing.T) {
	s := newSession(t, Options{NoIsolation: true})
	for i, st := range []struct{ code, want string }{
		{`print("x" not in locals())`, "True"},
		{"if \"x\" not in locals():\n    x = 1\nprint(x, \"x\" in globals(), \"greet\" in globals())", "1 True True"},
		{"def f(a):\n    return list(locals().keys())\nprint(f(1), 'f' in vars())", "['a'] True"},
	} {
		if got := exec1(t, s, st.code).Observation(); got != st.want {
			t.Errorf("step %d: got %q, want %q", i, got, st.want)
		}
	}
}
