package sandbox

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/tool"
)

// ipythonCases are the cases of the recorded IPython output
// (internal/ipytb/testdata) whose code Starlark runs with the same
// exception messages.
var ipythonCases = []string{
	"name_error", "context_window", "function_same_cell", "function_earlier_cell", "multi_line_statement",
	"comments_and_blanks", "key_error", "output_before", "params", "lambda", "deep_body", "long_piece_truncated",
	"loop_body", "elif_clause", "nested_calls", "third_cell", "line_ten", "one_line_def", "semicolons", "index_error",
	// Comprehensions: Starlark has no frame for them; the session adds
	// CPython's (comprehension.go). Starlark has no set comprehensions
	// or generator expressions ("setcomp_if", "genexpr").
	"listcomp", "listcomp_in_def", "dictcomp_multiline", "nested_comp", "comp_calls_def", "comp_first_iterable",
	"comp_second_clause", "lambda_in_comp", "comp_in_earlier_cell",
}

// TestIPythonErrors runs the recorded cells with the IPython display and
// compares the observation with what IPython printed.
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
	byName := map[string]int{}
	for i, c := range cases {
		byName[c.Name] = i
	}
	for _, name := range ipythonCases {
		t.Run(name, func(t *testing.T) {
			i, ok := byName[name]
			if !ok {
				t.Fatalf("no recorded case %s", name)
			}
			c := cases[i]
			s, err := New(tool.NewRegistry(), Options{Errors: ErrorsIPython})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var res tool.Result
			for _, code := range c.Cells {
				if res, err = s.Exec(context.Background(), code); err != nil {
					t.Fatal(err)
				}
			}
			want := strings.TrimSpace(c.Results[len(c.Results)-1].Stdout)
			if got := res.Observation(); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestIPythonSyntaxErrors(t *testing.T) {
	s, err := New(tool.NewRegistry(), Options{Errors: ErrorsIPython})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, st := range []struct{ code, want string }{
		{"x = 1", tool.NoOutput},
		// The message is Starlark's parser's; the layout IPython's.
		{"if True:\nprint(1)", "Cell In[2], line 2\n    print(1)\n         ^\nSyntaxError: got identifier, want indent"},
		{"print(x)\nprint(y)", "1\n" + strings.Repeat("-", 75) + "\nNameError                                 Traceback (most recent call last)\nCell In[3], line 2\n      1 print(x)\n----> 2 print(y)\n\nNameError: name 'y' is not defined"},
	} {
		res, err := s.Exec(context.Background(), st.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); got != st.want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", st.code, got, st.want)
		}
	}
}

// TestPythonErrorsEarlierAction: CPython's traceback shows a function
// defined by an earlier action with that action's line.
func TestPythonErrorsEarlierAction(t *testing.T) {
	s, err := New(tool.NewRegistry(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Exec(context.Background(), "def f(x):\n    return x / 0"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Exec(context.Background(), "z = 1\nf(z)")
	if err != nil {
		t.Fatal(err)
	}
	want := "Traceback (most recent call last):\n  File \"<action>\", line 2, in <module>\n    f(z)\n  File \"<action>\", line 2, in f\n    return x / 0\nZeroDivisionError: division by zero"
	if got := res.Observation(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
