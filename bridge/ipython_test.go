package bridge

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/tool"
)

// TestIPythonErrors runs the cells of the recorded IPython output
// (internal/ipytb/testdata) in the worker with the IPython display and
// compares every observation with what IPython printed.
func TestIPythonErrors(t *testing.T) {
	data, err := os.ReadFile("../internal/ipytb/testdata/ipython8.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string
		Cells   []string
		Results []struct{ Stdout string }
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, Options{NoIsolation: true, Errors: ErrorsIPython})
	cell := 0
	for _, c := range cases {
		if c.Name == "recursion" {
			continue // sys.setrecursionlimit differs in the worker
		}
		for i, code := range c.Cells {
			// One session for all: renumber the cells' references.
			cell++
			res := exec1(t, s, code)
			want := strings.TrimSpace(c.Results[i].Stdout)
			want = renumber(want, i+1, cell, len(c.Cells))
			if want == "" {
				want = tool.NoOutput
			}
			if got := res.Observation(); got != want {
				t.Errorf("%s, cell %d:\ngot\n%s\nwant\n%s", c.Name, i+1, got, want)
			}
		}
	}
}

// renumber rewrites "Cell In[k]" of a case's output, k counting the case's
// own cells, for a session in which the case's cell i is cell n.
func renumber(s string, i, n, cells int) string {
	for k := cells; k >= 1; k-- {
		s = strings.ReplaceAll(s, "Cell In["+itoa(k)+"]", "Cell In[#"+itoa(n-i+k)+"]")
	}
	return strings.ReplaceAll(s, "Cell In[#", "Cell In[")
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestIPythonSyntaxErrors(t *testing.T) {
	s := newSession(t, Options{NoIsolation: true, Errors: ErrorsIPython})
	exec1(t, s, "x = 1")
	want := "Cell In[2], line 1\n    for x in [1, 2]):\n                   ^\nSyntaxError: unmatched ')'"
	if got := exec1(t, s, "for x in [1, 2]):\n    print(x)").Observation(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestPythonErrorsEarlierAction: CPython's traceback through a function an
// earlier action defined shows that action's line.
func TestPythonErrorsEarlierAction(t *testing.T) {
	s := newSession(t, Options{NoIsolation: true})
	exec1(t, s, "def f(x):\n    return x / 0")
	want := "Traceback (most recent call last):\n  File \"<action>\", line 2, in <module>\n    f(z)\n  File \"<action>\", line 2, in f\n    return x / 0\nZeroDivisionError: division by zero"
	if got := exec1(t, s, "z = 1\nf(z)").Observation(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestCellRunsStatementByStatement: as in IPython, a statement that does
// not compile fails after the statements before it ran, and the error
// shows its line.
func TestCellRunsStatementByStatement(t *testing.T) {
	s := newSession(t, Options{NoIsolation: true, Errors: ErrorsIPython})
	want := "before\n  Cell In[1], line 2\n    break\n    ^\nSyntaxError: 'break' outside loop"
	if got := exec1(t, s, "print('before')\nbreak").Observation(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
