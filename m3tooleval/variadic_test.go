package m3tooleval

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox"
)

// thousandCall is a call of a variadic tool with at least 1,000 arguments
// and the reference's result (repr): a recorded call whose arguments are
// repeated, which changes no result (min, max, the dict of
// find_max_nucleotide, the preferences of book_hotel), or a sum computed
// by CPython 3.11.
type thousandCall struct {
	tool string
	args []Value
	want string
}

func thousandCalls(t *testing.T) []thousandCall {
	var calls []recordedCall
	loadJSON(t, "tool_calls.json", &calls)
	var out []thousandCall
	seen := map[string]bool{}
	for _, c := range calls {
		if !strings.Contains(c.Args, "'*") || seen[c.Tool] {
			continue
		}
		seen[c.Tool] = true
		av, err := LiteralEval(c.Args)
		if err != nil {
			t.Fatal(err)
		}
		d := av.(*Dict)
		var fixed, rest []Value
		for i, k := range d.Keys {
			if strings.HasPrefix(string(k.(Str)), "*") {
				rest = d.Values[i].(Tuple)
			} else {
				fixed = append(fixed, d.Values[i])
			}
		}
		args := fixed
		for len(args) < 1000+len(fixed) {
			args = append(args, rest...)
		}
		out = append(out, thousandCall{c.Tool, args, c.Result})
	}
	if len(out) != 6 {
		t.Fatalf("%d variadic tools among the recorded calls, want 6", len(out))
	}
	ones := make([]Value, 1000)
	tenths := make([]Value, 1000)
	for i := range ones {
		ones[i] = MakeInt(int64(i))
		tenths[i] = Float(0.1)
	}
	// python3.11 -c 'print(repr(sum(range(1000))), repr(sum([0.1]*1000)))'
	return append(out, thousandCall{"sum", ones, "499500"}, thousandCall{"sum", tenths, "99.9999999999986"})
}

// episodeWith starts a code episode of the first task that has the tool.
func episodeWith(t *testing.T, name string) *Episode {
	for _, task := range Tasks() {
		for _, tl := range task.Tools {
			if tl.Name == name {
				e, err := NewEpisode(task, Code)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
		}
	}
	t.Fatalf("no task has %s", name)
	return nil
}

// TestThousandArguments: 1,000 arguments to each variadic tool give the
// reference's result through the registry, in Starlark (spread and
// written out), in the Python worker, and as json and text actions.
func TestThousandArguments(t *testing.T) {
	ctx := context.Background()
	for _, c := range thousandCalls(t) {
		t.Run(c.tool, func(t *testing.T) {
			reprs := make([]string, len(c.args))
			jsons := make([]string, len(c.args))
			goArgs := make([]any, len(c.args))
			texts := make([]string, len(c.args))
			for i, a := range c.args {
				reprs[i] = Repr(a)
				goArgs[i] = ToGo(a)
				texts[i] = StrOf(a)
				j, err := json.Marshal(goArgs[i])
				if err != nil {
					t.Fatal(err)
				}
				jsons[i] = string(j)
			}
			e := episodeWith(t, c.tool)
			got, err := e.Registry().Call(ctx, c.tool, goArgs, nil)
			if err != nil || Repr(FromGo(got)) != c.want {
				t.Errorf("registry: %v (error %v), want %s", got, err, c.want)
			}
			want := c.want
			if v, err := LiteralEval(c.want); err == nil {
				want = StrOf(v)
			}
			if got := e.ExecuteJSON(`{"tool": "` + c.tool + `", "args": [` + strings.Join(jsons, ", ") + `]}`); got != want {
				t.Errorf("json action: %.200s, want %s", got, want)
			}
			if got := e.ExecuteText(c.tool + ", " + strings.Join(texts, ", ")); got != want {
				t.Errorf("text action: %.200s, want %s", got, want)
			}
			codes := []string{
				"print(repr(" + c.tool + "(*[" + strings.Join(reprs, ", ") + "])))",
				"print(repr(" + c.tool + "(" + strings.Join(reprs, ", ") + ")))",
			}
			s, err := sandbox.New(e.CodeRegistry(), sandbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, code := range codes {
				res, err := s.Exec(ctx, code)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(res.Observation()); got != c.want {
					t.Errorf("Starlark %.60s...: %.200s, want %s", code, got, c.want)
				}
			}
			b, err := bridge.New(ctx, e.CodeRegistry(), bridge.Options{Python: testenv.Python(t), NoIsolation: true})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			pyWant := c.want
			if strings.HasPrefix(pyWant, "(") { // a tuple result arrives as a list
				pyWant = "[" + pyWant[1:len(pyWant)-1] + "]"
			}
			for _, code := range codes {
				res, err := b.Exec(ctx, code)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(res.Observation()); got != pyWant {
					t.Errorf("Python %.60s...: %.200s, want %s", code, got, pyWant)
				}
			}
		})
	}
}
