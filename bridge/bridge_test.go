package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/tool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errJammed = errors.New("gripper jammed")

func tools() *tool.Registry {
	reg := tool.NewRegistry()
	reg.MustRegister(
		tool.Tool{Name: "greet", Doc: "Say hello.", Returns: tool.String,
			Params: []tool.Param{{Name: "name", Type: tool.String, Required: true}},
			Fn:     func(_ context.Context, a tool.Args) (any, error) { return "hello, " + a.String("name"), nil }},
		tool.Tool{Name: "arm.grip", Doc: "Grip.", Returns: tool.Dict,
			Params: []tool.Param{{Name: "force", Type: tool.Float, Required: true, Max: tool.Bound(1)}},
			Fn: func(_ context.Context, a tool.Args) (any, error) {
				if a.Float("force") > 0.9 {
					return nil, fmt.Errorf("arm.grip: %w", errJammed)
				}
				return map[string]any{"held": true, "force": a.Float("force")}, nil
			}},
	)
	return reg
}

// newSession starts a session, isolated when bubblewrap is installed (the
// test script installs it; strict mode fails without it).
func newSession(t *testing.T, opts Options) *Session {
	t.Helper()
	opts.Python = testenv.Python(t)
	if !opts.NoIsolation {
		testenv.LookPath(t, "bwrap")
	}
	s, err := New(context.Background(), tools(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func exec1(t *testing.T, s *Session, code string) tool.Result {
	t.Helper()
	res, err := s.Exec(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestStateToolsAndErrors(t *testing.T) {
	s := newSession(t, Options{})
	steps := []struct{ code, want string }{
		{"import math\nseen = []\ndef note(x):\n    seen.append(x)\n    return len(seen)", tool.NoOutput},
		{"note('a'); note('b')", "2"},
		{"print(seen, math.sqrt(16))", "['a', 'b'] 4.0"},
		{"print(greet('world'))\narm.grip(force=0.5)", "hello, world\n{'force': 0.5, 'held': True}"},
		{"import os, subprocess\nos.write(1, b'fd one\\n')\nsubprocess.run(['echo', 'from a child'])\nNone", "fd one\nfrom a child"},
		{"import sys\nprint('to stderr', file=sys.stderr)", "to stderr"},
		{"def f():\n    return 1 / 0\nf()", "Traceback (most recent call last):\n  File \"<action>\", line 3, in <module>\n    f()\n  File \"<action>\", line 2, in f\n    return 1 / 0\nZeroDivisionError: division by zero"},
		{"x = (", "  File \"<action>\", line 1\n    x = (\n        ^\nSyntaxError: '(' was never closed"},
	}
	for i, st := range steps {
		if got := exec1(t, s, st.code).Observation(); got != st.want {
			t.Fatalf("action %d: got %q, want %q", i, got, st.want)
		}
	}
	res := exec1(t, s, "arm.grip(force=0.95)")
	if res.Err == nil || res.Err.Type != "RuntimeError" || !errors.Is(res.Err, errJammed) || !strings.Contains(res.Err.Message, "gripper jammed") {
		t.Fatalf("tool error: %+v", res.Err)
	}
	res = exec1(t, s, "arm.grip(force=3)")
	if res.Err == nil || !strings.Contains(res.Err.Message, "arm.grip: force must be <= 1.0, got 3") {
		t.Fatalf("bounds: %+v", res.Err)
	}
}

func TestNumpyPandas(t *testing.T) {
	s := newSession(t, Options{})
	res := exec1(t, s, "import numpy as np, pandas as pd\ndf = pd.DataFrame({'a': np.arange(4), 'b': list('wxyz')})\nprint(df['a'].sum(), df.shape)\ndf.iloc[2]['b']")
	if res.Err != nil || res.Observation() != "6 (4, 2)\n'y'" {
		t.Fatalf("%q", res.Observation())
	}
}

func TestHostileCode(t *testing.T) {
	secret := "sk-test-" + fmt.Sprint(time.Now().UnixNano())
	t.Setenv("OPENAI_API_KEY", secret)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	// A path outside the worker's directory that exists on the host (the
	// package directory); under isolation the whole host is read-only.
	outside, err := filepath.Abs("escaped-by-test.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outside)
	tests := []struct {
		name      string
		code      string
		errType   string
		obsHas    string
		restarted bool
	}{
		{"endless loop", "while True:\n    pass", "TimeoutError", "time limit", false},
		{"catches BaseException", "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass", "TimeoutError", "killed and restarted", true},
		{"os._exit", "import os\nos._exit(0)", "WorkerDied", "exited during the action", true},
		// The interrupt waits for each call to complete: a clean timeout.
		{"calls tools in a loop", "while True:\n    greet('x')", "TimeoutError", "time limit", false},
		{"closes stdout", "import os\nos.close(1)\nos.close(2)\nprint('lost')", "OSError", "Bad file descriptor", false},
		{"10 GiB", "b = bytearray(10 * 1024**3)", "MemoryError", "MemoryError", false},
		// Under isolation the parent is the sandbox's init, which ignores the
		// signal; gantry lives on and the sleep is interrupted.
		{"kills its parent", "import os\nos.kill(os.getppid(), 9)\nimport time\ntime.sleep(5)", "TimeoutError", "time limit", false},
		{"prints 100 MB", "import sys\nchunk = 'x' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stdout.write(chunk)", "", "bytes truncated", false},
		{"reads environ", "print(open('/proc/self/environ').read())", "", "PATH=", false},
		{"opens a socket to the host", fmt.Sprintf("import socket\ns = socket.create_connection(('127.0.0.1', %d), timeout=2)\nprint(s.recv(100))", port), "", "Error", false},
		// OSError: a read-only file system, or (when the path is under the
		// host's /tmp, which the sandbox replaces) no such directory.
		{"writes outside its directory", fmt.Sprintf("open(%q, 'w').write('x')", outside), "", "Error: [Errno", false},
	}
	// The cases that must end at the deadline run under a short one; the
	// others under a long one, a backstop that a loaded machine does not
	// reach before the limit or the outcome under test.
	short := newSession(t, Options{Timeout: 2 * time.Second, Grace: 2 * time.Second, MaxMemory: 1 << 30})
	long := newSession(t, Options{Timeout: time.Minute, Grace: 2 * time.Second, MaxMemory: 1 << 30})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := long
			if tc.errType == "TimeoutError" {
				s = short
			}
			exec1(t, s, "marker = 41")
			res := exec1(t, s, tc.code)
			obs := res.Observation()
			if tc.errType != "" && (res.Err == nil || res.Err.Type != tc.errType) {
				t.Fatalf("error %+v, want %s; observation:\n%.500s", res.Err, tc.errType, obs)
			}
			if !strings.Contains(obs, tc.obsHas) || strings.Contains(obs, secret) || strings.Contains(obs, "hello from the host") {
				t.Fatalf("observation:\n%.800s", obs)
			}
			if tc.restarted && !res.Restarted && !strings.Contains(exec1(t, s, "print('alive')").Observation(), "restarted") {
				t.Fatalf("worker was not restarted: %+v", res)
			}
			// The session works afterwards; the state survives unless the
			// worker had to be replaced.
			after := exec1(t, s, "print('ok', globals().get('marker'))").Observation()
			want := "ok 41"
			if tc.restarted {
				want = "ok None"
			}
			if !strings.HasSuffix(after, want) {
				t.Fatalf("after: %q, want %q", after, want)
			}
		})
	}
	if len(tests) > 0 {
		if _, err := os.Stat(outside); err == nil {
			t.Fatal("the worker wrote outside its directory")
		}
	}
}

func TestIsolationRequired(t *testing.T) {
	py, err := ResolvePython(testenv.Python(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no bubblewrap here
	_, err = New(context.Background(), nil, Options{Python: py})
	if err == nil || !strings.Contains(err.Error(), "--no-isolation") {
		t.Fatalf("got %v, want a refusal naming the opt-out", err)
	}
	s, err := New(context.Background(), nil, Options{Python: py, NoIsolation: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Exec(context.Background(), "print(2 + 2)")
	if err != nil || res.Observation() != "4" {
		t.Fatalf("%q %v", res.Observation(), err)
	}
}

// TestManySessions runs sessions in parallel and checks that closing them
// leaves no worker process and no directory behind (goleak checks the
// goroutines).
func TestManySessions(t *testing.T) {
	for _, isolated := range []bool{true, false} {
		t.Run(fmt.Sprintf("isolated=%v", isolated), func(t *testing.T) {
			if isolated {
				testenv.LookPath(t, "bwrap")
			}
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where a session without bubblewrap makes its directory
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			var pids []int
			var mu sync.Mutex
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					s, err := New(context.Background(), tools(), Options{Python: testenv.Python(t), NoIsolation: !isolated})
					if err != nil {
						errs <- err
						return
					}
					for j := 0; j < 5; j++ {
						res, err := s.Exec(context.Background(), fmt.Sprintf("print(greet('s%d-%d'))", i, j))
						if err != nil || res.Observation() != fmt.Sprintf("hello, s%d-%d", i, j) {
							errs <- fmt.Errorf("session %d: %q %v", i, res.Observation(), err)
						}
					}
					mu.Lock()
					pids = append(pids, workerPids(s)...)
					mu.Unlock()
					s.Close()
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if len(pids) < 6 {
				t.Fatalf("found %d worker processes, want at least 6", len(pids))
			}
			waitGone(t, pids)
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("left behind in TMPDIR: %v", left)
			}
		})
	}
}

// workerPids lists the processes of a session's worker: bubblewrap's and
// every one below it.
func workerPids(s *Session) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	pid := s.w.cmd.Process.Pid
	return append([]int{pid}, descendants(pid)...)
}

// waitGone waits until none of pids is alive (a zombie counts as gone: the
// kernel keeps it only for its parent to collect) and fails the test if
// they stay for long.
func waitGone(t *testing.T, pids []int) {
	t.Helper()
	var left []string
	for _, p := range pids {
		ended, err := testenv.WaitExit(p, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !ended {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			left = append(left, fmt.Sprintf("%d %.80s", p, strings.ReplaceAll(string(cmd), "\x00", " ")))
		}
	}
	if len(left) > 0 {
		t.Errorf("worker processes left behind: %v", left)
	}
}

func hasBwrap() bool {
	_, err := os.Stat("/usr/bin/bwrap")
	return err == nil
}
