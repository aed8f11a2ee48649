// Package bridge runs model-written code in a real CPython process: a
// persistent worker per session that keeps variables, imports and functions
// across actions as a Jupyter kernel does, with the same tools as the
// Starlark sandbox.
//
// The worker is a standard-library Python script embedded in the binary and
// written to a private directory at start. It talks to gantry over its own
// pipes (file descriptors 3 and 4), not over stdin/stdout, so code that
// prints, writes to fd 1 or closes stdout cannot corrupt the protocol. A tool
// called from Python is a synchronous call into Go. Each action has a time
// limit: the worker is interrupted first (the code sees KeyboardInterrupt),
// then killed after a grace period and replaced by a fresh one, and the
// observation says the session's state was lost.
//
// Isolation is on by default: resource limits, a scrubbed environment, a
// private working directory, and with bubblewrap (when installed) no
// network, a read-only view of the system and a private /tmp. When isolation
// is asked for and cannot be set up, New fails rather than run unisolated;
// Options.NoIsolation opts out explicitly. docs/bridge.md says exactly what
// is and is not isolated.
package bridge

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

//go:embed worker.py
var workerScript []byte

// Options configure a session.
type Options struct {
	// Python is the interpreter; default $GANTRY_PYTHON, else python3 on PATH,
	// resolved once to the real binary (a pyenv shim costs 300 ms a start).
	Python string
	// Timeout bounds one action (default 30 s); Grace is how long an
	// interrupted action may take to stop before the worker is killed
	// (default 2 s).
	Timeout, Grace time.Duration
	// MaxOutput is the number of bytes of output kept, head and tail
	// (default 16 KiB).
	MaxOutput int
	// MaxMemory is the worker's address-space limit in bytes (default
	// 2 GiB; numpy and pandas need about 512 MiB). MaxFileSize bounds any
	// file it writes (default 64 MiB), MaxOpenFiles its descriptors
	// (default 256), MaxProcs its processes (default 64; not enforced for
	// root, which the kernel exempts).
	MaxMemory, MaxFileSize int64
	MaxOpenFiles, MaxProcs int
	// NoIsolation runs the worker without bubblewrap. Resource limits, the
	// scrubbed environment and the private directory still apply.
	NoIsolation bool
	// Env adds variables to the worker's (scrubbed) environment.
	Env    []string
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Second
	}
	if o.MaxOutput == 0 {
		o.MaxOutput = 16 << 10
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = 2 << 30
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = 64 << 20
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = 256
	}
	if o.MaxProcs == 0 {
		o.MaxProcs = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// ResolvePython finds the real interpreter behind name (a pyenv shim is a
// shell script that costs 300 ms per start).
func ResolvePython(name string) (string, error) {
	if name == "" {
		name = os.Getenv("GANTRY_PYTHON")
	}
	if name == "" {
		name = "python3"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("python interpreter %q: %w", name, err)
	}
	out, err := exec.Command(path, "-c", "import sys; print(sys.executable); print(sys.version_info >= (3, 9))").Output()
	if err != nil {
		return "", fmt.Errorf("python interpreter %s: %w", path, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 || lines[1] != "True" {
		return "", fmt.Errorf("python interpreter %s: Python 3.9 or newer is needed", path)
	}
	return lines[0], nil
}

// Session is one persistent Python worker. Actions run one at a time.
type Session struct {
	reg    *tool.Registry
	opts   Options
	python string
	dir    string // private directory: the script and the working directory
	bwrap  string // bubblewrap, when isolating

	mu     sync.Mutex
	w      *worker
	closed bool
	nextID int
}

// New starts a session's worker. It fails when isolation is asked for and
// cannot be set up.
func New(ctx context.Context, reg *tool.Registry, opts Options) (*Session, error) {
	if reg == nil {
		reg = tool.NewRegistry()
	}
	opts = opts.withDefaults()
	py, err := ResolvePython(opts.Python)
	if err != nil {
		return nil, err
	}
	s := &Session{reg: reg, opts: opts, python: py}
	if !opts.NoIsolation {
		bw, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, errors.New("bridge: isolation needs bubblewrap (Debian package bubblewrap), which is not installed; install it, or opt out explicitly with --no-isolation")
		}
		s.bwrap = bw
	}
	dir, err := os.MkdirTemp("", "gantry-py-")
	if err != nil {
		return nil, fmt.Errorf("bridge: private directory: %w", err)
	}
	s.dir = dir
	for _, sub := range []string{"work", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("bridge: private directory: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "worker.py"), workerScript, 0o500); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bridge: write worker: %w", err)
	}
	// Start the worker now: a sandbox that cannot be set up is refused at
	// start, and the first action finds the worker ready.
	w, err := s.start(ctx)
	if err != nil {
		os.RemoveAll(dir)
		if s.bwrap != "" {
			return nil, fmt.Errorf("%w (if bubblewrap cannot sandbox on this host, opt out explicitly with --no-isolation)", err)
		}
		return nil, err
	}
	s.w = w
	return s, nil
}

// Isolated reports whether the worker runs under bubblewrap.
func (s *Session) Isolated() bool { return s.bwrap != "" }

// WorkDir is the worker's private working directory.
func (s *Session) WorkDir() string { return filepath.Join(s.dir, "work") }

// ErrClosed is returned by Exec on a closed session.
var ErrClosed = errors.New("bridge: session closed")

// Exec runs code as one action. Errors in the code, limits hit and a worker
// that died are reported in the Result; the returned error is non-nil only
// when no worker can be started.
func (s *Session) Exec(ctx context.Context, code string) (tool.Result, error) {
	ctx = tool.WithCode(ctx, code)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return tool.Result{}, ErrClosed
	}
	start := time.Now()
	restarted := false
	if s.w == nil {
		w, err := s.start(ctx)
		if err != nil {
			return tool.Result{}, err
		}
		s.w = w
	}
	s.nextID++
	res, alive := s.w.exec(ctx, s.nextID, code, s.opts, s.dispatch)
	if !alive {
		s.w.kill()
		s.w = nil
		restarted = true
		// Start the next worker now, so that the next action finds it ready.
		if w, err := s.start(ctx); err == nil {
			s.w = w
		} else {
			s.opts.Logger.Warn("bridge: restart failed", "err", err)
		}
	}
	res.Restarted = restarted
	res.Duration = time.Since(start)
	return res, nil
}

// Close kills the worker and removes the private directory.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.w != nil {
		s.w.kill()
		s.w = nil
	}
	return os.RemoveAll(s.dir)
}

// worker is one running Python process.
type worker struct {
	cmd   *exec.Cmd
	req   *os.File // our end of fd 3
	rep   *bufio.Reader
	repF  *os.File
	done  chan struct{} // closed when the process has exited
	err   error
	lines chan message // replies, read by one goroutine
}

// message is any message of the protocol.
type message struct {
	Type      string          `json:"type"`
	ID        int             `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Args      []any           `json:"args,omitempty"`
	Kwargs    map[string]any  `json:"kwargs,omitempty"`
	Stdout    string          `json:"stdout,omitempty"`
	Value     *string         `json:"value,omitempty"`
	Error     *tool.CodeError `json:"error,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

// scrubbedEnv is the worker's whole environment: nothing of gantry's (no
// API keys or tokens) passes.
func (s *Session) scrubbedEnv() []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + s.WorkDir(),
		"TMPDIR=" + filepath.Join(s.dir, "tmp"),
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
		"OPENBLAS_NUM_THREADS=1",
		"OMP_NUM_THREADS=1",
		"MPLBACKEND=Agg",
	}
	return append(env, s.opts.Env...)
}

func (s *Session) start(ctx context.Context) (*worker, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("bridge: pipe: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("bridge: pipe: %w", err)
	}
	script := filepath.Join(s.dir, "worker.py")
	args := []string{s.python, "-u", script}
	var cmd *exec.Cmd
	if s.bwrap != "" {
		bw := []string{"--unshare-all", "--die-with-parent", "--new-session",
			"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
			"--tmpfs", "/tmp", "--tmpfs", "/run",
			"--bind", s.dir, s.dir, "--chdir", s.WorkDir(), "--clearenv"}
		for _, kv := range s.scrubbedEnv() {
			k, v, _ := strings.Cut(kv, "=")
			bw = append(bw, "--setenv", k, v)
		}
		bw = append(bw, "--")
		cmd = exec.Command(s.bwrap, append(bw, args...)...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
		cmd.Dir = s.WorkDir()
		cmd.Env = s.scrubbedEnv()
	}
	cmd.ExtraFiles = []*os.File{reqR, repW} // fd 3, fd 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = nil
	// The worker's own stderr (before any action redirects it) explains a
	// failed start; keep its tail.
	stderr := &tailBuffer{max: 4096}
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		repR.Close()
		repW.Close()
		return nil, fmt.Errorf("bridge: start worker: %w", err)
	}
	reqR.Close()
	repW.Close()
	w := &worker{cmd: cmd, req: reqW, repF: repR, rep: bufio.NewReaderSize(repR, 1<<16), done: make(chan struct{}), lines: make(chan message, 1)}
	go func() {
		w.err = cmd.Wait()
		close(w.done)
	}()
	go w.readLoop()
	init := map[string]any{
		"type": "init",
		"limits": map[string]any{
			"RLIMIT_AS": s.opts.MaxMemory, "RLIMIT_FSIZE": s.opts.MaxFileSize, "RLIMIT_NOFILE": s.opts.MaxOpenFiles,
			"RLIMIT_NPROC": s.opts.MaxProcs, "RLIMIT_CORE": 1,
		},
		"tools": toolSpecs(s.reg),
	}
	if err := w.send(init); err != nil {
		w.kill()
		return nil, fmt.Errorf("bridge: start worker: %w", err)
	}
	select {
	case m, ok := <-w.lines:
		if !ok || m.Type != "ready" {
			w.kill()
			return nil, fmt.Errorf("bridge: worker did not start (%v): %s", w.exitStatus(), strings.TrimSpace(stderr.String()))
		}
	case <-time.After(30 * time.Second):
		w.kill()
		return nil, errors.New("bridge: worker did not start within 30s")
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
	return w, nil
}

func toolSpecs(reg *tool.Registry) []map[string]any {
	out := []map[string]any{}
	for _, t := range reg.Tools() {
		out = append(out, map[string]any{"name": t.Name, "doc": t.Help()})
	}
	return out
}

func (w *worker) send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.req.Write(append(data, '\n'))
	return err
}

// readLoop delivers the worker's messages until its pipe closes.
func (w *worker) readLoop() {
	defer close(w.lines)
	for {
		line, err := w.rep.ReadBytes('\n')
		if len(line) > 0 {
			var m message
			dec := json.NewDecoder(strings.NewReader(string(line)))
			dec.UseNumber()
			if jerr := dec.Decode(&m); jerr == nil {
				for i, a := range m.Args {
					m.Args[i] = tool.FromJSON(a)
				}
				for k, v := range m.Kwargs {
					m.Kwargs[k] = tool.FromJSON(v)
				}
				w.lines <- m
			}
		}
		if err != nil {
			return
		}
	}
}

func (w *worker) exitStatus() string {
	select {
	case <-w.done:
		if w.err == nil {
			return "exit status 0"
		}
		return w.err.Error()
	case <-time.After(time.Second):
		return "still running"
	}
}

// interrupt sends SIGINT to the Python process: the worker itself, or under
// bubblewrap the processes bubblewrap started (bubblewrap would die of it).
func (w *worker) interrupt() {
	pid := w.cmd.Process.Pid
	if filepath.Base(w.cmd.Path) != "bwrap" {
		syscall.Kill(pid, syscall.SIGINT)
		return
	}
	for _, p := range descendants(pid) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		if err == nil && strings.TrimSpace(string(comm)) != "bwrap" {
			syscall.Kill(p, syscall.SIGINT)
		}
	}
}

// descendants lists the processes below pid, parents first.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			var c int
			if _, err := fmt.Sscan(f, &c); err == nil {
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// kill ends the worker's whole process group.
func (w *worker) kill() {
	if w.cmd.Process != nil {
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		w.cmd.Process.Kill()
	}
	w.req.Close()
	<-w.done
	w.repF.Close()
	for range w.lines {
	}
}

// dispatch calls the tool a worker asked for and returns the reply.
func (s *Session) dispatch(ctx context.Context, m message) (map[string]any, error) {
	out, err := s.reg.Call(ctx, m.Name, m.Args, m.Kwargs)
	if err != nil {
		return map[string]any{"type": "return", "ok": false, "error": err.Error()}, err
	}
	if _, jerr := json.Marshal(out); jerr != nil {
		err := fmt.Errorf("%s: result cannot be sent to Python: %w", m.Name, jerr)
		return map[string]any{"type": "return", "ok": false, "error": err.Error()}, err
	}
	return map[string]any{"type": "return", "ok": true, "value": out}, nil
}

// exec runs one action; alive is false when the worker is gone or had to be
// killed. Tool calls from Python go to call.
func (w *worker) exec(ctx context.Context, id int, code string, opts Options, call func(context.Context, message) (map[string]any, error)) (res tool.Result, alive bool) {
	var lastToolErr error
	if err := w.send(map[string]any{"type": "exec", "id": id, "code": code, "max_output": opts.MaxOutput}); err != nil {
		return died(w, "the Python worker could not take the action"), false
	}
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	var grace <-chan time.Time
	interrupted := false
	for {
		select {
		case m, ok := <-w.lines:
			if !ok {
				return died(w, "the Python worker exited during the action"), false
			}
			switch m.Type {
			case "call":
				reply, terr := call(ctx, m)
				if terr != nil {
					lastToolErr = terr
				}
				if err := w.send(reply); err != nil {
					return died(w, "the Python worker stopped answering"), false
				}
			case "result":
				if m.ID != id {
					continue
				}
				r := tool.Result{Stdout: m.Stdout, Err: m.Error, Truncated: m.Truncated}
				if m.Value != nil {
					r.Value = *m.Value
				}
				if r.Err != nil && r.Err.Type == "ToolError" {
					r.Err.Cause = lastToolErr
				}
				if interrupted && r.Err != nil && r.Err.Type == "KeyboardInterrupt" {
					r.Err = timeoutError(opts.Timeout, r.Err.Traceback)
				}
				return r, true
			}
		case <-timer.C:
			// Interrupt first: the code sees KeyboardInterrupt.
			interrupted = true
			w.interrupt()
			grace = time.After(opts.Grace)
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				w.interrupt()
				grace = time.After(opts.Grace)
			}
		case <-grace:
			r := tool.Result{Err: timeoutError(opts.Timeout, "")}
			r.Err.Message += "; it did not stop when interrupted, so the Python worker was killed and restarted: variables, functions and imports from earlier actions are lost"
			r.Err.Traceback = "TimeoutError: " + r.Err.Message
			return r, false
		}
	}
}

func timeoutError(limit time.Duration, tb string) *tool.CodeError {
	msg := fmt.Sprintf("the action exceeded its time limit of %s and was interrupted", limit)
	return &tool.CodeError{Type: "TimeoutError", Message: msg, Traceback: strings.TrimSpace(tb + "\nTimeoutError: " + msg)}
}

func died(w *worker, what string) tool.Result {
	status := w.exitStatus()
	msg := fmt.Sprintf("%s (%s); a fresh worker was started: variables, functions and imports from earlier actions are lost", what, status)
	return tool.Result{Err: &tool.CodeError{Type: "WorkerDied", Message: msg, Traceback: "WorkerDied: " + msg}}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
