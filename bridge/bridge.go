// Package bridge runs model-written code in a real CPython process: a
// persistent worker per session that keeps variables, imports and functions
// across actions as a Jupyter kernel does, with the same tools as the
// Starlark sandbox.
//
// The worker is a standard-library Python script embedded in the binary and
// handed to the interpreter on its command line (python -I -c), so no file
// holds it that code could rewrite. It talks to gantry over its own pipes
// (file descriptors 3 and 4), not over stdin/stdout, so code that prints,
// writes to fd 1 or closes stdout cannot corrupt the protocol. Code can still
// write to those pipes itself: frames are bounded in size, and any frame the
// protocol does not expect at that moment ends the worker. A tool called
// from Python is a synchronous call into Go. Each action has a time limit:
// the worker is interrupted first (the code sees KeyboardInterrupt), then
// killed after a grace period and replaced by a fresh one, and the
// observation says the session's state was lost.
//
// Isolation is on by default: resource limits, a scrubbed environment, and
// with bubblewrap an unprivileged user in its own user namespace, no
// network, a read-only view of only the system directories and the Python
// installation, and size-limited private /tmp and working directory. When
// isolation is asked for and cannot be set up, New fails rather than run
// unisolated; Options.NoIsolation opts out explicitly. docs/bridge.md says
// exactly what is and is not isolated.
package bridge

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/internal/ipytb"
	"github.com/gantry-dev/gantry/tool"
)

//go:embed worker.py
var workerScript string

// Defaults of the limits in Options.
const (
	DefaultMaxCode     = tool.DefaultMaxCodeSize // bytes of code in one action
	DefaultMaxFrame    = 4 << 20                 // bytes of one protocol frame
	DefaultMaxTmpSize  = 256 << 20               // bytes in the worker's /tmp
	DefaultMaxWorkSize = 512 << 20               // bytes in the worker's working directory
	// maxShmSize bounds the worker's /dev/shm (POSIX shared memory and the
	// semaphores of multiprocessing), or MaxTmpSize when that is less.
	maxShmSize = 64 << 20
)

// sandboxUID is the user (and group) the worker runs as under bubblewrap,
// in its own user namespace: nobody.
const sandboxUID = "65534"

// sandboxHome is the worker's working directory (and HOME) under
// bubblewrap: a size-limited tmpfs of its own.
const sandboxHome = "/home/sandbox"

// Options configure a session.
type Options struct {
	// Python is the interpreter; default $GANTRY_PYTHON, else python3 on PATH,
	// resolved once to the real binary (a pyenv shim costs 300 ms a start).
	Python string
	// Timeout bounds one action (default 30 s), sending its code included;
	// Grace is how long an interrupted action may take to stop before the
	// worker is killed (default 2 s).
	Timeout, Grace time.Duration
	// MaxOutput is the number of bytes of output kept, head and tail
	// (default 16 KiB).
	MaxOutput int
	// MaxCode bounds the code of one action in bytes (default 1 MiB); a
	// larger action is refused at once with a ValueError.
	MaxCode int
	// MaxFrame bounds one frame the worker sends to gantry, in bytes
	// (default 4 MiB). A longer frame ends the worker; the worker keeps its
	// own frames below it (a tool call with larger arguments raises
	// ValueError in the code, output and tracebacks are cut).
	MaxFrame int
	// MaxMemory is the worker's address-space limit in bytes (default
	// 2 GiB; numpy and pandas need about 512 MiB). MaxFileSize bounds any
	// file it writes (default 64 MiB), MaxOpenFiles its descriptors
	// (default 256), MaxProcs its processes and threads (default 64;
	// counted per worker under bubblewrap, whatever gantry's user; without
	// bubblewrap per user, and not at all for root, which the kernel
	// exempts). A fork past it raises BlockingIOError.
	MaxMemory, MaxFileSize int64
	MaxOpenFiles, MaxProcs int
	// MaxTmpSize and MaxWorkSize bound, under bubblewrap, the bytes the
	// worker can store in its private /tmp (default 256 MiB) and in its
	// working directory (default 512 MiB). Both are in memory (tmpfs) and
	// live as long as the worker: a restarted worker starts empty. A write
	// past them fails with OSError: [Errno 28] No space left on device.
	MaxTmpSize, MaxWorkSize int64
	// NoIsolation runs the worker without bubblewrap. Resource limits, the
	// scrubbed environment and the private directory still apply; the
	// sizes of /tmp and of the working directory are not bounded.
	NoIsolation bool
	// Env adds variables to the worker's (scrubbed) environment. The
	// interpreter runs in isolated mode (-I), so PYTHON* variables are
	// ignored except PYTHONPATH, which the worker honours itself (and binds
	// read-only into the sandbox).
	Env    []string
	Logger *slog.Logger
	// Errors is how errors are shown: ErrorsPython (CPython's traceback,
	// the default) or ErrorsIPython (IPython's, as MINT showed them).
	Errors ipytb.Style
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
	if o.MaxCode == 0 {
		o.MaxCode = DefaultMaxCode
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = DefaultMaxFrame
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
	if o.MaxTmpSize == 0 {
		o.MaxTmpSize = DefaultMaxTmpSize
	}
	if o.MaxWorkSize == 0 {
		o.MaxWorkSize = DefaultMaxWorkSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// ResolvePython finds the real interpreter behind name (a pyenv shim is a
// shell script that costs 300 ms per start).
func ResolvePython(name string) (string, error) {
	py, err := probePython(name)
	if err != nil {
		return "", err
	}
	return py.Executable, nil
}

// pythonInfo is what the sandbox needs to know of an interpreter.
type pythonInfo struct {
	Executable string   `json:"executable"`
	Version    string   `json:"version"` // "3.11"
	OK         bool     `json:"ok"`
	Prefixes   []string `json:"prefixes"`
	Path       []string `json:"path"`
}

// probePython resolves the interpreter and lists the directories it reads
// its standard library and packages from, in one start.
func probePython(name string) (pythonInfo, error) {
	if name == "" {
		name = os.Getenv("GANTRY_PYTHON")
	}
	if name == "" {
		name = "python3"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return pythonInfo{}, fmt.Errorf("python interpreter %q: %w", name, err)
	}
	const probe = `import json, os, sys
print(json.dumps({"executable": sys.executable, "version": "%d.%d" % sys.version_info[:2], "ok": sys.version_info >= (3, 9),
    "prefixes": [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.path.realpath(sys.executable))],
    "path": sys.path}))`
	out, err := exec.Command(path, "-I", "-c", probe).Output()
	if err != nil {
		return pythonInfo{}, fmt.Errorf("python interpreter %s: %w", path, err)
	}
	var info pythonInfo
	if err := json.Unmarshal(out, &info); err != nil || info.Executable == "" {
		return pythonInfo{}, fmt.Errorf("python interpreter %s: not a Python 3 interpreter (%q)", path, bytes.TrimSpace(out))
	}
	if !info.OK {
		return pythonInfo{}, fmt.Errorf("python interpreter %s: Python 3.9 or newer is needed", path)
	}
	return info, nil
}

// Session is one persistent Python worker. Actions run one at a time.
type Session struct {
	reg     *tool.Registry
	opts    Options
	python  string
	dir     string   // private directory without bubblewrap: work and tmp
	bwrap   string   // bubblewrap, when isolating
	binds   []string // bubblewrap's arguments for the system's directories
	pyBinds []string // and for the interpreter's

	mu     sync.Mutex
	w      *worker
	closed bool
	cells  cellState // actions counted as cells, for the error display (ipython.go)
}

// New starts a session's worker. It fails when isolation is asked for and
// cannot be set up.
func New(ctx context.Context, reg *tool.Registry, opts Options) (*Session, error) {
	if reg == nil {
		reg = tool.NewRegistry()
	}
	opts = opts.withDefaults()
	py, err := probePython(opts.Python)
	if err != nil {
		return nil, err
	}
	s := &Session{reg: reg, opts: opts, python: py.Executable}
	if !opts.NoIsolation {
		bw, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, errors.New("bridge: isolation needs bubblewrap (Debian package bubblewrap), which is not installed; install it, or opt out explicitly with --no-isolation")
		}
		s.bwrap = bw
		s.binds = sandboxBinds(py)
		s.pyBinds = pythonBinds(py, opts.Env)
	} else {
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
	}
	// Start the worker now: a sandbox that cannot be set up is refused at
	// start, and the first action finds the worker ready.
	w, err := s.start(ctx)
	if err != nil {
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
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

// WorkDir is the worker's working directory as the worker sees it: under
// bubblewrap a private tmpfs, else a private directory on the host.
func (s *Session) WorkDir() string {
	if s.bwrap != "" {
		return sandboxHome
	}
	return filepath.Join(s.dir, "work")
}

func (s *Session) tmpDir() string {
	if s.bwrap != "" {
		return "/tmp"
	}
	return filepath.Join(s.dir, "tmp")
}

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
	if len(code) > s.opts.MaxCode {
		return tool.Result{Err: tool.CodeSizeError(int64(len(code)), s.opts.MaxCode), Duration: time.Since(start)}, nil
	}
	if s.w != nil {
		// Between actions the worker must be silent and alive: anything
		// else ends it, and this action is not run.
		if typ, what := s.w.betweenActions(); what != "" {
			s.w.kill()
			s.w = nil
			s.restart(ctx)
			res := tool.Result{Err: lostError(typ, what+"; this action was not run", s.Isolated()), Restarted: true}
			res.Duration = time.Since(start)
			return res, nil
		}
	}
	restarted := false
	if s.w == nil {
		w, err := s.start(ctx)
		if err != nil {
			return tool.Result{}, err
		}
		s.w = w
	}
	cell := s.cells.next(code)
	res, we, alive := s.w.exec(ctx, code, cell, s.opts, s.Isolated(), s.dispatch)
	s.cells.show(s.opts.Errors, cell, we, strings.TrimRight(res.Stdout, "\n") != "")
	if !alive {
		s.w.kill()
		s.w = nil
		restarted = true
		s.restart(ctx)
	}
	res.Restarted = restarted
	res.Duration = time.Since(start)
	return res, nil
}

// restart starts the next worker now, so that the next action finds it
// ready; if it cannot, the next action tries again.
func (s *Session) restart(ctx context.Context) {
	if w, err := s.start(ctx); err == nil {
		s.w = w
	} else {
		s.opts.Logger.Warn("bridge: restart failed", "err", err)
	}
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
	if s.dir == "" {
		return nil
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

	// busy is set while the worker may send frames (starting, or running
	// an action); a frame while it is clear is a protocol violation.
	busy      atomic.Bool
	violation atomic.Pointer[string] // why the worker was killed, first reason only
}

// message is any message of the protocol.
type message struct {
	Type      string         `json:"type"`
	ID        int64          `json:"id,omitempty"`
	Name      string         `json:"name,omitempty"`
	Args      []any          `json:"args,omitempty"`
	Kwargs    map[string]any `json:"kwargs,omitempty"`
	Stdout    string         `json:"stdout,omitempty"`
	Text      string         `json:"text,omitempty"`
	Value     *string        `json:"value,omitempty"`
	Error     *workerError   `json:"error,omitempty"`
	Truncated bool           `json:"truncated,omitempty"`
}

// scrubbedEnv is the whole environment of the worker, and of bubblewrap
// (whose process is pid 1 in the sandbox, its environment readable at
// /proc/1/environ): nothing of gantry's (no API keys or tokens) passes.
func (s *Session) scrubbedEnv() []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + s.WorkDir(),
		"TMPDIR=" + s.tmpDir(),
		"LANG=C.UTF-8",
		// The worker itself runs with -I -u -B; these are for the Python
		// processes code starts.
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
		"OPENBLAS_NUM_THREADS=1",
		"OMP_NUM_THREADS=1",
		"MPLBACKEND=Agg",
	}
	return append(env, s.opts.Env...)
}

// sandboxBinds lists bubblewrap's arguments for the system part of the
// worker's file system: read-only, only the system directories (no home
// directories, no /var, /run or /tmp of the host, so no host Unix socket is
// reachable), the kernel's knobs read-only.
func sandboxBinds(py pythonInfo) []string {
	args := []string{"--ro-bind", "/usr", "/usr"}
	// Merged-/usr systems link these to /usr; older ones have directories.
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				args = append(args, "--symlink", target, d)
			}
		case fi.IsDir():
			args = append(args, "--ro-bind", d, d)
		}
	}
	// What libc and Python read in /etc; not all of it (no shadow, no
	// private keys, no application configuration).
	for _, f := range []string{"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
		"passwd", "group", "nsswitch.conf", "host.conf", "hosts", "gai.conf", "services", "protocols", "mime.types",
		"ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "fonts", "os-release", "debian_version",
		"python3", "python" + py.Version, "matplotlibrc"} {
		args = append(args, "--ro-bind-try", "/etc/"+f, "/etc/"+f)
	}
	args = append(args, "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys")
	for _, p := range []string{"/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"} {
		args = append(args, "--ro-bind-try", p, p)
	}
	return append(args, "--dev", "/dev")
}

// pythonBinds binds the interpreter's prefixes, sys.path and PYTHONPATH
// read-only, parents first. They come after the private /tmp is mounted, so
// that an interpreter installed under the host's /tmp stays visible.
func pythonBinds(py pythonInfo, env []string) []string {
	var args []string
	covered := []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}
	dirs := append(append([]string{}, py.Prefixes...), py.Path...)
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "PYTHONPATH" {
			dirs = append(dirs, filepath.SplitList(v)...)
		}
	}
	for i, d := range dirs {
		dirs[i] = filepath.Clean(d)
	}
	sort.SliceStable(dirs, func(i, j int) bool { return len(dirs[i]) < len(dirs[j]) })
	for _, d := range dirs {
		if !filepath.IsAbs(d) || d == "/" || under(d, covered) {
			continue
		}
		if _, err := os.Stat(d); err != nil {
			continue
		}
		covered = append(covered, d)
		args = append(args, "--ro-bind", d, d)
	}
	return args
}

// under reports whether path is one of dirs or below one of them.
func under(path string, dirs []string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// bwrapArgs is bubblewrap's whole command line before the interpreter's.
// usernsFD is the descriptor of the user namespace made by
// newSandboxUserns when gantry runs as root, or -1: bubblewrap then makes
// its own.
func (s *Session) bwrapArgs(usernsFD int) []string {
	// The user namespace: bubblewrap's own (--unshare-user) maps the
	// sandbox's user to gantry's, which is unprivileged unless gantry is
	// root; as root, the worker joins the one gantry made, where the
	// sandbox's user is nobody outside too, and bubblewrap checks that no
	// further user namespace can be made in it.
	userns := []string{"--unshare-all", "--unshare-user", "--disable-userns"}
	if usernsFD >= 0 {
		userns = []string{"--userns", fmt.Sprint(usernsFD), "--assert-userns-disabled",
			"--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"}
	}
	// --as-pid-1: the worker is pid 1 of the sandbox's pid namespace, with
	// no bubblewrap process beside it that code could trace or read the
	// memory of. As pid 1 it gets from inside only the signals it handles
	// (SIGINT); gantry's SIGINT and SIGKILL come from outside and arrive,
	// and when it dies the kernel kills everything left in the sandbox.
	args := append(userns, "--uid", sandboxUID, "--gid", sandboxUID,
		"--die-with-parent", "--new-session", "--as-pid-1", "--cap-drop", "ALL")
	args = append(args, s.binds...)
	size := func(n int64) string { return fmt.Sprint(n) }
	args = append(args,
		"--size", size(min(maxShmSize, s.opts.MaxTmpSize)), "--tmpfs", "/dev/shm",
		"--size", size(s.opts.MaxTmpSize), "--tmpfs", "/tmp",
		"--perms", "0700", "--size", size(s.opts.MaxWorkSize), "--tmpfs", sandboxHome)
	args = append(args, s.pyBinds...)
	return append(args, "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", sandboxHome, "--")
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
	// -I: no user site, no PYTHON* variables, neither the working
	// directory nor a script's directory on sys.path; -c: the worker's code
	// is in the interpreter's memory, not in a file code could rewrite.
	args := []string{s.python, "-I", "-B", "-u", "-c", workerScript}
	var cmd *exec.Cmd
	extra := []*os.File{reqR, repW} // fd 3, fd 4
	var closeFDs []int              // what the worker closes at once
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.bwrap != "" {
		usernsFD := -1
		if os.Geteuid() == 0 {
			ns, err := newSandboxUserns(ctx)
			if err != nil {
				reqR.Close()
				reqW.Close()
				repR.Close()
				repW.Close()
				return nil, err
			}
			defer ns.Close()
			usernsFD = 3 + len(extra)
			extra = append(extra, ns)
			closeFDs = append(closeFDs, usernsFD) // bubblewrap leaves it open
			// Without supplementary groups: root's would follow the
			// worker into the namespace.
			attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}}
		}
		cmd = exec.Command(s.bwrap, append(s.bwrapArgs(usernsFD), args...)...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
		cmd.Dir = s.WorkDir()
	}
	cmd.Env = s.scrubbedEnv()
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = attr
	cmd.Stdin = nil
	// The worker's own stderr (before any action redirects it) explains a
	// failed start; keep its tail.
	stderr := &tailBuffer{max: 4096}
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	// Without bubblewrap a process the code detached may hold stdout and
	// stderr open after the worker died: do not wait for it.
	cmd.WaitDelay = time.Second
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
	w.busy.Store(true) // until "ready"
	go func() {
		w.err = cmd.Wait()
		close(w.done)
	}()
	go w.readLoop(s.opts.MaxFrame)
	init := map[string]any{
		"type": "init",
		"limits": map[string]any{
			"RLIMIT_AS": s.opts.MaxMemory, "RLIMIT_FSIZE": s.opts.MaxFileSize, "RLIMIT_NOFILE": s.opts.MaxOpenFiles,
			"RLIMIT_NPROC": s.opts.MaxProcs, "RLIMIT_CORE": 1,
		},
		"max_frame": s.opts.MaxFrame,
		"tools":     toolSpecs(s.reg),
		"close_fds": closeFDs,
		// In the user namespace gantry made, bubblewrap cannot signal the
		// worker when it dies (it runs as another user): the worker
		// watches its request pipe itself.
		"watch_gantry": len(closeFDs) > 0,
	}
	if err := w.send(init, time.Now().Add(30*time.Second)); err != nil {
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
	w.busy.Store(false)
	return w, nil
}

// toolSpecs describes the tools to the worker: name, help and the
// parameters its stubs show as their signature (inspect.signature, help()):
// name, type, whether required, the default, and the variadic one (*name).
func toolSpecs(reg *tool.Registry) []map[string]any {
	out := []map[string]any{}
	for _, t := range reg.Tools() {
		params := make([]map[string]any, 0, len(t.Params))
		for _, p := range t.Params {
			ps := map[string]any{"name": p.Name, "type": string(p.Type)}
			switch {
			case p.Variadic:
				ps["variadic"] = true
			case p.Required:
				ps["required"] = true
			default:
				ps["default"] = p.Default
			}
			params = append(params, ps)
		}
		returns := string(t.Returns)
		if returns == "" {
			returns = string(tool.None)
		}
		out = append(out, map[string]any{"name": t.Name, "doc": t.Help(), "params": params, "returns": returns})
	}
	return out
}

// send writes one frame; it fails when the worker has not taken it by the
// deadline.
func (w *worker) send(v any, deadline time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := w.req.SetWriteDeadline(deadline); err != nil && !errors.Is(err, os.ErrNoDeadline) {
		return err
	}
	_, err = w.req.Write(append(data, '\n'))
	return err
}

// errFrameTooLong is a frame without a newline within the limit.
var errFrameTooLong = errors.New("frame too long")

// readFrame reads one line of at most max bytes (the newline included),
// never buffering more than that.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	var frame []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(frame)+len(chunk) > max {
			return nil, errFrameTooLong
		}
		frame = append(frame, chunk...)
		if err != bufio.ErrBufferFull {
			return frame, err
		}
	}
}

// readLoop delivers the worker's messages until its pipe closes, or ends
// the worker at the first frame the protocol does not allow: one too long,
// one that does not decode, or any frame between actions.
func (w *worker) readLoop(maxFrame int) {
	defer close(w.lines)
	for {
		frame, err := readFrame(w.rep, maxFrame)
		if errors.Is(err, errFrameTooLong) {
			w.violate(fmt.Sprintf("the worker sent a frame longer than the limit of %s (code may have written to the protocol's fd 4)", tool.ByteSize(int64(maxFrame))))
			return
		}
		if len(bytes.TrimSpace(frame)) > 0 {
			m, derr := decodeMessage(frame)
			if derr != nil {
				w.violate(fmt.Sprintf("the worker sent a frame gantry cannot decode (%v)", derr))
				return
			}
			if !w.busy.Load() {
				w.violate(fmt.Sprintf("the worker sent a %q frame between actions (code left running after its action ended, or code writing to the protocol's fd 4)", m.Type))
				return
			}
			w.lines <- m
		}
		if err != nil {
			return
		}
	}
}

// decodeMessage decodes one frame: exactly one JSON object, numbers kept
// as int64 or float64, non-finite floats from their tagged form.
func decodeMessage(frame []byte) (message, error) {
	var m message
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return m, errors.New("more than one JSON value in a frame")
	}
	var err error
	for i, a := range m.Args {
		if m.Args[i], err = fromWire(a); err != nil {
			return m, err
		}
	}
	for k, v := range m.Kwargs {
		if m.Kwargs[k], err = fromWire(v); err != nil {
			return m, err
		}
	}
	return m, nil
}

// fromWire undoes the worker's encoding of values JSON cannot carry: a
// non-finite float is {"$float": "nan" | "inf" | "-inf"}, and a dict whose
// only key is "$float" or "$dict" travels wrapped as {"$dict": {...}}.
// Numbers become int64 or float64 (tool.FromJSON).
func fromWire(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		for i := range x {
			var err error
			if x[i], err = fromWire(x[i]); err != nil {
				return nil, err
			}
		}
		return x, nil
	case map[string]any:
		if len(x) == 1 {
			if tag, ok := x["$float"]; ok {
				switch tag {
				case "nan":
					return math.NaN(), nil
				case "inf":
					return math.Inf(1), nil
				case "-inf":
					return math.Inf(-1), nil
				}
				return nil, fmt.Errorf("unknown float %v", tag)
			}
			if inner, ok := x["$dict"]; ok {
				d, ok := inner.(map[string]any)
				if !ok {
					return nil, errors.New("a $dict tag without a dict")
				}
				x = d
			}
		}
		for k := range x {
			var err error
			if x[k], err = fromWire(x[k]); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	return tool.FromJSON(v), nil
}

// violate records why the worker breaks the protocol and kills it.
func (w *worker) violate(what string) {
	w.violation.CompareAndSwap(nil, &what)
	w.killTree()
}

// killTree kills the worker's process group and, under bubblewrap, the
// worker itself: the sandbox's pid 1, in a session of its own, whose death
// ends everything left in the sandbox. (Killing bubblewrap alone is not
// enough: when gantry is root, bubblewrap runs as root and cannot send the
// worker its parent-death signal.)
func (w *worker) killTree() {
	if w.cmd.Process == nil {
		return
	}
	pid := w.cmd.Process.Pid
	var below []int
	if filepath.Base(w.cmd.Path) == "bwrap" {
		below = descendants(pid)
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	for _, p := range below {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// betweenActions says what is wrong with an idle worker, "" when nothing:
// it sent a frame (a ProtocolError), or it died (WorkerDied).
func (w *worker) betweenActions() (typ, what string) {
	select {
	case m, ok := <-w.lines:
		if ok {
			w.violate(fmt.Sprintf("the worker sent a %q frame between actions (code left running after its action ended, or code writing to the protocol's fd 4)", m.Type))
		}
	case <-w.done:
	default:
		return "", ""
	}
	if v := w.violation.Load(); v != nil {
		return "ProtocolError", *v
	}
	return "WorkerDied", fmt.Sprintf("the Python worker exited between actions (%s)", w.exitStatus())
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
		w.killTree()
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
		return failReply(err), err
	}
	if _, jerr := json.Marshal(out); jerr != nil {
		err := tool.Errorf(tool.Internal, "%s: result cannot be sent to Python: %w", m.Name, jerr)
		return failReply(err), err
	}
	return map[string]any{"type": "return", "ok": true, "value": out}, nil
}

// failReply is the answer to a failed tool call: the error's text and the
// Python exception its kind names (tool.Kind.Exception), which the worker
// raises, as the Starlark sandbox names it.
func failReply(err error) map[string]any {
	return map[string]any{"type": "return", "ok": false, "error": err.Error(), "kind": tool.Exception(err)}
}

// exec runs one action; alive is false when the worker is gone or had to be
// killed. Tool calls from Python go to call. The action's id is random, so
// that a result frame written by the code itself is unlikely to match it.
func (w *worker) exec(ctx context.Context, code string, cell int, opts Options, isolated bool, call func(context.Context, message) (map[string]any, error)) (res tool.Result, we *workerError, alive bool) {
	id := int64(rand.Uint64() >> 12) // exact in a float64 too
	var lastToolErr error
	// The time limit starts now: sending the code counts.
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	deadline := time.Now().Add(opts.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	w.busy.Store(true)
	defer w.busy.Store(false)
	req := map[string]any{"type": "exec", "id": id, "code": code, "cell": cell, "max_output": opts.MaxOutput}
	sink := tool.OutputOf(ctx)
	if sink != nil {
		req["stream"] = tool.MaxStreamed
	}
	if err := w.send(req, deadline); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return tool.Result{Err: lostError("TimeoutError", fmt.Sprintf("the Python worker did not take the action's code within its time limit of %s", opts.Timeout), isolated)}, nil, false
		}
		return w.died("the Python worker could not take the action", isolated), nil, false
	}
	var grace <-chan time.Time
	interrupted := false
	timedOut := false // the interruption was the time limit's, not a cancellation's
	for {
		select {
		case m, ok := <-w.lines:
			if !ok {
				return w.died("the Python worker exited during the action", isolated), nil, false
			}
			switch {
			case m.Type == "call" && m.Name != "":
				reply, terr := call(ctx, m)
				if terr != nil {
					lastToolErr = terr
				}
				if err := w.send(reply, deadline.Add(opts.Grace)); err != nil {
					return w.died("the Python worker stopped answering", isolated), nil, false
				}
			case m.Type == "stdout" && m.ID == id && sink != nil:
				sink(m.Text)
			case m.Type == "result" && m.ID == id:
				r := tool.Result{Stdout: m.Stdout, Truncated: m.Truncated}
				if m.Error != nil {
					r.Err, we = &m.Error.CodeError, m.Error
				}
				if m.Value != nil {
					r.Value = *m.Value
				}
				if r.Err != nil && lastToolErr != nil && r.Err.Type == tool.Exception(lastToolErr) {
					r.Err.Cause = lastToolErr
				}
				if timedOut && r.Err != nil && r.Err.Type == "KeyboardInterrupt" {
					r.Err = timeoutError(opts.Timeout, r.Err.Traceback)
				}
				return r, we, true
			default:
				what := fmt.Sprintf("the worker sent a %q frame gantry did not expect during the action", m.Type)
				if m.Type == "result" {
					what = "the worker sent a result for another action (code writing to the protocol's fd 4)"
				}
				w.violate(what)
				return w.died("", isolated), nil, false
			}
		case <-timer.C:
			// Interrupt first: the code sees KeyboardInterrupt.
			interrupted, timedOut = true, true
			w.interrupt()
			grace = time.After(opts.Grace)
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
				w.interrupt()
				grace = time.After(opts.Grace)
			}
		case <-grace:
			r := tool.Result{Err: timeoutError(opts.Timeout, "")}
			r.Err.Message += "; it did not stop when interrupted, so the Python worker was killed and restarted: " + lossText(isolated)
			r.Err.Traceback = "TimeoutError: " + r.Err.Message
			return r, nil, false
		}
	}
}

func timeoutError(limit time.Duration, tb string) *tool.CodeError {
	msg := fmt.Sprintf("the action exceeded its time limit of %s and was interrupted", limit)
	return &tool.CodeError{Type: "TimeoutError", Message: msg, Traceback: strings.TrimSpace(tb + "\nTimeoutError: " + msg)}
}

// lossText says what a restart loses.
func lossText(isolated bool) string {
	if isolated {
		return "variables, functions, imports and files from earlier actions are lost"
	}
	return "variables, functions and imports from earlier actions are lost"
}

// lostError is the error of an action whose worker had to be replaced.
func lostError(typ, what string, isolated bool) *tool.CodeError {
	msg := fmt.Sprintf("%s; the worker was killed and a fresh one started: %s", what, lossText(isolated))
	return &tool.CodeError{Type: typ, Message: msg, Traceback: typ + ": " + msg}
}

// died is the result of an action whose worker is gone: a protocol
// violation when one was recorded, else what happened.
func (w *worker) died(what string, isolated bool) tool.Result {
	if v := w.violation.Load(); v != nil {
		return tool.Result{Err: lostError("ProtocolError", *v, isolated)}
	}
	msg := fmt.Sprintf("%s (%s); a fresh worker was started: %s", what, w.exitStatus(), lossText(isolated))
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
