package isolate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// workerEnv makes this test binary a worker (see TestMain); its value picks
// a behaviour: "serve" is the real worker, the others break the protocol.
const workerEnv = "GANTRY_ISOLATE_TEST_WORKER"

// TestMain re-executes the test binary as the worker: Serve, or a hostile
// worker that breaks the protocol in one way.
func TestMain(m *testing.M) {
	switch mode := os.Getenv(workerEnv); mode {
	case "":
		goleak.VerifyTestMain(m)
	case "serve":
		if err := ServeWorker(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "gateway":
		// A gateway of its own: print its worker's pid, run an endless
		// action, and wait to be killed.
		exe, _ := os.Executable()
		s, err := New(context.Background(), nil, Options{Command: []string{exe}, Env: []string{workerEnv + "=serve"},
			Sandbox: sandbox.Options{Timeout: time.Hour, MaxSteps: 1 << 62}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s.pid())
		s.Exec(context.Background(), "while True:\n    pass")
		os.Exit(1)
	default:
		os.Exit(hostileWorker(mode))
	}
}

// hostileWorker answers init, then misbehaves when the first action comes.
func hostileWorker(mode string) int {
	in := bufio.NewReader(os.NewFile(3, "in"))
	out := os.NewFile(4, "out")
	if _, err := readFrame(in, maxInitFrame); err != nil {
		return 1
	}
	if mode == "idle" {
		// One write: the second frame arrives with the first.
		out.Write([]byte(`{"type":"ready"}` + "\n" + `{"type":"result","id":1,"result":{"stdout":"forged","duration_ns":0}}` + "\n"))
	} else {
		out.Write([]byte(`{"type":"ready"}` + "\n"))
	}
	if _, err := readFrame(in, 1<<20); err != nil {
		return 1
	}
	switch mode {
	case "huge":
		chunk := []byte(strings.Repeat("x", 1<<20))
		for {
			if _, err := out.Write(chunk); err != nil {
				return 1
			}
		}
	case "forge-id":
		out.Write([]byte(`{"type":"result","id":7,"result":{"stdout":"forged","duration_ns":0}}` + "\n"))
	case "unknown-tool":
		out.Write([]byte(`{"type":"call","id":1,"name":"os.system","args":{}}` + "\n"))
	case "bad-json":
		out.Write([]byte("{\"type\":\"result\",\n"))
	case "extra-field":
		out.Write([]byte(`{"type":"result","id":1,"result":{"stdout":"x","duration_ns":0},"code":"x"}` + "\n"))
	case "crash":
		fmt.Fprintln(os.Stderr, "panic: something broke")
		return 2
	}
	// Until killed: waiting for a signal keeps the runtime from calling
	// this a deadlock.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	return 0
}

var errStalled = errors.New("motor stalled")

// testTools: a plain tool, a namespaced tool with bounds and a default, a
// failing tool, and a tool that returns what it is given.
func testTools() *tool.Registry {
	reg := tool.NewRegistry()
	reg.MustRegister(
		tool.Tool{
			Name: "add", Doc: "Add two ints.", Returns: tool.Int,
			Params: []tool.Param{{Name: "a", Type: tool.Int, Required: true}, {Name: "b", Type: tool.Int, Required: true}},
			Fn:     func(_ context.Context, a tool.Args) (any, error) { return a.Int("a") + a.Int("b"), nil },
		},
		tool.Tool{
			Name: "rover.drive", Doc: "Drive.", Returns: tool.Dict,
			Params: []tool.Param{
				{Name: "speed", Type: tool.Float, Required: true, Min: tool.Bound(-1), Max: tool.Bound(1)},
				{Name: "ms", Type: tool.Int, Default: int64(100)},
			},
			Fn: func(_ context.Context, a tool.Args) (any, error) {
				return map[string]any{"moved_m": a.Float("speed") * float64(a.Int("ms")) / 1000, "ms": a.Int("ms")}, nil
			},
		},
		tool.Tool{
			Name: "rover.lift", Doc: "Lift.",
			Fn: func(context.Context, tool.Args) (any, error) { return nil, fmt.Errorf("lift: %w", errStalled) },
		},
		tool.Tool{
			Name: "echo", Doc: "Return the value.", Returns: tool.Any,
			Params: []tool.Param{{Name: "value", Type: tool.Any}},
			Fn:     func(_ context.Context, a tool.Args) (any, error) { return a["value"], nil },
		},
		tool.Tool{
			Name: "point", Doc: "A struct result.", Returns: tool.Dict,
			Fn: func(context.Context, tool.Args) (any, error) {
				return struct {
					X float64 `json:"x"`
					Y int     `json:"y"`
				}{1.5, 2}, nil
			},
		},
	)
	return reg
}

// newSession starts a session whose worker is this test binary.
func newSession(t testing.TB, reg *tool.Registry, opts Options, mode string) *Session {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opts.Command = []string{exe}
	opts.Env = append(opts.Env, workerEnv+"="+mode)
	if reg == nil {
		reg = testTools()
	}
	s, err := New(context.Background(), reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Session) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return 0
	}
	return s.w.cmd.Process.Pid
}

func run(t *testing.T, s interface {
	Exec(context.Context, string) (tool.Result, error)
}, code string) tool.Result {
	t.Helper()
	res, err := s.Exec(context.Background(), code)
	if err != nil {
		t.Fatalf("%q: %v", code, err)
	}
	return res
}

// gone reports whether no process has the pid any more.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestStatePersists(t *testing.T) {
	s := newSession(t, nil, Options{}, "serve")
	pid := s.pid()
	steps := []struct{ code, want string }{
		{"x = 40", tool.NoOutput},
		{"x += 2\nprint(x)", "42"},
		{"def double(n):\n    return 2 * n\nitems = []", tool.NoOutput},
		{"items.append(double(x))\nitems", "[84]"},
		{"import json\njson.encode({'items': items})", `'{"items":[84]}'`},
		{"print(undefined_name)", "NameError: name 'undefined_name' is not defined"},
		{"items", "[84]"},
	}
	for _, st := range steps {
		res := run(t, s, st.code)
		if got := res.Observation(); !strings.Contains(got, st.want) {
			t.Fatalf("%q: got %q, want %q", st.code, got, st.want)
		}
		if res.Restarted {
			t.Fatalf("%q: restarted", st.code)
		}
	}
	if s.pid() != pid {
		t.Fatalf("worker changed from %d to %d", pid, s.pid())
	}
}

// TestToolsAsInProcess runs the same actions in process and in a worker:
// the observations and the exception types must be the same, and a tool's
// Go error must be the cause of the exception in both.
func TestToolsAsInProcess(t *testing.T) {
	iso := newSession(t, nil, Options{}, "serve")
	in, err := sandbox.New(testTools(), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tests := []struct {
		code    string
		want    string // in the observation
		errType string
		cause   error
	}{
		{code: "add(1, 2)", want: "3"},
		{code: "add(b=2, a=40)", want: "42"},
		{code: "print(rover.drive(speed=0.5))", want: "{'moved_m': 0.05, 'ms': 100}"},
		{code: "rover.drive(0.25, 400)['moved_m']", want: "0.1"},
		{code: "rover.drive(speed=2)", want: "speed must be <= 1.0, got 2", errType: "ValueError"},
		{code: "add(1)", want: "b is required", errType: "TypeError"},
		{code: "add(1, 2, 3)", want: "takes 2 arguments but 3 were given", errType: "TypeError"},
		{code: "add(1, c=3)", want: "unexpected argument", errType: "TypeError"},
		{code: "add('1', 2)", want: "must be an int, got str", errType: "TypeError"},
		{code: "print('before')\nrover.lift()", want: "before\nTraceback", errType: "RuntimeError", cause: errStalled},
		{code: "echo([1, 2.0, 'a', None, True, {'k': (1, 2)}, -0.5, 1e300, 10**18])", want: "[1, 2.0, 'a', None, True, {'k': [1, 2]}, -0.5, 1e+300, 1000000000000000000]"},
		{code: "echo(10**30)", want: "1000000000000000000000000000000"},
		{code: "rover.drive(float('nan'))", want: "speed must be a finite number, got nan", errType: "ValueError"},
		{code: "rover.drive(speed=float('-inf'))", want: "speed must be a finite number, got -inf", errType: "ValueError"},
		{code: "rover.drive(0.5, 10**20)", want: "ms is out of range", errType: "ValueError"},
		{code: "echo({'$float': 'nan', 'x': [float('inf')]})", want: "{'$float': 'nan', 'x': [inf]}"},
		{code: "echo({1: 2})", want: "dict keys must be str", errType: "TypeError"},
		{code: "point()", want: "{'x': 1.5, 'y': 2}"},
		{code: "nosuch(1)", want: "NameError", errType: "NameError"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			want := run(t, in, tc.code)
			got := run(t, iso, tc.code)
			if got.Observation() != want.Observation() {
				t.Fatalf("worker:\n%s\nin process:\n%s", got.Observation(), want.Observation())
			}
			if !strings.Contains(got.Observation(), tc.want) {
				t.Fatalf("observation %q lacks %q", got.Observation(), tc.want)
			}
			typ := ""
			if got.Err != nil {
				typ = got.Err.Type
			}
			if typ != tc.errType {
				t.Fatalf("error type %q, want %q", typ, tc.errType)
			}
			if tc.cause != nil && (!errors.Is(got.Err, tc.cause) || !errors.Is(want.Err, tc.cause)) {
				t.Fatalf("errors.Is(%v, %v) is false", got.Err, tc.cause)
			}
			var ae *tool.ArgError
			if tc.errType == "ValueError" && !errors.As(got.Err, &ae) {
				t.Fatalf("the cause of %v is not the registry's ArgError", got.Err)
			}
		})
	}
}

// TestWorkerDies: code that gets past the sandbox's own limits (they are
// set out of reach here) is stopped by the worker's process limits; the
// observation says so and that the state was lost; the next action runs in
// a fresh worker and the old one is gone.
func TestWorkerDies(t *testing.T) {
	noSandboxLimits := sandbox.Options{MaxMemory: 1 << 40, MaxSteps: 1 << 62, Timeout: 10 * time.Minute}
	tests := []struct {
		name    string
		opts    Options
		code    string
		errType string
		want    string
	}{
		{"one allocation over the address-space limit", Options{MaxMemory: 256 << 20, Sandbox: noSandboxLimits},
			"s = 'a' * 1000000000", "MemoryError", "the sandbox worker died (it went over its memory limit of 256 MiB)"},
		{"growth by small allocations", Options{MaxMemory: 256 << 20, Sandbox: noSandboxLimits},
			"l = []\nfor i in range(100000):\n    l.append('x' * 10000 + str(i))", "MemoryError", "memory limit of 256 MiB"},
		{"CPU time", Options{MaxCPU: time.Second, Sandbox: noSandboxLimits},
			"while True:\n    pass", "TimeoutError", "the sandbox worker died (it used up its CPU time limit of 1s per action)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, nil, tc.opts, "serve")
			run(t, s, "x = 1")
			pid := s.pid()
			res := run(t, s, tc.code)
			if res.Err == nil || res.Err.Type != tc.errType || !strings.Contains(res.Err.Message, tc.want) ||
				!strings.Contains(res.Err.Message, "variables, functions and imports were lost and a fresh session was started") || !res.Restarted {
				t.Fatalf("got %+v\n%s", res.Err, res.Observation())
			}
			if !strings.HasPrefix(res.Observation(), "[The session was restarted") {
				t.Fatalf("observation: %s", res.Observation())
			}
			if !gone(pid) {
				t.Fatalf("worker %d still exists", pid)
			}
			if got := run(t, s, "print(x)").Observation(); !strings.Contains(got, "NameError") {
				t.Fatalf("state survived: %s", got)
			}
			if got := run(t, s, "y = 2\nprint(y * 21)").Observation(); got != "42" {
				t.Fatalf("fresh worker: %s", got)
			}
		})
	}
}

// TestTimeoutKillsStuckWorker: a worker that does not answer (stopped here
// with SIGSTOP, as a builtin that never returns would leave it) is killed
// when the action overruns its time limit by the grace period.
func TestTimeoutKillsStuckWorker(t *testing.T) {
	s := newSession(t, nil, Options{Sandbox: sandbox.Options{Timeout: 100 * time.Millisecond}, Grace: 100 * time.Millisecond}, "serve")
	run(t, s, "x = 1")
	pid := s.pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, pid)
	res := run(t, s, "print(x)")
	want := "TimeoutError: the action exceeded its time limit of 100ms and the sandbox worker did not stop, so it was killed; the session's variables"
	if !res.Restarted || !strings.Contains(res.Observation(), want) {
		t.Fatalf("%s", res.Observation())
	}
	if !gone(pid) {
		t.Fatalf("worker %d still exists", pid)
	}
	if got := run(t, s, "print('alive')").Observation(); got != "alive" {
		t.Fatal(got)
	}
}

// TestCancel: cancelling the caller's context interrupts the action in the
// worker as in process, and the session keeps its state.
func TestCancel(t *testing.T) {
	for _, code := range []string{"hang_up()\nimport time\ntime.sleep(600)", "hang_up()\nwhile True:\n    pass"} {
		t.Run(code, func(t *testing.T) {
			var obs []string
			for _, isolated := range []bool{false, true} {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				reg := testTools()
				reg.MustRegister(tool.Tool{Name: "hang_up", Doc: "Cancel the caller's context.",
					Fn: func(context.Context, tool.Args) (any, error) { cancel(); return nil, nil }})
				var s interface {
					Exec(context.Context, string) (tool.Result, error)
				}
				if isolated {
					s = newSession(t, reg, Options{Sandbox: sandbox.Options{MaxSteps: 1 << 62}}, "serve")
				} else {
					in, err := sandbox.New(reg, sandbox.Options{MaxSteps: 1 << 62})
					if err != nil {
						t.Fatal(err)
					}
					defer in.Close()
					s = in
				}
				run(t, s, "x = 7")
				res, err := s.Exec(ctx, code)
				if err != nil {
					t.Fatal(err)
				}
				if res.Err == nil || res.Restarted {
					t.Fatalf("isolated=%v: %s", isolated, res.Observation())
				}
				// Where the cancellation lands (in the tool call's return
				// or at the next step) depends on timing; what it raises
				// does not.
				obs = append(obs, res.Err.Type+": "+res.Err.Message)
				if got := run(t, s, "print(x)").Observation(); got != "7" {
					t.Fatal(got)
				}
			}
			if obs[0] != obs[1] {
				t.Fatalf("in process:\n%s\nworker:\n%s", obs[0], obs[1])
			}
		})
	}
}

// TestHostileWorker: every frame the protocol does not expect ends the
// worker, with the loss stated; the gateway never buffers more than a frame.
func TestHostileWorker(t *testing.T) {
	tests := []struct{ mode, want string }{
		{"huge", "RuntimeError: the sandbox worker broke the protocol (frame too large: more than 65536 bytes), so it was killed"},
		{"idle", "the sandbox worker broke the protocol (it wrote while no action was running), so it was killed"},
		{"forge-id", "the sandbox worker broke the protocol (unexpected result frame)"},
		{"unknown-tool", `the sandbox worker broke the protocol (unexpected call frame: call of "os.system", which is not a tool)`},
		{"bad-json", "the sandbox worker broke the protocol (malformed frame: unexpected EOF)"},
		{"extra-field", "the sandbox worker broke the protocol (malformed frame: result with code)"},
		{"crash", "RuntimeError: the sandbox worker died (exit status 2: panic: something broke)"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			s := newSession(t, nil, Options{MaxFrame: 64 << 10}, tc.mode)
			pid := s.pid()
			res := run(t, s, "print('hello')")
			if !res.Restarted || !strings.Contains(res.Observation(), tc.want) ||
				!strings.Contains(res.Observation(), "variables, functions and imports were lost") {
				t.Fatalf("%s", res.Observation())
			}
			if !gone(pid) {
				t.Fatalf("worker %d still exists", pid)
			}
		})
	}
}

// TestCloseLeavesNothing: Close kills the worker and later actions fail.
func TestCloseLeavesNothing(t *testing.T) {
	s := newSession(t, nil, Options{}, "serve")
	pid := s.pid()
	if gone(pid) {
		t.Fatal("no worker")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !gone(pid) {
		t.Fatalf("worker %d still exists", pid)
	}
	if _, err := s.Exec(context.Background(), "1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Exec after Close: %v", err)
	}
}

// TestWorkerLimitsAndEnv reads the worker's limits and environment from
// /proc: the gateway's environment does not pass.
func TestWorkerLimitsAndEnv(t *testing.T) {
	t.Setenv("GANTRY_TEST_SECRET_KEY", "sk-do-not-leak")
	s := newSession(t, nil, Options{MaxMemory: 512 << 20}, "serve")
	run(t, s, "x = 1") // an action has set the CPU limit
	pid := s.pid()
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Split(strings.TrimRight(string(env), "\x00"), "\x00")
	want := []string{"GOMEMLIMIT=402653184", "GOGC=100", "GOMAXPROCS=1", workerEnv + "=serve"}
	if strings.Join(vars, " ") != strings.Join(want, " ") {
		t.Fatalf("environment %q, want %q", vars, want)
	}
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Max address space"):
			if f[3] == "unlimited" || f[3] != f[4] {
				t.Errorf("%s", line)
			}
		case strings.HasPrefix(line, "Max cpu time"), strings.HasPrefix(line, "Max open files"),
			strings.HasPrefix(line, "Max file size"), strings.HasPrefix(line, "Max core file size"):
			if f[3] == "unlimited" {
				t.Errorf("%s", line)
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Own process group: field 5 (pgrp) is the worker's pid.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if fields[2] != fmt.Sprint(pid) {
		t.Errorf("process group %s, want %d", fields[2], pid)
	}
}

// TestWorkerDiesWithGateway: a gateway killed with SIGKILL (no Close)
// takes its worker with it (Pdeathsig), even one busy in an action, which
// reads nothing that would tell it the gateway is gone.
func TestWorkerDiesWithGateway(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gw := osexec.Command(exe)
	gw.Env = append(os.Environ(), workerEnv+"=gateway")
	out, err := gw.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	defer gw.Wait()
	defer gw.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(line, &pid); err != nil || pid <= 0 || gone(pid) {
		t.Fatalf("worker pid %q: %v", line, err)
	}
	// Wait until the worker spins in the action: 0.3 s of CPU time.
	testenv.Eventually(t, "the worker never spun in the action", func() bool { return cpuTicks(pid) >= 30 })
	gw.Process.Kill()
	gw.Wait()
	// The worker is not our child: it is gone when the kernel has killed
	// it and its new parent has reaped it (or left it a zombie).
	if ended, err := testenv.WaitExit(pid, time.Minute); err != nil || !ended {
		t.Fatalf("worker %d outlived its gateway (%v): %s", pid, err, procStat(pid))
	}
}

func procStat(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return string(data)
}

// cpuTicks is the user CPU time of a process in clock ticks (-1 if gone).
func cpuTicks(pid int) int {
	stat := procStat(pid)
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(stat[i+2:])
	var n int
	fmt.Sscan(f[11], &n) // field 14, utime
	return n
}

// TestFrameLimits: values too large for a frame are refused with a clear
// error, and the session goes on; a huge error message is cut to fit.
func TestFrameLimits(t *testing.T) {
	reg := testTools()
	reg.MustRegister(tool.Tool{Name: "big", Doc: "A large result.", Returns: tool.String,
		Fn: func(context.Context, tool.Args) (any, error) { return strings.Repeat("y", 100_000), nil }})
	s := newSession(t, reg, Options{MaxFrame: 64 << 10}, "serve")
	pid := s.pid()
	tests := []struct{ code, want string }{
		{"x = 1\necho('x' * 100000)", "ValueError: echo: arguments are too large to pass to the tool (100012 bytes encoded; the limit is 65536)"},
		{"big()", "RuntimeError: big: result cannot be passed to the sandbox: it is 100002 bytes; the sandbox worker takes at most 65280"},
		{"fail('z' * 200000)", "Exception: zzz"},
		{"print(len(echo('x' * 1000)), x)", "1000 1"},
	}
	for _, tc := range tests {
		res := run(t, s, tc.code)
		if got := res.Observation(); !strings.Contains(got, tc.want) || len(got) > 64<<10 || res.Restarted {
			t.Fatalf("%q: %d bytes, restarted %v:\n%.300s", tc.code, len(got), res.Restarted, got)
		}
	}
	if s.pid() != pid {
		t.Fatal("the worker was replaced")
	}
}

// waitStopped waits until the kernel reports pid stopped (state T in
// /proc/PID/stat): kill returns before a busy machine has stopped it.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("worker %d did not stop", pid), func() bool {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the parenthesised command name.
		i := bytes.LastIndexByte(st, ')')
		return i >= 0 && i+2 < len(st) && st[i+2] == 'T'
	})
}

// TestRefusedCallsOnRecord: a call the worker refuses while binding its
// arguments reaches the gateway's Refused hook once, as in process, and the
// tool never runs; a call bound in the worker and refused by the gateway's
// check is heard once too.
func TestRefusedCallsOnRecord(t *testing.T) {
	tests := []struct{ code, want string }{
		{"add(1, 2, 3)", "takes 2 arguments but 3 were given"},
		{"add(1, c=3)", "unexpected argument"},
		{"add(1, 2, 3, 4, 5, [1] * 10)", "takes 2 arguments but 6 were given"},
		{"add(1)", "b is required"},
		{"add('x', 2)", "must be an int"},
	}
	for _, isolated := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("isolated=%v/%s", isolated, tc.code), func(t *testing.T) {
				var mu sync.Mutex
				var heard []string
				ran := 0
				reg := tool.NewRegistry()
				reg.MustRegister(tool.Tool{
					Name: "add", Doc: "Add two ints.", Returns: tool.Int,
					Params: []tool.Param{{Name: "a", Type: tool.Int, Required: true}, {Name: "b", Type: tool.Int, Required: true}},
					Fn: func(_ context.Context, a tool.Args) (any, error) {
						mu.Lock()
						ran++
						mu.Unlock()
						return a.Int("a") + a.Int("b"), nil
					},
					Refused: func(_ context.Context, _ map[string]any, err error) {
						mu.Lock()
						heard = append(heard, err.Error())
						mu.Unlock()
					},
				})
				var s interface {
					Exec(context.Context, string) (tool.Result, error)
				}
				if isolated {
					s = newSession(t, reg, Options{}, "serve")
				} else {
					in, err := sandbox.New(reg, sandbox.Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer in.Close()
					s = in
				}
				res := run(t, s, tc.code)
				if res.Err == nil || !strings.Contains(res.Err.Message, tc.want) {
					t.Fatalf("observation: %s", res.Observation())
				}
				mu.Lock()
				defer mu.Unlock()
				if len(heard) != 1 || !strings.Contains(heard[0], tc.want) || ran != 0 {
					t.Fatalf("heard %q, ran %d times", heard, ran)
				}
			})
		}
	}
}
