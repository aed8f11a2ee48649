package kindtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/sandbox/isolate"
	"github.com/gantry-dev/gantry/tool"
)

// workerEnv makes the test binary an isolated sandbox worker.
const workerEnv = "GANTRY_KINDTEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		if err := isolate.ServeWorker(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// errStuck is a tool's own failure, without a kind.
var errStuck = errors.New("wheel stuck")

// registry has "fail", which fails with the kind it is asked for, and
// "count", whose argument is bounded.
func registry() *tool.Registry {
	reg := tool.NewRegistry()
	reg.MustRegister(tool.Tool{
		Name:   "fail",
		Doc:    "Fail with the given kind.",
		Params: []tool.Param{{Name: "kind", Type: tool.String, Required: true}},
		Fn: func(_ context.Context, a tool.Args) (any, error) {
			switch k := a.String("kind"); k {
			case "plain":
				return nil, fmt.Errorf("fail: %w", errStuck)
			case "deadline":
				return nil, fmt.Errorf("fail: waited for the arm: %w", context.DeadlineExceeded)
			default:
				kind, ok := tool.ParseKind(k)
				if !ok {
					return nil, fmt.Errorf("fail: no kind %q", k)
				}
				return nil, tool.Errorf(kind, "fail: the rover says %s", kind)
			}
		},
	}, tool.Tool{
		Name:   "count",
		Doc:    "Count to n.",
		Params: []tool.Param{{Name: "n", Type: tool.Int, Required: true, Min: tool.Bound(0)}},
		Fn:     func(_ context.Context, a tool.Args) (any, error) { return a.Int("n"), nil },
	})
	reg.MustRegister(tool.Tool{
		Name:    "total",
		Doc:     "Add counts.",
		Params:  []tool.Param{{Name: "values", Type: tool.Int, Variadic: true, Min: tool.Bound(0)}},
		Returns: tool.Int,
		Fn: func(_ context.Context, a tool.Args) (any, error) {
			var n int64
			for _, v := range a.List("values") {
				n += v.(int64)
			}
			return n, nil
		},
	})
	return reg
}

// failure is one failed call: as code (Starlark and Python alike) and as a
// JSON action (either empty when the call has no such form), and what it
// must read as.
type failure struct {
	name, code, json string
	kind             tool.Kind
	exception, msg   string
	cause            error // also matched by errors.Is, besides the kind
}

func failures() []failure {
	var out []failure
	for _, k := range tool.Kinds() {
		out = append(out, failure{
			name: k.String(), code: fmt.Sprintf("fail(kind=%q)", k.String()),
			json: fmt.Sprintf(`{"tool": "fail", "args": {"kind": %q}}`, k.String()),
			kind: k, exception: k.Exception(), msg: "fail: the rover says " + k.String(),
		})
	}
	return append(out,
		failure{name: "tool's own error", code: `fail(kind="plain")`, json: `{"tool": "fail", "args": {"kind": "plain"}}`,
			kind: tool.Failed, exception: "RuntimeError", msg: "fail: wheel stuck", cause: errStuck},
		failure{name: "deadline", code: `fail(kind="deadline")`, json: `{"tool": "fail", "args": {"kind": "deadline"}}`,
			kind: tool.Timeout, exception: "TimeoutError", msg: "fail: waited for the arm: context deadline exceeded", cause: context.DeadlineExceeded},
		failure{name: "wrong type", code: `fail(kind=True)`, json: `{"tool": "fail", "args": {"kind": true}}`,
			kind: tool.ArgType, exception: "TypeError", msg: "fail: kind must be a str, got bool"},
		failure{name: "missing", code: `count()`, json: `{"tool": "count", "args": {}}`,
			kind: tool.ArgType, exception: "TypeError", msg: "count: n is required"},
		failure{name: "unknown argument", code: `count(n=1, m=2)`, json: `{"tool": "count", "args": {"n": 1, "m": 2}}`,
			kind: tool.ArgType, exception: "TypeError", msg: `count: unexpected argument "m" (parameters: n)`},
		failure{name: "variadic wrong type", code: `total(1, 2, "3")`, json: `{"tool": "total", "args": {"values": [1, 2, "3"]}}`,
			kind: tool.ArgType, exception: "TypeError", msg: "total: values[2] must be an int, got str"},
		failure{name: "variadic out of bounds", code: `total(*[1, -2])`, json: `{"tool": "total", "args": {"values": [1, -2]}}`,
			kind: tool.ArgValue, exception: "ValueError", msg: "total: values[1] must be >= 0, got -2"},
		failure{name: "variadic by name in code", code: `total(values=[1])`, // by name, a JSON action gives it as a list
			kind: tool.ArgType, exception: "TypeError", msg: `total: unexpected argument "values" (parameters: *values)`},
		failure{name: "variadic by name not a list", json: `{"tool": "total", "args": {"values": 1}}`,
			kind: tool.ArgType, exception: "TypeError", msg: "total: values must be a list, got int"},
		failure{name: "out of bounds", code: `count(n=-1)`, json: `{"tool": "count", "args": {"n": -1}}`,
			kind: tool.ArgValue, exception: "ValueError", msg: "count: n must be >= 0, got -1"},
	)
}

// runtime runs one call, as code or as a JSON action (the one its kind
// takes), and returns the result.
type runtime struct {
	name string
	json bool // the runtime takes JSON actions, not code
	run  func(t *testing.T, code, json string) tool.Result
}

func execer(t *testing.T, start func() (agent.Runtime, error)) func(*testing.T, string, string) tool.Result {
	rt, err := start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return func(t *testing.T, code, _ string) tool.Result {
		res, err := rt.Exec(context.Background(), code)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
}

// scripted is a policy that sends one message.
type scripted string

func (s scripted) Next(context.Context, []agent.Message) (agent.Message, agent.Usage, error) {
	return agent.Message{Role: agent.Assistant, Content: string(s)}, agent.Usage{}, nil
}

// runtimes starts every place a tool is called from.
func runtimes(t *testing.T) []runtime {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []runtime{
		{"starlark", false, execer(t, func() (agent.Runtime, error) { return sandbox.New(registry(), sandbox.Options{}) })},
		{"starlark-isolated", false, execer(t, func() (agent.Runtime, error) {
			return isolate.New(context.Background(), registry(), isolate.Options{Command: []string{exe}, Env: []string{workerEnv + "=1"}})
		})},
		{"python", false, execer(t, func() (agent.Runtime, error) {
			return bridge.New(context.Background(), registry(), bridge.Options{Python: testenv.Python(t), NoIsolation: true})
		})},
		{"json-action", true, func(t *testing.T, _, json string) tool.Result {
			ep := &agent.Episode{Prompt: "go", Policy: scripted(json), Tools: registry(),
				Config: agent.Config{Format: agent.JSON, MaxTurns: 1}}
			tr, err := ep.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Turns) != 1 || tr.Turns[0].Result == nil {
				t.Fatalf("turns: %+v", tr.Turns)
			}
			return *tr.Turns[0].Result
		}},
	}
}

func TestSameFailureEverywhere(t *testing.T) {
	runtimes := runtimes(t)
	for _, f := range failures() {
		for _, rt := range runtimes {
			if (rt.json && f.json == "") || (!rt.json && f.code == "") {
				continue
			}
			t.Run(f.name+"/"+rt.name, func(t *testing.T) {
				ce := rt.run(t, f.code, f.json).Err
				if ce == nil {
					t.Fatal("no error")
				}
				if ce.Type != f.exception || ce.Message != f.msg {
					t.Errorf("got %s: %s\nwant %s: %s", ce.Type, ce.Message, f.exception, f.msg)
				}
				if got := tool.KindOf(ce); got != f.kind {
					t.Errorf("tool.KindOf(err) = %s, want %s: cause %#v", got, f.kind, ce.Cause)
				}
				if f.cause == nil && !errors.Is(ce, f.kind) {
					t.Errorf("errors.Is(err, tool.%s) does not hold: cause %#v", f.kind, ce.Cause)
				}
				if f.cause != nil && !errors.Is(ce, f.cause) {
					t.Errorf("errors.Is(err, %v) does not hold", f.cause)
				}
			})
		}
	}
}

// TestVariadicEverywhere: a variadic tool takes any number of arguments
// in every runtime and as a JSON action (by name, as a list).
func TestVariadicEverywhere(t *testing.T) {
	nums := make([]string, 1000)
	for i := range nums {
		nums[i] = fmt.Sprint(i)
	}
	list := "[" + strings.Join(nums, ", ") + "]"
	cases := []struct {
		name, code, json, want string
	}{
		{"none", "print(total())", `{"tool": "total", "args": {}}`, "0"},
		{"three", "print(total(1, 2, 3))", `{"tool": "total", "args": {"values": [1, 2, 3]}}`, "6"},
		{"a thousand spread", "print(total(*range(1000)))", `{"tool": "total", "args": {"values": ` + list + `}}`, "499500"},
		{"a thousand written", "print(total(" + strings.Join(nums, ", ") + "))", "", "499500"},
	}
	for _, rt := range runtimes(t) {
		for _, c := range cases {
			if rt.json && c.json == "" {
				continue
			}
			t.Run(c.name+"/"+rt.name, func(t *testing.T) {
				res := rt.run(t, c.code, c.json)
				if got := strings.TrimSpace(res.Observation()); got != c.want {
					t.Errorf("got %q, want %q", got, c.want)
				}
			})
		}
	}
}

// TestPythonStubSignature: the Python worker's tool stubs show the
// registry's signature, a variadic parameter as *name.
func TestPythonStubSignature(t *testing.T) {
	reg := registry()
	reg.MustRegister(tool.Tool{Name: "rover.drive", Returns: tool.Dict,
		Params: []tool.Param{{Name: "speed", Type: tool.Float, Required: true}, {Name: "ms", Type: tool.Int, Default: int64(500)},
			{Name: "mode", Type: tool.String}, {Name: "tags", Type: tool.Any, Variadic: true}},
		Fn: func(context.Context, tool.Args) (any, error) { return nil, nil }})
	rt, err := bridge.New(context.Background(), reg, bridge.Options{Python: testenv.Python(t), NoIsolation: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	res, err := rt.Exec(context.Background(), "import inspect\nfor f in (fail, count, total, rover.drive):\n    print(f.__name__ + str(inspect.signature(f)))")
	if err != nil {
		t.Fatal(err)
	}
	want := "fail(kind: str) -> None\ncount(n: int) -> None\ntotal(*values: int) -> int\ndrive(speed: float, ms: int = 500, mode: str = None, *tags) -> dict"
	if got := strings.TrimSpace(res.Observation()); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
