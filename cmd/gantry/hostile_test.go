package main

// TestHostile runs the hostile corpus (testdata/hostile, format in its
// README.md) through a gantry binary built once, each run under a memory
// cap (prlimit --as), at most two at a time, and checks for each: gantry
// ended by itself (the test kills only at the action's limit plus a
// generous margin, and a kill is a failure), no Go crash, gantry's peak RSS
// under 1 GiB, the expected Python-style error in the observation, no
// secret of gantry's environment and no successful attack visible, no host
// write, nothing left behind (processes, files), and where a case says so,
// a next action that works.
//
//	go test ./cmd/gantry -run 'TestHostile/join_1mb' -v
//
// Knobs (environment): GANTRY_HOSTILE_BIN (a built gantry instead of
// building one), GANTRY_HOSTILE_PARALLEL (runs at a time, default 2),
// GANTRY_HOSTILE_MARGIN (default 20s), GANTRY_HOSTILE_AS_GIB (address-space
// cap, default 8), GANTRY_HOSTILE_ISOLATE=1 (also run Starlark cases with
// `exec --isolate`).

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/gantry-dev/gantry/internal/testenv"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/bridge"
)

// replayGame is the ALFWorld game of two-action runs (any embedded game
// does: the actions do not play it).
const replayGame = "pick_two_obj_and_place-PepperShaker-None-Drawer-10/trial_T20190908_010306_215435"

// otherSession is a fake session directory the test puts next to the real
// ones, holding the canary: no session may read it.
const otherSession = "gantry-py-othersession"

func TestHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile corpus takes minutes")
	}
	cases, err := loadHostileCases(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			if c.Kind == "cmd" {
				h.runCmdCase(t, c)
				return
			}
			for _, rt := range h.runtimes(c) {
				t.Run(rt, func(t *testing.T) {
					t.Parallel()
					h.runCodeCase(t, c, rt)
				})
			}
		})
	}
}

// TestHostileCorpus checks the corpus files alone (fast; also in -short).
func TestHostileCorpus(t *testing.T) {
	cases, err := loadHostileCases(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 80 {
		t.Errorf("the corpus has %d cases, want at least 80", len(cases))
	}
	for _, c := range cases {
		if c.Then != "" && len(c.Code) > 900<<10 {
			t.Errorf("%s: a case with then: must be under 900 KiB (a model message is cut at 1 MiB)", c.Name)
		}
	}
}

// TestHostileActionLimit: a case keeps its short limit only where the
// deadline is an answer it accepts; elsewhere the limit is a backstop that
// a busy machine cannot reach before the case's own limit.
func TestHostileActionLimit(t *testing.T) {
	tests := []struct {
		name string
		c    hostileCase
		rt   string
		want time.Duration
	}{
		{"memory bomb", hostileCase{Expect: []string{"MemoryError"}, Timeout: 2 * time.Second}, "starlark", backstopLimit},
		{"memory bomb, isolated", hostileCase{Expect: []string{"MemoryError"}, Timeout: 2 * time.Second}, "starlark-isolate", backstopLimit},
		{"deadline", hostileCase{Expect: []string{"TimeoutError"}, Timeout: time.Second}, "starlark", time.Second},
		{"deadline or memory", hostileCase{Expect: []string{"MemoryError", "TimeoutError"}, Timeout: 2 * time.Second}, "python", 2 * time.Second},
		{"deadline in one runtime", hostileCase{Expect: []string{"MemoryError"}, ExpectRT: map[string][]string{"python": {"MemoryError", "TimeoutError"}}, Timeout: 2 * time.Second}, "python", 2 * time.Second},
		{"not in the other", hostileCase{Expect: []string{"MemoryError"}, ExpectRT: map[string][]string{"python": {"MemoryError", "TimeoutError"}}, Timeout: 2 * time.Second}, "starlark", backstopLimit},
		{"ok", hostileCase{Expect: []string{"ok"}, Timeout: 2 * time.Second}, "starlark", backstopLimit},
		{"longer than the backstop", hostileCase{Expect: []string{"OSError"}, Timeout: 2 * time.Minute}, "python", 2 * time.Minute},
	}
	for _, tc := range tests {
		if got := tc.c.actionLimit(tc.rt); got != tc.want {
			t.Errorf("%s: action limit %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHostileChecks shows that the checks can fail: each broken run is
// caught.
func TestHostileChecks(t *testing.T) {
	c := &hostileCase{Name: "x", Expect: []string{"MemoryError"}}
	good := hostileRun{stdout: "Traceback (most recent call last):\nMemoryError: too big\n", stdoutLen: 40, exitCode: 1, peakRSS: 50 << 20}
	if p := c.execProblems(&good, "starlark", "canary-1"); len(p) != 0 {
		t.Fatalf("a contained run has problems: %v", p)
	}
	tests := []struct {
		name   string
		break_ func(r *hostileRun)
		want   string
	}{
		{"killed", func(r *hostileRun) { r.killed = true }, "did not end by itself"},
		{"signal", func(r *hostileRun) { r.signal = "killed"; r.exitCode = -1 }, "died of signal"},
		{"fatal", func(r *hostileRun) { r.stderr = "fatal error: stack overflow\n"; r.exitCode = 2 }, "Go runtime crash"},
		{"oom", func(r *hostileRun) { r.stderr = "runtime: out of memory: cannot allocate\n" }, "Go runtime crash"},
		{"rss", func(r *hostileRun) { r.peakRSS = 2 << 30 }, "peak RSS"},
		{"canary", func(r *hostileRun) { r.stdout += "GANTRY_TEST_SECRET=canary-1" }, "secret"},
		{"win", func(r *hostileRun) { r.stdout += "HOSTILE-WIN real root" }, "attack reported success"},
		{"wrong type", func(r *hostileRun) { r.stdout = "TimeoutError: slow\n" }, "does not show MemoryError"},
		{"no error", func(r *hostileRun) { r.stdout = "done\n"; r.exitCode = 0 }, "exit status 0"},
		{"huge", func(r *hostileRun) { r.stdoutLen = 5 << 20 }, "must be cut"},
		{"leftover", func(r *hostileRun) { r.leftovers = []string{"pid 7 (python3)"} }, "left behind"},
		{"gantry error", func(r *hostileRun) { r.stderr = "gantry: python runtime: broken\n" }, "instead of answering"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.break_(&r)
			p := c.execProblems(&r, "starlark", "canary-1")
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Fatalf("problems %q, want one saying %q", p, tc.want)
			}
		})
	}
	if !matchExpect("x\nValueError: bad\n", []string{"MemoryError", "ValueError"}) || matchExpect("ok\n", []string{"ValueError"}) ||
		matchExpect("Traceback (most recent call last):\nKeyError: 1\n", []string{"ok"}) || !matchExpect("42\n", []string{"ok"}) {
		t.Fatal("matchExpect")
	}
	obs := observations("=== user ===\nhi\n=== assistant ===\n<execute>1</execute>\n=== observation ===\nMemoryError: x\n=== assistant ===\n<execute>2</execute>\n=== observation ===\nalive\n=== LOST: g in 2 turns\n")
	if len(obs) != 2 || obs[0] != "MemoryError: x\n" || obs[1] != "alive\n" {
		t.Fatalf("observations: %q", obs)
	}
	tc := &hostileCase{Name: "t", Expect: []string{"MemoryError"}, Then: "print(1)", ThenExpect: []string{"alive"}, ThenAbsent: []string{"forged"},
		ThenRT: map[string][]string{"python": {"alive", "NameError"}}}
	run := func(second string) *hostileRun {
		return &hostileRun{stdout: "=== observation ===\nMemoryError: x\n=== assistant ===\n=== observation ===\n" + second + "\n=== LOST: g\n"}
	}
	if p := tc.thenProblems(run("alive"), "starlark", ""); len(p) != 0 {
		t.Fatalf("a usable session has problems: %v", p)
	}
	for _, bad := range []struct{ rt, second, want string }{
		{"starlark", "NameError: keep", "not usable"},
		{"starlark", "alive forged", "reached into it"},
	} {
		if p := tc.thenProblems(run(bad.second), bad.rt, ""); !strings.Contains(strings.Join(p, "\n"), bad.want) {
			t.Fatalf("then %q in %s: problems %q, want %q", bad.second, bad.rt, p, bad.want)
		}
	}
	if p := tc.thenProblems(run("NameError: keep"), "python", ""); len(p) != 0 {
		t.Fatalf("then-expect-python is not used: %v", p)
	}
	got, err := expandCode("a = 1\n#@ repeat 3: \"\\n\"\nprint('@@RAND@@')\n", map[string]string{"RAND": "r1"})
	if err != nil || got != "a = 1\n\n\n\nprint('r1')\n" {
		t.Fatalf("expandCode: %q %v", got, err)
	}
	if _, err := expandCode("@@NOPE@@", nil); err == nil {
		t.Fatal("an unknown placeholder is accepted")
	}
}

// harness is what every run of the corpus shares.
type harness struct {
	bin        string
	prlimit    string
	asLimit    int64
	margin     time.Duration
	canary     string
	root       string // case directories, under /var/tmp (not under the sandbox's private /tmp)
	sem        chan struct{}
	python     string // resolved interpreter, "" when the Python runtime cannot run
	noPython   string // why not
	isolate    bool   // also run Starlark cases with --isolate
	runIsolate bool   // gantry run takes --isolate too

	brokerOnce sync.Once
	brokerURL  string
	brokerErr  error
	brokerStop func() // set once the broker runs
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{asLimit: 8 << 30, margin: 20 * time.Second}
	pl, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip(errNoPrlimit)
	}
	h.prlimit = pl
	if v := os.Getenv("GANTRY_HOSTILE_AS_GIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("GANTRY_HOSTILE_AS_GIB=%q: want a number of GiB", v)
		}
		h.asLimit = int64(n) << 30
	}
	if v := os.Getenv("GANTRY_HOSTILE_MARGIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("GANTRY_HOSTILE_MARGIN=%q: %v", v, err)
		}
		h.margin = d
	}
	par := 2
	if v := os.Getenv("GANTRY_HOSTILE_PARALLEL"); v != "" {
		if par, err = strconv.Atoi(v); err != nil || par <= 0 {
			t.Fatalf("GANTRY_HOSTILE_PARALLEL=%q: want a positive number", v)
		}
	}
	h.sem = make(chan struct{}, par)
	h.isolate = os.Getenv("GANTRY_HOSTILE_ISOLATE") == "1"
	// Runs after every case (parallel subtests end before their parent's
	// cleanup): the broker fixture, when a case started it.
	t.Cleanup(func() {
		h.brokerOnce.Do(func() {}) // no broker from now on
		if h.brokerStop != nil {
			h.brokerStop()
		}
	})
	h.canary = "canary-" + randHex(12)

	base := "/var/tmp"
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		base = ""
	}
	root, err := os.MkdirTemp(base, "gantry-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	h.root = root
	t.Cleanup(func() {
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				os.Chmod(p, 0o700) // a case may have made a directory unwritable
			}
			return nil
		})
		os.RemoveAll(root)
	})

	if bin := os.Getenv("GANTRY_HOSTILE_BIN"); bin != "" {
		h.bin = bin
	} else {
		h.bin = filepath.Join(root, "gantry")
		out, err := exec.Command("go", "build", "-o", h.bin, ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}

	if h.isolate {
		help, _ := exec.Command(h.bin, "exec", "--help").CombinedOutput()
		if !strings.Contains(string(help), "--isolate") {
			t.Fatal("GANTRY_HOSTILE_ISOLATE=1, but this gantry's exec has no --isolate")
		}
		help, _ = exec.Command(h.bin, "run", "--help").CombinedOutput()
		h.runIsolate = strings.Contains(string(help), "--isolate")
	}

	if _, err := exec.LookPath("bwrap"); err != nil {
		h.noPython = "bubblewrap is not installed"
	} else if py, err := bridge.ResolvePython(""); err != nil {
		h.noPython = err.Error()
	} else {
		h.python = py
	}
	return h
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runtimes are the runtimes a code case runs in.
func (h *harness) runtimes(c *hostileCase) []string {
	var out []string
	for _, rt := range c.Runtimes {
		out = append(out, rt)
		if rt == "starlark" && h.isolate {
			out = append(out, "starlark-isolate")
		}
	}
	return out
}

// caseEnv is one run's directory, environment and placeholders.
type caseEnv struct {
	dir       string
	vars      map[string]string
	env       []string
	listeners []*listener
	fixtures  map[string]bool // entries of TMPDIR the test made
}

// newCaseEnv makes a case directory with a host directory, a home, a
// TMPDIR holding another session's files, and the listeners the code
// names.
func (h *harness) newCaseEnv(t *testing.T, name, code string) *caseEnv {
	t.Helper()
	dir, err := os.MkdirTemp(h.root, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	ce := &caseEnv{dir: dir, fixtures: map[string]bool{otherSession: true}}
	for _, sub := range []string{"host", "home", "tmp", filepath.Join("tmp", otherSession, "work"), filepath.Join("tmp", otherSession, "tmp")} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := "notes of another session: " + h.canary + "\n"
	for _, f := range []string{filepath.Join("tmp", otherSession, "work", "notes.txt"), filepath.Join("tmp", otherSession, "tmp", "notes.txt")} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ce.vars = map[string]string{
		"DIR":      dir,
		"HOSTDIR":  filepath.Join(dir, "host"),
		"HOSTHOME": filepath.Join(dir, "home"),
		"SESSIONS": filepath.Join(dir, "tmp"),
		"RAND":     randHex(6),
		"BROKER":   "",
	}
	listen := func(placeholder, network, addr string) {
		if !strings.Contains(code, "@@"+placeholder+"@@") {
			return
		}
		l, err := newListener(network, addr, h.canary)
		if err != nil {
			t.Fatalf("listener for @@%s@@: %v", placeholder, err)
		}
		ce.listeners = append(ce.listeners, l)
		t.Cleanup(l.close)
		switch network {
		case "tcp":
			ce.vars[placeholder] = l.l.Addr().String()
		default:
			ce.vars[placeholder] = strings.TrimPrefix(addr, "@")
		}
	}
	listen("SOCK", "unix", filepath.Join(dir, "host.sock"))
	listen("TMPSOCK", "unix", filepath.Join(t.TempDir(), "host.sock"))
	listen("ABSTRACT", "unix", "@gantry-hostile-"+randHex(6))
	listen("TCP", "tcp", "127.0.0.1:0")

	ce.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + ce.vars["HOSTHOME"],
		"TMPDIR=" + ce.vars["SESSIONS"],
		"USER=hostile",
		"LANG=C.UTF-8",
		// Secrets gantry holds and no code may see.
		"GANTRY_TEST_SECRET=" + h.canary,
		"OPENAI_API_KEY=" + h.canary,
		"GANTRY_API_KEY=" + h.canary,
		"AWS_SECRET_ACCESS_KEY=" + h.canary,
		// The marker that finds this run's processes afterwards.
		"GANTRY_HOSTILE_MARKER=" + dir,
	}
	if h.python != "" {
		ce.env = append(ce.env, "GANTRY_PYTHON="+h.python)
	}
	return ce
}

// listener is a host socket that no sandbox may reach; it counts the
// connections it got and sends the canary on each.
type listener struct {
	l     net.Listener
	conns atomic.Int64
	done  chan struct{}
}

func newListener(network, addr, canary string) (*listener, error) {
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	ln := &listener{l: l, done: make(chan struct{})}
	go func() {
		defer close(ln.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ln.conns.Add(1)
			c.Write([]byte("host socket answered: " + canary + "\n"))
			c.Close()
		}
	}()
	return ln, nil
}

func (l *listener) close() {
	l.l.Close()
	<-l.done
}

// hostProblems checks what a run may have done to the host: connections
// to the test's sockets, files at nowrite paths, files left in TMPDIR.
func (ce *caseEnv) hostProblems(nowrite []string) []string {
	var p []string
	for _, l := range ce.listeners {
		if n := l.conns.Load(); n > 0 {
			p = append(p, fmt.Sprintf("the sandbox reached the host socket %s (%d connections)", l.l.Addr(), n))
			l.conns.Store(0)
		}
	}
	for _, nw := range nowrite {
		path, err := expandCode(nw, ce.vars)
		if err != nil {
			p = append(p, err.Error())
			continue
		}
		path = strings.TrimSpace(path)
		if _, err := os.Lstat(path); err == nil {
			p = append(p, fmt.Sprintf("host write visible: %s exists", path))
			os.RemoveAll(path)
		}
	}
	entries, _ := os.ReadDir(ce.vars["SESSIONS"])
	for _, e := range entries {
		if !ce.fixtures[e.Name()] {
			p = append(p, "left behind: "+filepath.Join(ce.vars["SESSIONS"], e.Name()))
		}
	}
	return p
}

// runCodeCase runs a code case with `gantry exec`, then, when it has a
// then:, as two actions of one session with `gantry run`.
func (h *harness) runCodeCase(t *testing.T, c *hostileCase, rt string) {
	if rt == "python" && h.python == "" {
		t.Skipf("the Python runtime cannot run here: %s", h.noPython)
	}
	ce := h.newCaseEnv(t, c.Name+"-"+rt, c.Code)
	code, err := expandCode(c.Code, ce.vars)
	if err != nil {
		t.Fatal(err)
	}
	codeFile := filepath.Join(ce.dir, "code.txt")
	if err := os.WriteFile(codeFile, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	runtime, extra := rt, []string(nil)
	if rt == "starlark-isolate" {
		runtime, extra = "starlark", []string{"--isolate"}
	}
	limit := c.actionLimit(rt)
	args := append([]string{"exec", "--runtime", runtime, "--timeout", limit.String()}, extra...)
	if c.Tools != "" {
		args = append(args, "--tools", c.Tools)
	}
	args = append(args, codeFile)
	r := h.run(t, ce, limit, args)
	p := append(c.execProblems(r, rt, h.canary), ce.hostProblems(c.NoWrite)...)
	if len(p) > 0 {
		t.Error(r.report(c, rt, "exec", p))
	} else {
		t.Logf("%s (%s): contained in %s, peak RSS %d MiB", c.Name, rt, r.elapsed.Round(time.Millisecond), r.peakRSS>>20)
	}
	if c.Then == "" {
		return
	}
	then, err := expandCode(c.Then, ce.vars)
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	rec := map[string]any{
		"task": map[string]any{"task_id": replayGame},
		"state": map[string]any{"history": []msg{
			{"assistant", "<execute>\n" + code + "\n</execute>"},
			{"assistant", "<execute>\n" + then + "\n</execute>"},
			{"assistant", "<solution>done</solution>"},
		}},
	}
	data, _ := json.Marshal(rec)
	replay := filepath.Join(ce.dir, "actions.jsonl")
	if err := os.WriteFile(replay, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if rt == "starlark-isolate" && !h.runIsolate {
		t.Logf("%s: gantry run has no --isolate: the two-action run is left out", c.Name)
		return
	}
	args = append([]string{"run", "--policy", "replay", "--replay", replay, "--game", replayGame, "--runtime", runtime,
		"--action-timeout", limit.String(), "--stuck", "0", "--proposals", "1", "--turns", "5", "--example=false"}, extra...)
	r = h.run(t, ce, 2*limit, args)
	p = append(c.thenProblems(r, rt, h.canary), ce.hostProblems(c.NoWrite)...)
	if len(p) > 0 {
		t.Error(r.report(c, rt, "then", p))
	}
}

// runCmdCase runs the gantry commands of a cmd case.
func (h *harness) runCmdCase(t *testing.T, c *hostileCase) {
	cc := c.Cmd
	ce := h.newCaseEnv(t, c.Name, "")
	for _, need := range cc.Needs {
		if need == "broker" {
			url, err := h.broker(t)
			if err != nil {
				t.Fatalf("fixture broker: %v", err)
			}
			ce.vars["BROKER"] = url
		}
	}
	for name, content := range cc.Files {
		text, err := expandCode(content, ce.vars)
		if err != nil {
			t.Fatalf("file %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(ce.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, g := range cc.Generate {
		if err := writeGzipBomb(filepath.Join(ce.dir, name), *g.GzipBomb); err != nil {
			t.Fatalf("generate %s: %v", name, err)
		}
	}
	for i, step := range cc.Steps {
		var args []string
		for _, a := range step.Args {
			x, err := expandCode(a, ce.vars)
			if err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
			args = append(args, strings.TrimSuffix(x, "\n"))
		}
		r := h.run(t, ce, c.Timeout, args)
		p := r.problems(h.canary, step.Absent)
		want, _ := parseExit(step.Exit)
		if !r.killed && r.signal == "" {
			switch {
			case want < 0 && r.exitCode == 0:
				p = append(p, "exit status 0, want an error")
			case want >= 0 && r.exitCode != want:
				p = append(p, fmt.Sprintf("exit status %d, want %d", r.exitCode, want))
			}
			all := r.stdout + r.stderr
			for _, o := range step.Output {
				if !strings.Contains(all, o) {
					p = append(p, fmt.Sprintf("output lacks %q", o))
				}
			}
		}
		p = append(p, ce.hostProblems(nil)...)
		if len(p) > 0 {
			t.Error(r.report(c, "cmd", fmt.Sprintf("step %d", i+1), p))
		}
	}
	if a := cc.Audit; a != nil {
		if p := checkAudit(filepath.Join(ce.dir, a.File), a); len(p) > 0 {
			t.Errorf("hostile case %s: %s\n  file: %s\n  PROBLEM: %s", c.Name, c.Desc, c.File, strings.Join(p, "\n  PROBLEM: "))
		}
	}
}

// checkAudit compares an audit log with what a case expects.
func checkAudit(path string, a *auditCheck) []string {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return []string{err.Error()}
	}
	var outcomes []string
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		lines = append(lines, line)
		var rec struct {
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return []string{fmt.Sprintf("audit line %q: %v", line, err)}
		}
		outcomes = append(outcomes, rec.Outcome)
	}
	var p []string
	if len(lines) != a.Records {
		p = append(p, fmt.Sprintf("audit log has %d records, want %d (one per attempt): %q", len(lines), a.Records, lines))
	}
	if a.Outcomes != nil && strings.Join(outcomes, ",") != strings.Join(a.Outcomes, ",") {
		p = append(p, fmt.Sprintf("audit outcomes %q, want %q", outcomes, a.Outcomes))
	}
	for _, s := range a.Contains {
		if !strings.Contains(string(data), s) {
			p = append(p, fmt.Sprintf("audit log lacks %q", s))
		}
	}
	return p
}

// writeGzipBomb writes Members identical gzip members: a small file that
// decompresses to Members*LineBytes bytes.
func writeGzipBomb(path string, g gzipBomb) error {
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 1<<20)
	if g.NoNewline {
		bw.WriteString(`{"task": {"task_id": "`)
	} else {
		bw.WriteString(`{"task": {"task_id": "bomb"}, "state": {"history": [{"role": "assistant", "content": "`)
	}
	chunk := bytes.Repeat([]byte("a"), 1<<16)
	for n := g.LineBytes; n > 0; n -= len(chunk) {
		bw.Write(chunk[:min(n, len(chunk))])
	}
	if !g.NoNewline {
		bw.WriteString("\"}]}}\n")
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for range g.Members {
		if _, err := f.Write(member.Bytes()); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// broker starts, once, an embedded broker with a simulated rover for the
// device cases.
func (h *harness) broker(t *testing.T) (string, error) {
	h.brokerOnce.Do(func() {
		cmd := exec.Command(h.bin, "devices", "broker", "--listen", "127.0.0.1:0", "--rover", "rover")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.root}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			h.brokerErr = err
			return
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			h.brokerErr = err
			return
		}
		// The broker lives as long as the whole test; the parent test's
		// cleanup ends it after every case has run.
		first := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			first <- line
			io.Copy(io.Discard, out)
		}()
		select {
		case line := <-first:
			url, _, ok := strings.Cut(strings.TrimPrefix(line, "broker "), ";")
			if !strings.HasPrefix(line, "broker ") || !ok {
				h.brokerErr = fmt.Errorf("broker said %q (%s)", line, stderr.String())
				cmd.Process.Kill()
				cmd.Wait()
				return
			}
			h.brokerURL = url
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			h.brokerErr = fmt.Errorf("broker did not start: %s", stderr.String())
			return
		}
		h.brokerStop = func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
	})
	return h.brokerURL, h.brokerErr
}

// capturedOutput is how much of each stream the test keeps.
const capturedOutput = 8 << 20

// cappedBuffer keeps the first max bytes written and counts all.
type cappedBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += int64(len(p))
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// run runs gantry with args under the memory cap, samples its memory and
// its processes while it runs, kills it (a failure) if it is still running
// at limit plus the margin, and then looks for what it left behind.
func (h *harness) run(t *testing.T, ce *caseEnv, limit time.Duration, args []string) *hostileRun {
	t.Helper()
	h.sem <- struct{}{}
	defer func() { <-h.sem }()

	full := append([]string{"--as=" + strconv.FormatInt(h.asLimit, 10), "--", h.bin}, args...)
	cmd := exec.Command(h.prlimit, full...)
	cmd.Dir = ce.dir
	cmd.Env = ce.env
	cmd.Stdin = nil
	stdout := &cappedBuffer{max: capturedOutput}
	stderr := &cappedBuffer{max: 1 << 20}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, to kill everything at the safety limit; and
	// killed with the test if the test dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r := &hostileRun{args: append([]string{"gantry"}, args...)}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gantry: %v", err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	seen := map[int]procID{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	safety := time.NewTimer(limit + h.margin)
	defer safety.Stop()
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-tick.C:
			if hwm := readHWM(pid); hwm > r.peakRSS {
				r.peakRSS = hwm
			}
			for _, d := range descendants(pid) {
				if _, ok := seen[d]; !ok {
					if id, ok := readProcID(d); ok {
						seen[d] = id
					}
				}
			}
		case <-safety.C:
			r.killed = true
			syscall.Kill(-pid, syscall.SIGKILL)
			for d, id := range seen {
				if cur, ok := readProcID(d); ok && cur.start == id.start {
					syscall.Kill(d, syscall.SIGKILL)
				}
			}
		}
	}
	_ = waitErr
	r.elapsed = time.Since(start)
	r.stdout, r.stdoutLen = string(stdout.buf), stdout.total
	r.stderr = string(stderr.buf)
	if ps := cmd.ProcessState; ps != nil {
		r.exitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal().String()
		}
		// Not rusage: its maxrss counts the children gantry reaped (the
		// Python worker has its own limit), and after a vfork-style start
		// also the test process's own peak, which the exec'd mm inherits.
	}
	r.leftovers = leftovers(seen, ce.dir)
	return r
}

// procID tells a process from a later one that reuses its pid.
type procID struct {
	start string // start time, field 22 of /proc/PID/stat
	comm  string
}

func readProcID(pid int) (procID, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procID{}, false
	}
	s := string(data)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return procID{}, false
	}
	fields := strings.Fields(s[close+1:])
	// fields[0] is the state (field 3); the start time is field 22.
	if len(fields) < 20 {
		return procID{}, false
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return procID{}, false // dead, waiting to be reaped
	}
	return procID{start: fields[19], comm: s[open+1 : close]}, true
}

// readHWM returns a process's peak resident set size in bytes.
func readHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// descendants lists the processes below pid, through every thread.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, task := range tasks {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, task.Name()))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(data)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

// leftovers waits (up to 10 s: a sandbox dies with its parent, a moment
// later) for the processes seen under gantry to end, then reports and
// kills those still there and any process that carries the run's marker
// in its command line or environment.
func leftovers(seen map[int]procID, marker string) []string {
	alive := func() []int {
		var out []int
		for pid, id := range seen {
			if cur, ok := readProcID(pid); ok && cur.start == id.start {
				out = append(out, pid)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range alive() {
		if limit := time.Until(deadline); limit > 0 {
			testenv.WaitExit(pid, limit) // what is still alive after it is reported below
		}
	}
	found := map[int]string{}
	for _, pid := range alive() {
		found[pid] = seen[pid].comm
	}
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
			if err == nil && (bytes.Contains(data, []byte(marker+"/")) || bytes.Contains(data, []byte(marker+"\x00"))) {
				if id, ok := readProcID(pid); ok {
					found[pid] = id.comm
				}
			}
		}
	}
	var out []string
	for pid, comm := range found {
		out = append(out, fmt.Sprintf("process %d (%s) still running after gantry ended", pid, comm))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return out
}
