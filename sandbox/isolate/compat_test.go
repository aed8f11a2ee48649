package isolate

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
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

// TestIPythonErrors: the worker shows errors as IPython does when asked,
// the cell counting the session's actions.
func TestIPythonErrors(t *testing.T) {
	s := newSession(t, nil, Options{Sandbox: sandbox.Options{Errors: sandbox.ErrorsIPython}}, "serve")
	for i, st := range []struct{ code, want string }{
		{"def f(x):\n    return x / 0", tool.NoOutput},
		{"z = 1\nf(z)", strings.Repeat("-", 75) + "\nZeroDivisionError                         Traceback (most recent call last)\n" +
			"Cell In[2], line 2\n      1 z = 1\n----> 2 f(z)\n\nCell In[1], line 2, in f(x)\n      1 def f(x):\n----> 2     return x / 0\n\nZeroDivisionError: division by zero"},
	} {
		res, err := s.Exec(context.Background(), st.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); got != st.want {
			t.Errorf("step %d: got\n%s\nwant\n%s", i, got, st.want)
		}
	}
}
