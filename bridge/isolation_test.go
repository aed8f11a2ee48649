package bridge

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/tool"
)

// TestSandboxEnvironment: neither the worker nor bubblewrap (pid 1 in the
// sandbox) carries gantry's environment.
func TestSandboxEnvironment(t *testing.T) {
	secret := "sk-test-" + fmt.Sprint(time.Now().UnixNano())
	t.Setenv("OPENAI_API_KEY", secret)
	t.Setenv("GANTRY_TEST_TOKEN", secret)
	s := newSession(t, Options{Env: []string{"EXTRA_SETTING=1"}})
	allowed := []string{"PATH", "HOME", "TMPDIR", "LANG", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
		"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MPLBACKEND", "EXTRA_SETTING", "PWD"}
	for _, file := range []string{"/proc/1/environ", "/proc/self/environ"} {
		t.Run(file, func(t *testing.T) {
			res := exec1(t, s, fmt.Sprintf("print(open(%q, 'rb').read().decode())", file))
			obs := res.Observation()
			if res.Err != nil || strings.Contains(obs, secret) || !strings.Contains(obs, "PATH=") {
				t.Fatalf("%s:\n%s", file, obs)
			}
			for _, kv := range strings.Split(strings.TrimRight(obs, "\x00\n"), "\x00") {
				if k, _, _ := strings.Cut(kv, "="); !slices.Contains(allowed, k) {
					t.Errorf("%s has %q, which the worker does not need", file, kv)
				}
			}
		})
	}
}

// TestSandboxUser: the worker is not root inside the sandbox, whatever
// gantry's user, and cannot change the kernel's settings. The test writes
// back the value it read, so the host is unchanged even if the write
// succeeds.
func TestSandboxUser(t *testing.T) {
	s := newSession(t, Options{})
	code := `import os
print('uid', os.getuid(), os.geteuid(), os.getgid())
print('map', open('/proc/self/uid_map').read().split()[0])
p = '/proc/sys/kernel/printk_ratelimit'
v = open(p).read()
try:
    with open(p, 'w') as f:
        f.write(v)
    print('wrote', p)
except OSError as e:
    print('refused', e.errno)`
	obs := exec1(t, s, code).Observation()
	if !strings.Contains(obs, "uid 65534 65534 65534\nmap 65534\nrefused ") {
		t.Fatalf("got:\n%s", obs)
	}
}

// TestWorkerCodeReadOnly: code cannot rewrite the worker's code, and a
// worker restarted after a crash has every limit and no state of the old one.
func TestWorkerCodeReadOnly(t *testing.T) {
	s := newSession(t, Options{MaxMemory: 1 << 30, MaxFileSize: 32 << 20, MaxOpenFiles: 200})
	exec1(t, s, "marker = 41")
	// The attack: find the worker's code, drop its limits, plant state,
	// then crash so that a fresh worker runs the rewritten code.
	attack := `import __main__, os, sys
targets = [getattr(__main__, '__file__', None)] + [a for a in sys.argv if a.endswith('.py')]
done = []
for p in filter(None, targets):
    try:
        src = open(p).read()
        src = src.replace('def set_limits(limits):', 'def set_limits(limits):\n    os.environ["INJECTED"] = "1"; return\n', 1)
        open(p, 'w').write(src)
        done.append(p)
    except OSError as e:
        print('refused', p, e)
print('rewrote', done)
os._exit(1)`
	res := exec1(t, s, attack)
	if res.Err == nil || res.Err.Type != "WorkerDied" || !res.Restarted {
		t.Fatalf("crash: %+v\n%s", res.Err, res.Observation())
	}
	check := `import os, resource
print(os.environ.get('INJECTED'), globals().get('marker'))
print(resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_FSIZE), resource.getrlimit(resource.RLIMIT_NOFILE))`
	want := fmt.Sprintf("None None\n(%d, %d) (%d, %d) (200, 200)", 1<<30, 1<<30, 32<<20, 32<<20)
	if got := exec1(t, s, check).Observation(); got != want {
		t.Fatalf("fresh worker:\n%s\nwant:\n%s", got, want)
	}
}

// TestNoHostSockets: Unix sockets the host listens on, in a temporary
// directory, under /var/tmp and in the abstract namespace, are out of the
// worker's reach.
func TestNoHostSockets(t *testing.T) {
	var paths []string
	for _, parent := range []string{"", "/var/tmp"} {
		dir, err := os.MkdirTemp(parent, "gantry-sock-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		path := filepath.Join(dir, "s")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		os.Chmod(path, 0o777)
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
		paths = append(paths, path)
	}
	// An abstract socket (no file; the network namespace holds it).
	abstract := fmt.Sprintf("@gantry-test-%d", os.Getpid())
	l, err := net.Listen("unix", abstract)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	paths = append(paths, abstract)
	s := newSession(t, Options{})
	for _, path := range paths {
		if strings.HasPrefix(path, "@") {
			path = "\x00" + path[1:]
		}
		code := fmt.Sprintf(`import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(%q)
    print('connected', s.recv(100))
except OSError as e:
    print('refused', e.errno)`, path)
		obs := exec1(t, s, code).Observation()
		if !strings.HasPrefix(obs, "refused") {
			t.Errorf("%s: %s", path, obs)
		}
	}
}

// TestStorageQuotas: /tmp, /dev/shm and the working directory are bounded in total,
// not only per file; a write past them is a clear OSError and the session
// goes on.
func TestStorageQuotas(t *testing.T) {
	s := newSession(t, Options{MaxFileSize: 6 << 20, MaxTmpSize: 8 << 20, MaxWorkSize: 12 << 20})
	exec1(t, s, "marker = 41")
	for _, dir := range []string{"/tmp", ".", "/dev/shm"} {
		code := fmt.Sprintf(`import os
chunk = b'x' * (1 << 20)
for i in range(8):
    with open(os.path.join(%q, 'f%%d' %% i), 'wb') as f:
        for _ in range(5):
            f.write(chunk)`, dir)
		res := exec1(t, s, code)
		if res.Err == nil || res.Err.Type != "OSError" || !strings.Contains(res.Err.Message, "No space left on device") || res.Restarted {
			t.Fatalf("%s: %+v\n%s", dir, res.Err, res.Observation())
		}
	}
	if got := exec1(t, s, "import os\nprint(marker, len(os.listdir('.')) > 0)").Observation(); got != "41 True" {
		t.Fatalf("after: %q", got)
	}
}

// TestProtocolViolations: frames the protocol does not expect, written by
// code to the worker's own pipe, end the worker; the observation says what
// was lost and the next action runs in a fresh worker.
func TestProtocolViolations(t *testing.T) {
	// stealID finds the running action's id in the worker's frames, as a
	// determined forger would.
	const stealID = `import sys, os, json, time
f = sys._getframe()
while f is not None and not (isinstance(f.f_locals.get('msg'), dict) and f.f_locals['msg'].get('type') == 'exec'):
    f = f.f_back
fid = f.f_locals['msg']['id']
`
	tests := []struct {
		name, code string
		// lateNext: the violation is seen by the next action, which is
		// not run.
		lateNext bool
		has      string
	}{
		{"frame without newline", "import os\nchunk = b'x' * (1 << 20)\nfor _ in range(16):\n    os.write(4, chunk)\nimport time\ntime.sleep(30)", false, "longer than the limit of 4 MiB"},
		{"forged result", "import os, time\nos.write(4, b'{\"type\":\"result\",\"id\":1,\"stdout\":\"forged\"}\\n')\ntime.sleep(30)", false, "result for another action"},
		{"NaN token", "import os, time\nos.write(4, b'{\"type\":\"call\",\"name\":\"greet\",\"args\":[NaN]}\\n')\ntime.sleep(30)", false, "cannot decode"},
		{"unexpected ready", "import os, time\nos.write(4, b'{\"type\":\"ready\"}\\n')\ntime.sleep(30)", false, "\"ready\" frame"},
		{"two values in a frame", "import os, time\nos.write(4, b'{\"type\":\"call\",\"name\":\"greet\"} {}\\n')\ntime.sleep(30)", false, "cannot decode"},
		// With the right id the forged result cannot be told from the
		// real one; the real one, coming later, ends the worker.
		{"forged result with the stolen id", stealID + "os.write(4, json.dumps({'type': 'result', 'id': fid, 'stdout': 'forged'}).encode() + b'\\n')\ntime.sleep(0.3)\nprint('late')", true, "the worker sent a"},
	}
	// The violation ends the action; the deadline is only a backstop, long
	// enough that a loaded machine does not reach it first.
	s := newSession(t, Options{Timeout: time.Minute, Grace: time.Second})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec1(t, s, "marker = 41")
			res := exec1(t, s, tc.code)
			if tc.lateNext {
				if res.Err != nil || res.Stdout != "forged" {
					t.Fatalf("forged: %+v %q", res.Err, res.Stdout)
				}
				res = exec1(t, s, "print('this action is not run')")
			}
			obs := res.Observation()
			if res.Err == nil || res.Err.Type != "ProtocolError" || !res.Restarted ||
				!strings.Contains(res.Err.Message, tc.has) || !strings.Contains(res.Err.Message, "are lost") ||
				strings.Contains(obs, "forged") || strings.Contains(obs, "not run\n") {
				t.Fatalf("got %+v restarted=%v\n%s", res.Err, res.Restarted, obs)
			}
			if got := exec1(t, s, "print('ok', globals().get('marker'))").Observation(); got != "ok None" {
				t.Fatalf("after: %q", got)
			}
		})
	}
}

// TestCodeSize: code over the limit is refused before it is sent, and the
// session keeps its state.
func TestCodeSize(t *testing.T) {
	s := newSession(t, Options{})
	exec1(t, s, "marker = 41")
	big := "x = 1\n" + strings.Repeat("#", DefaultMaxCode)
	res := exec1(t, s, big)
	if res.Err == nil || res.Err.Type != "ValueError" || !strings.Contains(res.Err.Message, "more than the limit of 1 MiB") || res.Restarted {
		t.Fatalf("%+v", res.Err)
	}
	if got := exec1(t, s, "print(marker, globals().get('x'))").Observation(); got != "41 None" {
		t.Fatalf("after: %q", got)
	}
	// At the limit, it runs.
	if got := exec1(t, s, "x = 2\nprint(x)\n"+strings.Repeat("#", DefaultMaxCode-len("x = 2\nprint(x)\n"))).Observation(); got != "2" {
		t.Fatalf("at the limit: %q", got)
	}
}

// TestSendIsTimed: sending an action's code counts against its time limit;
// a worker that does not take it is replaced.
func TestSendIsTimed(t *testing.T) {
	s := newSession(t, Options{Timeout: 2 * time.Second, Grace: 500 * time.Millisecond})
	// The code ends its action with a forged result carrying the real id and
	// keeps running, so the worker reads no more requests.
	steal := "import sys, os, json, time\nf = sys._getframe()\nwhile f is not None and not (isinstance(f.f_locals.get('msg'), dict) and f.f_locals['msg'].get('type') == 'exec'):\n    f = f.f_back\nfid = f.f_locals['msg']['id']\nos.write(4, json.dumps({'type': 'result', 'id': fid, 'stdout': 'forged'}).encode() + b'\\n')\ntime.sleep(3600)"
	exec1(t, s, steal)
	// More than a pipe holds, so the write blocks.
	res := exec1(t, s, "pass\n"+strings.Repeat("#", 512<<10))
	if res.Err == nil || res.Err.Type != "TimeoutError" || !strings.Contains(res.Err.Message, "did not take the action's code") || !res.Restarted {
		t.Fatalf("%+v", res.Err)
	}
	if got := exec1(t, s, "print('ok')").Observation(); got != "ok" {
		t.Fatalf("after: %q", got)
	}
}

// TestNonFiniteArguments: NaN and the infinities passed to a tool reach Go
// as float64 NaN and ±Inf, at once; a dict that looks like the encoding
// arrives as the dict it is.
func TestNonFiniteArguments(t *testing.T) {
	s := newSession(t, Options{})
	var got []message
	call := func(_ context.Context, m message) (map[string]any, error) {
		got = append(got, m)
		return map[string]any{"type": "return", "ok": true, "value": "fine"}, nil
	}
	code := "print(greet(float('nan'), x=float('inf'), y=[float('-inf'), 1.5, 2], z={'$float': 'nan'}, w={'$dict': 1}))"
	s.mu.Lock()
	res, _, alive := s.w.exec(context.Background(), code, 1, s.opts, true, call)
	s.mu.Unlock()
	if !alive || res.Err != nil || res.Stdout != "fine\n" || len(got) != 1 {
		t.Fatalf("alive=%v %+v %q, %d calls", alive, res.Err, res.Stdout, len(got))
	}
	m := got[0]
	if nan, ok := m.Args[0].(float64); !ok || !math.IsNaN(nan) {
		t.Errorf("args[0] = %#v, want NaN", m.Args[0])
	}
	if inf, ok := m.Kwargs["x"].(float64); !ok || !math.IsInf(inf, 1) {
		t.Errorf("x = %#v, want +Inf", m.Kwargs["x"])
	}
	y, _ := m.Kwargs["y"].([]any)
	if len(y) != 3 || !math.IsInf(y[0].(float64), -1) || y[1] != 1.5 || y[2] != int64(2) {
		t.Errorf("y = %#v", m.Kwargs["y"])
	}
	if z := fmt.Sprint(m.Kwargs["z"], m.Kwargs["w"]); z != "map[$float:nan] map[$dict:1]" {
		t.Errorf("z, w = %s", z)
	}
}

func TestFromWire(t *testing.T) {
	tests := []struct {
		frame string
		want  string // fmt of args, or the error
	}{
		{`{"type":"call","name":"f","args":[{"$float":"nan"},{"$float":"inf"},{"$float":"-inf"},1,1.5]}`, "[NaN +Inf -Inf 1 1.5]"},
		{`{"type":"call","name":"f","args":[{"$dict":{"$float":"nan"}},{"$dict":{"$dict":{"a":{"$float":"inf"}}}}]}`, "[map[$float:nan] map[$dict:map[a:+Inf]]]"},
		{`{"type":"call","name":"f","args":[{"$float":"nan","other":1}]}`, "[map[$float:nan other:1]]"},
		{`{"type":"call","name":"f","args":[{"$float":"zero"}]}`, "error: unknown float zero"},
		{`{"type":"call","name":"f","args":[{"$dict":[1]}]}`, "error: a $dict tag without a dict"},
		{`{"type":"call","name":"f","args":[NaN]}`, "error: invalid character 'N' looking for beginning of value"},
		{`{"type":"call"}{"type":"call"}`, "error: more than one JSON value in a frame"},
	}
	// Nesting is bounded by the JSON decoder, before any recursion of ours.
	deep := `{"type":"call","name":"f","args":[` + strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20) + `]}`
	tests = append(tests, struct{ frame, want string }{deep, "error: invalid character '[' exceeded max depth"})
	for _, tc := range tests {
		m, err := decodeMessage([]byte(tc.frame + "\n"))
		got := fmt.Sprint(m.Args)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%.200s: got %s, want %s", tc.frame, got, tc.want)
		}
	}
}

// TestNoIsolationStillBounded: without bubblewrap the protocol limits and
// the code size still hold.
func TestNoIsolationStillBounded(t *testing.T) {
	s := newSession(t, Options{NoIsolation: true})
	res := exec1(t, s, "import os\nos.write(4, b'{\"type\":\"result\",\"id\":1}\\n')\nimport time\ntime.sleep(30)")
	if res.Err == nil || res.Err.Type != "ProtocolError" || !res.Restarted || strings.Contains(res.Err.Message, "files") {
		t.Fatalf("%+v", res.Err)
	}
	if res := exec1(t, s, strings.Repeat("#", DefaultMaxCode+1)); res.Err == nil || res.Err.Type != "ValueError" {
		t.Fatalf("%+v", res.Err)
	}
}

// TestWorkerKeepsFramesBounded: what the code makes large (a tool call's
// arguments, an exception's message) stays within the frame limit: a clear
// error or a cut text, and the session keeps its state.
func TestWorkerKeepsFramesBounded(t *testing.T) {
	s := newSession(t, Options{})
	exec1(t, s, "marker = 41")
	tests := []struct{ code, errType, has string }{
		{"greet('x' * (5 << 20))", "ValueError", "bytes as JSON, more than a tool call may carry (4 MiB)"},
		{"raise KeyError('k' * (8 << 20))", "KeyError", "characters truncated"},
		{"x = 'y' * (8 << 20)\nraise ValueError(x + '\\n' + x)", "ValueError", "characters truncated"},
	}
	for _, tc := range tests {
		res := exec1(t, s, tc.code)
		if res.Err == nil || res.Err.Type != tc.errType || res.Restarted || !strings.Contains(res.Observation(), tc.has) || len(res.Observation()) > 64<<10 {
			t.Fatalf("%s: %+v restarted=%v\n%.300s", tc.code, res.Err != nil, res.Restarted, res.Observation())
		}
	}
	if got := exec1(t, s, "print(marker)").Observation(); got != "41" {
		t.Fatalf("after: %q", got)
	}
}

// TestVenvUnderTmp: an interpreter of a virtual environment under the
// host's /tmp (which the sandbox replaces with its own) still runs.
func TestVenvUnderTmp(t *testing.T) {
	venv := filepath.Join(t.TempDir(), "venv")
	base, err := ResolvePython(testenv.Python(t))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(base, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, out)
	}
	py := filepath.Join(venv, "bin", "python")
	testenv.LookPath(t, "bwrap")
	s, err := New(context.Background(), nil, Options{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Exec(context.Background(), "import sys\nprint(sys.prefix)")
	if err != nil || res.Observation() != venv {
		t.Fatalf("%q %v, want %s", res.Observation(), err, venv)
	}
}

// TestWorkerDiesBetweenActions: a worker that code makes exit after its
// action ended is replaced, and the next action says what was lost.
func TestWorkerDiesBetweenActions(t *testing.T) {
	s := newSession(t, Options{})
	exec1(t, s, "marker = 41\nimport os, threading\nthreading.Timer(0.2, os._exit, [3]).start()")
	// The next action finds the worker dead, or it dies during the action:
	// actions run until one of them does (a minute is a backstop, however
	// late a busy machine runs the timer).
	var res tool.Result
	for backstop := time.Now().Add(testenv.Patience); time.Now().Before(backstop); {
		if res = exec1(t, s, "import time\ntime.sleep(0.05)\nprint('ok', globals().get('marker'))"); res.Err != nil {
			break
		}
	}
	if res.Err == nil || res.Err.Type != "WorkerDied" || !res.Restarted || !strings.Contains(res.Err.Message, "exit status 3") || !strings.Contains(res.Err.Message, "are lost") {
		t.Fatalf("%+v restarted=%v", res.Err, res.Restarted)
	}
	if got := exec1(t, s, "print('ok', globals().get('marker'))").Observation(); got != "ok None" {
		t.Fatalf("after: %q", got)
	}
}

// TestNonFiniteRefused: NaN and the infinities given to a number parameter
// are refused at once with a ValueError naming the parameter, and the
// session stays usable; a wrong type is a TypeError. Both are ToolErrors
// too.
func TestNonFiniteRefused(t *testing.T) {
	s := newSession(t, Options{})
	for _, code := range []string{"arm.grip(float('nan'))", "arm.grip(force=float('inf'))", "arm.grip(force=-float('inf'))"} {
		res := exec1(t, s, code)
		if res.Err == nil || res.Err.Type != "ValueError" || !strings.Contains(res.Err.Message, "force must be a finite number") {
			t.Errorf("%s: %+v", code, res.Err)
		}
	}
	res := exec1(t, s, "arm.grip(force='x')")
	if res.Err == nil || res.Err.Type != "TypeError" {
		t.Errorf("a string for a float: %+v", res.Err)
	}
	if got := exec1(t, s, "try:\n    arm.grip(force=float('nan'))\nexcept ValueError as e:\n    print('caught', type(e).__mro__[1].__name__)").Observation(); got != "caught ToolError" {
		t.Errorf("caught: %q", got)
	}
	if got := exec1(t, s, "print('alive')").Observation(); got != "alive" {
		t.Fatalf("after the refusals: %q", got)
	}
}

// TestNoProcessAboveWorker: nothing in the sandbox above the worker can be
// traced or read: the worker is pid 1 there (no bubblewrap process beside
// it holding gantry's memory layout), and it has no parent in the sandbox.
func TestNoProcessAboveWorker(t *testing.T) {
	s := newSession(t, Options{})
	code := `import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print('pid', os.getpid(), 'ppid', os.getppid())
others = sorted(int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid())
print('others', others)
for pid in others:
    if libc.ptrace(16, pid, None, None) == 0:
        print('attached', pid)
    try:
        open('/proc/%d/mem' % pid, 'rb').close()
        print('mem', pid)
    except OSError:
        pass`
	obs := exec1(t, s, code).Observation()
	if obs != "pid 1 ppid 0\nothers []" {
		t.Fatalf("got:\n%s", obs)
	}
	// pid 1 ignores signals it has no handler for from inside its
	// namespace; the interruption of an action (SIGINT from gantry) still
	// works, and the session survives it.
	r, err := s.Exec(context.Background(), "import os, signal\nos.kill(1, signal.SIGTERM)\nos.kill(0, signal.SIGKILL)\nprint('survived')")
	if err != nil || r.Observation() != "survived" {
		t.Fatalf("signals from inside: %v %q", err, r.Observation())
	}
}

// TestSandboxUserOutside: seen from outside the sandbox, the worker and
// what it starts run as nobody (65534) with no supplementary group, even
// when gantry is root, so they own none of root's files and the process
// limit binds them: a fork bomb ends in BlockingIOError and the session
// goes on. No user namespace can be made inside, and no descriptor other
// than the protocol's is open.
func TestSandboxUserOutside(t *testing.T) {
	s := newSession(t, Options{MaxProcs: 16})
	code := `import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
print('unshare', libc.unshare(0x10000000), ctypes.get_errno() != 0)
links = []
for f in os.listdir('/proc/self/fd'):
    try:
        links.append(os.readlink('/proc/self/fd/' + f))
    except OSError:
        pass
print('namespace fds', [l for l in links if l.startswith(('user:', 'mnt:', 'pid:'))])
n = 0
try:
    for i in range(100):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
finally:
    print('forked', n < 100)`
	// The worker is the process below bubblewrap, idle between actions.
	var status string
	for _, p := range descendants(s.w.cmd.Process.Pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err == nil && strings.Contains(string(b), "Name:\tpython") {
			status = string(b)
		}
	}
	for _, want := range []string{`(?m)^Uid:\t65534\t65534\t65534\t65534$`, `(?m)^Gid:\t65534\t65534\t65534\t65534$`, `(?m)^Groups:\s*$`} {
		if os.Geteuid() != 0 && !strings.Contains(want, "Groups") {
			continue // not root: the worker runs as gantry's own user
		}
		if !regexp.MustCompile(want).MatchString(status) {
			t.Errorf("worker seen from outside: want %s in\n%s", want, status)
		}
	}
	res := exec1(t, s, code)
	obs := res.Observation()
	if res.Err == nil || res.Err.Type != "BlockingIOError" || !strings.Contains(obs, "unshare -1 True\nnamespace fds []\nforked True") {
		t.Fatalf("got:\n%s", obs)
	}
	if got := exec1(t, s, "print('alive')").Observation(); got != "alive" {
		t.Fatalf("after the fork bomb: %q", got)
	}
}

// workerPIDs lists the Python processes of the session's worker, as gantry
// sees them.
func workerPIDs(s *Session) []int {
	var out []int
	for _, p := range descendants(s.w.cmd.Process.Pid) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); err == nil && strings.HasPrefix(string(b), "python") {
			out = append(out, p)
		}
	}
	return out
}

// TestKilledWorkerEnds: a worker that ignores the interruption is killed at
// the time limit, really: the sandbox's pid 1 ends with bubblewrap, also
// when bubblewrap (root) may not signal it (the worker runs as nobody).
func TestKilledWorkerEnds(t *testing.T) {
	s := newSession(t, Options{Timeout: time.Second, Grace: 200 * time.Millisecond})
	old := workerPIDs(s)
	if len(old) == 0 {
		t.Fatal("no worker process found")
	}
	res := exec1(t, s, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")
	if res.Err == nil || res.Err.Type != "TimeoutError" || !res.Restarted {
		t.Fatalf("%+v", res)
	}
	for _, p := range old {
		// A generous bound: it ends in milliseconds.
		if ended, err := testenv.WaitExit(p, time.Minute); err != nil || !ended {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			t.Fatalf("the killed worker %d still runs (%v): %s", p, err, b)
		}
	}
	if got := exec1(t, s, "print('alive')").Observation(); got != "alive" {
		t.Fatalf("after the kill: %q", got)
	}
}
