package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/tool"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errStalled = errors.New("motor stalled")

// testTools is a registry with a plain tool, a namespaced tool with bounds,
// and a failing tool.
func testTools() *tool.Registry {
	reg := tool.NewRegistry()
	reg.MustRegister(
		tool.Tool{
			Name: "greet", Doc: "Say hello.", Returns: tool.String,
			Params: []tool.Param{{Name: "name", Type: tool.String, Required: true}},
			Fn: func(_ context.Context, a tool.Args) (any, error) {
				return "hello, " + a.String("name"), nil
			},
		},
		tool.Tool{
			Name: "rover.drive", Doc: "Drive.", Returns: tool.Dict,
			Params: []tool.Param{
				{Name: "speed", Type: tool.Float, Required: true, Min: tool.Bound(-1), Max: tool.Bound(1)},
				{Name: "ms", Type: tool.Int, Default: int64(100)},
			},
			Fn: func(_ context.Context, a tool.Args) (any, error) {
				return map[string]any{"moved_m": a.Float("speed") * float64(a.Int("ms")) / 1000}, nil
			},
		},
		tool.Tool{
			Name: "rover.lift", Doc: "Lift.",
			Fn: func(context.Context, tool.Args) (any, error) { return nil, fmt.Errorf("lift: %w", errStalled) },
		},
	)
	return reg
}

// newSession starts a session for a test. With no time limit given, the
// action's limit is a one-minute backstop rather than the 10 s default: the
// tests that expect the deadline set their own, and the others must not
// fail because a loaded machine is slow.
func newSession(t testing.TB, opts Options) *Session {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	s, err := New(testTools(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden scripts: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".star")
		t.Run(name, func(t *testing.T) {
			code, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// The deadline is a backstop (no golden file ends by it),
			// long enough for a loaded machine.
			s := newSession(t, Options{MaxSteps: 1_000_000, Timeout: time.Minute})
			res, err := s.Exec(context.Background(), string(code))
			if err != nil {
				t.Fatal(err)
			}
			got := res.Observation() + "\n"
			want := strings.TrimSuffix(file, ".star") + ".out"
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(data) {
				t.Errorf("observation differs from %s:\n--- got\n%s--- want\n%s", want, got, data)
			}
		})
	}
}

func TestStatePersistsAcrossActions(t *testing.T) {
	s := newSession(t, Options{})
	ctx := context.Background()
	steps := []struct{ code, want string }{
		{"seen = []\ncounts = {}\ndef note(x):\n    seen.append(x)\n    counts[x] = counts.get(x, 0) + 1", NoOutputText},
		{"note('mug 1')\nnote('mug 1')", NoOutputText},
		{"seen.append('bowl 2')\nprint(seen, counts)", "['mug 1', 'mug 1', 'bowl 2'] {'mug 1': 2}"},
		{"x = 1", NoOutputText},
		{"x = x + 1\nx", "2"},
		{"1/0", "Traceback (most recent call last):\n  File \"<action>\", line 1, in <module>\n    1/0\nZeroDivisionError: division by zero"},
		{"print(len(seen), x)", "3 2"},
	}
	for i, st := range steps {
		res, err := s.Exec(ctx, st.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); got != st.want {
			t.Fatalf("action %d: got %q, want %q", i, got, st.want)
		}
	}
}

// NoOutputText is the observation of an action with no output.
const NoOutputText = tool.NoOutput

func TestLimits(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		code    string
		errType string
		errHas  string
	}{
		{"steps", Options{MaxSteps: 10_000}, "n = 0\nwhile True:\n    n += 1", "TimeoutError", "limit of 10000 computation steps"},
		{"time", Options{Timeout: 50 * time.Millisecond, MaxSteps: 1 << 40}, "n = 0\nwhile True:\n    n += 1", "TimeoutError", "time limit"},
		{"sleep", Options{Timeout: 50 * time.Millisecond}, "import time\ntime.sleep(30)", "TimeoutError", "time limit"},
		{"list repeat", Options{MaxMemory: 64 << 20}, "x = [0] * 100000000", "MemoryError", "memory limit"},
		{"string repeat", Options{MaxMemory: 64 << 20}, "x = 'ab' * 500000000", "MemoryError", "memory limit"},
		{"repeat assign", Options{MaxMemory: 64 << 20}, "x = [1, 2]\nx *= 50000000", "MemoryError", "memory limit"},
		{"materialise range", Options{MaxMemory: 64 << 20}, "x = list(range(100000000))", "MemoryError", "memory limit"},
		{"doubling", Options{MaxMemory: 64 << 20, MaxSteps: 1 << 40}, "s = 'x'\nwhile True:\n    s = s + s", "MemoryError", "memory limit"},
		{"recursion", Options{}, "def f(n):\n    return f(n + 1)\nf(0)", "RecursionError", "maximum recursion depth exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, tc.opts)
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil || res.Err.Type != tc.errType || !strings.Contains(res.Err.Message, tc.errHas) {
				t.Fatalf("got %+v, want %s containing %q", res.Err, tc.errType, tc.errHas)
			}
			// The session is still usable.
			res, err = s.Exec(context.Background(), "print('still here')")
			if err != nil || res.Observation() != "still here" {
				t.Fatalf("session unusable after limit: %q %v", res.Observation(), err)
			}
		})
	}
}

func TestOutputTruncated(t *testing.T) {
	s := newSession(t, Options{MaxOutput: 1000})
	res, err := s.Exec(context.Background(), "for i in range(10000):\n    print('line', i)\nprint('the end')")
	if err != nil {
		t.Fatal(err)
	}
	out := res.Stdout
	if !res.Truncated || len(out) > 1000 || !strings.HasPrefix(out, "line 0\nline 1\n") || !strings.HasSuffix(out, "line 9999\nthe end\n") || !strings.Contains(out, "bytes truncated") {
		t.Fatalf("truncated=%v len=%d\n%s", res.Truncated, len(out), out)
	}
}

func TestCancelledByCaller(t *testing.T) {
	s := newSession(t, Options{MaxSteps: 1 << 40, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	res, err := s.Exec(ctx, "while True:\n    pass")
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || res.Err.Type != "TimeoutError" {
		t.Fatalf("got %+v", res.Err)
	}
}

func TestToolErrorKeepsGoError(t *testing.T) {
	s := newSession(t, Options{})
	res, err := s.Exec(context.Background(), "print('before')\nrover.lift()")
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || !errors.Is(res.Err, errStalled) {
		t.Fatalf("errors.Is lost the tool's error: %+v", res.Err)
	}
	if res.Err.Line != 2 || !strings.Contains(res.Observation(), "RuntimeError: lift: motor stalled") || res.Stdout != "before\n" {
		t.Fatalf("observation: %q", res.Observation())
	}
}

func TestClosed(t *testing.T) {
	s := newSession(t, Options{})
	s.Close()
	if _, err := s.Exec(context.Background(), "1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := New(testTools(), Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for j := 0; j < 20; j++ {
				code := fmt.Sprintf("v = %d\nacc = globals_acc if False else []\nfor k in range(100):\n    acc.append(k * v)\nprint(sum(acc), greet('s%d'))", i*100+j, i)
				res, err := s.Exec(context.Background(), code)
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf("%d hello, s%d", 4950*(i*100+j), i)
				if res.Observation() != want {
					errs <- fmt.Errorf("session %d: got %q, want %q", i, res.Observation(), want)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTranslateKeepsLines(t *testing.T) {
	code := "a = 1\nb = f\"\"\"x\n{a}\ny\"\"\"\nc = [\n  *[1],\n  2,\n]\nd = 1/0"
	s := newSession(t, Options{})
	res, _ := s.Exec(context.Background(), code)
	if res.Err == nil || res.Err.Line != 9 || res.Err.Source != "d = 1/0" {
		t.Fatalf("line mapping lost: %+v", res.Err)
	}
}

func FuzzExec(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/golden/*.star")
	for _, file := range seeds {
		data, _ := os.ReadFile(file)
		f.Add(string(data))
	}
	f.Add("f'{")
	f.Add("[*")
	f.Add("x = [*a, *b]")
	f.Add("f\"{x!z}\"")
	f.Add("from math import")
	f.Add("m = [[1 / y for y in r] for r in [[1], [0]]]")
	f.Add("d = {\n k: [(lambda: 1 // k)() for _ in [k]]\n for k in [1, 0]}")
	f.Add("print(max(" + strings.Repeat("1, ", 300) + "k=abs))")
	s, err := New(testTools(), Options{MaxSteps: 100_000, Timeout: time.Second, MaxMemory: 32 << 20, MaxOutput: 4096})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, code string) {
		res, err := s.Exec(context.Background(), code)
		if err != nil {
			t.Fatalf("runtime failure: %v", err)
		}
		if len(res.Stdout) > 4096 {
			t.Fatalf("output budget exceeded: %d", len(res.Stdout))
		}
	})
}
