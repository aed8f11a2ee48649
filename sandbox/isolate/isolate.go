// Package isolate runs Starlark sessions in worker processes, so that code
// that escapes the in-process sandbox's limits (an allocation the checks do
// not know, a builtin that never returns, a Go fatal error) kills a worker,
// never the gateway.
//
// A Session has the interface of sandbox.Session: Exec runs one action,
// state persists across actions, and the code calls the tools of the
// gateway's registry under the same names. The worker is the gantry binary
// itself (`gantry sandbox-worker`, see WorkerArg) serving one sandbox
// session over two pipes; tool calls made by the code travel back over the
// pipes and run in the gateway, against its registry, with its argument
// checks.
//
// The worker runs in its own process group, dies with the gateway
// (Pdeathsig), gets a clean environment, an address-space limit
// (RLIMIT_AS), a CPU-time limit per action (RLIMIT_CPU) and no files; an
// action that overruns its time limit by a grace period is ended by killing
// the worker. When a worker dies, the action's observation says why and
// that the session's state was lost, and the next action runs in a fresh
// worker. Frames from the worker are bounded in size, and any frame the
// protocol does not expect at that point ends the worker.
package isolate

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// Options configure a session.
type Options struct {
	// Sandbox are the limits of the sandbox session in the worker (steps,
	// time, output, the in-sandbox memory checks). Sandbox.Timeout
	// defaults to 10 s, as in process.
	Sandbox sandbox.Options
	// Command starts a worker: a program and its arguments. Default: this
	// executable with the argument WorkerArg.
	Command []string
	// Env is added to the worker's environment, which is otherwise only
	// GOMEMLIMIT, GOGC and GOMAXPROCS: nothing of the gateway's (API keys)
	// passes.
	Env []string
	// MaxMemory is the address space a worker may map beyond what the Go
	// runtime and Starlark have reserved when it starts (RLIMIT_AS); default
	// 1 GiB. The worker's GOMEMLIMIT is 3/4 of it.
	MaxMemory int64
	// MaxCPU is the CPU time one action may use (RLIMIT_CPU, whole
	// seconds); default twice the timeout plus the grace period.
	MaxCPU time.Duration
	// Grace is how long past its time limit an action may run before the
	// worker is killed (default 2 s).
	Grace time.Duration
	// MaxFrame bounds every protocol frame in bytes (default 8 MiB): a tool
	// call's arguments, a tool's result, an action's code and result.
	MaxFrame int
	// StartTimeout bounds the start of a worker (default 30 s).
	StartTimeout time.Duration
	// Logger receives the stderr of workers that died; default: discard.
	Logger *slog.Logger
}

const (
	defaultTimeout  = 10 * time.Second // sandbox.Options' default
	defaultMaxFrame = 8 << 20
)

func (o Options) withDefaults() (Options, error) {
	if o.Sandbox.Timeout == 0 {
		o.Sandbox.Timeout = defaultTimeout
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = 1 << 30
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Second
	}
	if o.MaxCPU == 0 {
		o.MaxCPU = 2*o.Sandbox.Timeout + o.Grace
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = defaultMaxFrame
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("isolate: worker command: %w", err)
		}
		o.Command = []string{exe, WorkerArg}
	}
	if o.MaxMemory < 0 || o.MaxCPU < 0 || o.Grace < 0 || o.MaxFrame < 1024 {
		return o, errors.New("isolate: negative limit, or MaxFrame below 1 KiB")
	}
	return o, nil
}

// Session is one sandbox session in a worker process. Its methods are safe
// for concurrent use; actions run one at a time.
type Session struct {
	reg  *tool.Registry
	opts Options

	mu     sync.Mutex
	w      *worker
	closed bool
	nextID uint64
}

// New starts a session's worker with the tools of reg.
func New(ctx context.Context, reg *tool.Registry, opts Options) (*Session, error) {
	if reg == nil {
		reg = tool.NewRegistry()
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Session{reg: reg, opts: opts}
	w, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	s.w = w
	return s, nil
}

// ErrClosed is returned by Exec on a closed session.
var ErrClosed = errors.New("isolate: session closed")

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
	if s.w == nil {
		w, err := s.start(ctx)
		if err != nil {
			return tool.Result{}, err
		}
		s.w = w
	}
	s.nextID++
	res, alive := s.w.exec(ctx, s.nextID, code, s)
	if !alive {
		s.w.kill()
		s.w = nil
		res.Restarted = true
		// Start the next worker now, so that the next action finds it ready.
		if w, err := s.start(ctx); err == nil {
			s.w = w
		} else {
			s.opts.Logger.Warn("isolate: worker restart failed", "err", err)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// Close kills the worker. Later actions fail with ErrClosed.
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
	return nil
}

// worker is one running worker process.
type worker struct {
	cmd    *exec.Cmd
	req    *os.File      // our end of the worker's fd 3
	rep    *os.File      // our end of the worker's fd 4
	cancel *os.File      // our end of the worker's fd 5
	frames *frameReader  // reads rep
	done   chan struct{} // closed when the process has been waited for
	stderr *headTail
	once   sync.Once // kill
	// nextCall is the id of the worker's last tool call.
	nextCall uint64
}

type frameOrErr struct {
	f   frame
	err error
}

// env is the worker's whole environment.
func (s *Session) env() []string {
	env := []string{
		"GOMEMLIMIT=" + strconv.FormatInt(s.opts.MaxMemory/4*3, 10),
		"GOGC=100",
		"GOMAXPROCS=1",
	}
	return append(env, s.opts.Env...)
}

func (s *Session) start(ctx context.Context) (*worker, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("isolate: pipe: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("isolate: pipe: %w", err)
	}
	cancelR, cancelW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		repR.Close()
		repW.Close()
		return nil, fmt.Errorf("isolate: pipe: %w", err)
	}
	cmd := exec.Command(s.opts.Command[0], s.opts.Command[1:]...)
	cmd.Env = s.env()
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{reqR, repW, cancelR} // fd 3, 4, 5
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr := &headTail{max: 2048}
	cmd.Stderr = stderr
	err = cmd.Start()
	reqR.Close()
	repW.Close()
	cancelR.Close()
	if err != nil {
		reqW.Close()
		repR.Close()
		cancelW.Close()
		return nil, fmt.Errorf("isolate: start worker: %w", err)
	}
	w := &worker{cmd: cmd, req: reqW, rep: repR, cancel: cancelW, frames: &frameReader{r: bufio.NewReaderSize(repR, 64<<10), max: s.opts.MaxFrame}, done: make(chan struct{}), stderr: stderr}
	go func() {
		cmd.Wait()
		close(w.done)
	}()

	init := &initMsg{
		Sandbox:   s.opts.Sandbox,
		MaxMemory: s.opts.MaxMemory,
		MaxCPU:    int64(math.Ceil(s.opts.MaxCPU.Seconds())),
		MaxFrame:  s.opts.MaxFrame,
	}
	for _, t := range s.reg.Tools() {
		spec := toolSpec{Name: t.Name, Doc: t.Doc}
		for _, p := range t.Params {
			if p.Variadic {
				spec.Variadic = p.Name
				continue
			}
			spec.Params = append(spec.Params, p.Name)
		}
		init.Tools = append(init.Tools, spec)
	}
	fail := func(err error) (*worker, error) {
		w.kill()
		if msg := w.stderr.String(); msg != "" {
			err = fmt.Errorf("%w; its stderr: %s", err, strings.TrimSpace(msg))
		}
		return nil, err
	}
	deadline := time.Now().Add(s.opts.StartTimeout)
	if err := w.send(frame{Type: typeInit, Init: init}, maxInitFrame, deadline); err != nil {
		return fail(fmt.Errorf("isolate: start worker: %w", err))
	}
	stop := context.AfterFunc(ctx, func() { w.rep.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	w.rep.SetReadDeadline(deadline)
	m := w.read()
	switch {
	case ctx.Err() != nil:
		return fail(fmt.Errorf("isolate: start worker: %w", ctx.Err()))
	case errors.Is(m.err, os.ErrDeadlineExceeded):
		return fail(fmt.Errorf("isolate: worker did not start within %s", s.opts.StartTimeout))
	case m.err != nil || m.f.Type != typeReady:
		return fail(fmt.Errorf("isolate: worker %s did not start (%s)", s.opts.Command[0], w.status()))
	}
	return w, nil
}

// read reads and parses the worker's next frame, until the read deadline.
func (w *worker) read() frameOrErr {
	line, err := w.frames.next()
	if err != nil {
		return frameOrErr{err: err}
	}
	f, err := decodeFrame(line)
	return frameOrErr{f: f, err: err}
}

// send writes a frame, waiting at most until deadline for the worker to
// take it.
func (w *worker) send(f frame, max int, deadline time.Time) error {
	data, err := encodeFrame(f, max)
	if err != nil {
		return err
	}
	w.req.SetWriteDeadline(deadline)
	_, err = w.req.Write(data)
	return err
}

// kill ends the worker's process group and waits for it.
func (w *worker) kill() {
	w.once.Do(func() {
		select {
		case <-w.done: // already waited for: its pid may be another's now
		default:
			syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			w.cmd.Process.Kill()
		}
		w.req.Close()
		w.cancel.Close()
		<-w.done
		w.rep.Close()
	})
}

// status describes how the worker ended, once it has.
func (w *worker) status() string {
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		return "still running"
	}
	return w.cmd.ProcessState.String()
}

// exec runs one action; alive is false when the worker is gone or must be
// killed (the Result then says why).
func (w *worker) exec(ctx context.Context, id uint64, code string, s *Session) (res tool.Result, alive bool) {
	opts := s.opts
	// A worker that speaks while no action runs breaks the protocol.
	w.rep.SetReadDeadline(time.Unix(1, 0))
	if _, err := w.frames.r.Peek(1); err == nil {
		return w.lost(s, brokeProtocol(frameOrErr{}, "it wrote while no action was running")), false
	} else if !errors.Is(err, os.ErrDeadlineExceeded) {
		return w.lost(s, died(w, opts)), false
	}
	start := time.Now()
	limit := opts.Sandbox.Timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = max(time.Until(d), time.Millisecond)
	}
	// Tool calls run under the action's time limit, as in process.
	actx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	deadline := start.Add(limit + opts.Grace)
	sink := tool.OutputOf(ctx)
	if err := w.send(frame{Type: typeExec, ID: id, Code: code, Deadline: limit, Stream: sink != nil}, opts.MaxFrame, deadline); err != nil {
		if errors.Is(err, errFrameTooLarge) {
			msg := fmt.Sprintf("the code of the action is too large to send to the sandbox worker (%d bytes; the limit is about %d)", len(code), opts.MaxFrame)
			return tool.Result{Err: &tool.CodeError{Type: "ValueError", Message: msg, Traceback: "ValueError: " + msg}}, true
		}
		return w.lost(s, timedOut(limit, "did not take the action")), false
	}
	// Frames are read here, not by a goroutine of their own: a hand-off
	// between goroutines costs tens of µs per frame. A cancelled context
	// ends the read at once through the read deadline.
	stop := context.AfterFunc(ctx, func() { w.rep.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	callErrs := map[uint64]error{}
	cancelled := false
	for {
		w.rep.SetReadDeadline(deadline)
		if !cancelled && ctx.Err() != nil {
			cancelled = true
			var msg [8]byte
			binary.BigEndian.PutUint64(msg[:], id)
			w.cancel.SetWriteDeadline(deadline)
			if _, err := w.cancel.Write(msg[:]); err != nil {
				return w.lost(s, timedOut(limit, "stopped answering")), false
			}
			if d := time.Now().Add(opts.Grace); d.Before(deadline) {
				deadline = d
			}
			continue
		}
		m := w.read()
		if m.err != nil {
			switch {
			case errors.Is(m.err, os.ErrDeadlineExceeded):
				if !cancelled && ctx.Err() != nil || time.Now().Before(deadline) {
					continue
				}
				if cancelled && time.Since(start) < limit {
					return w.lost(s, lossReason{typ: "KeyboardInterrupt", what: "the action was cancelled and did not stop, so the sandbox worker was killed"}), false
				}
				return w.lost(s, timedOut(limit, "did not stop")), false
			case errors.Is(m.err, io.EOF) || errors.Is(m.err, io.ErrUnexpectedEOF) || errors.Is(m.err, os.ErrClosed):
				return w.lost(s, died(w, opts)), false
			}
			return w.lost(s, brokeProtocol(m, "")), false
		}
		f := m.f
		switch {
		case f.Type == typeCall && f.ID == w.nextCall+1:
			w.nextCall++
			reply, err := s.call(actx, f)
			if err != nil {
				return w.lost(s, brokeProtocol(frameOrErr{f: f}, err.Error())), false
			}
			if reply.err != nil {
				callErrs[f.ID] = reply.err
			}
			// A tool that ran past the deadline leaves the worker its
			// grace period to stop.
			if now := time.Now(); now.Add(opts.Grace).After(deadline) {
				deadline = now.Add(opts.Grace)
			}
			if err := w.send(reply.frame, opts.MaxFrame, deadline); err != nil {
				return w.lost(s, timedOut(limit, "stopped answering")), false
			}
		case f.Type == typeStdout && f.ID == id && sink != nil:
			sink(f.Text)
		case f.Type == typeResult && f.ID == id:
			res := *f.Result
			if res.Err != nil && f.Cause != 0 {
				res.Err.Cause = callErrs[f.Cause]
			}
			return res, true
		default:
			return w.lost(s, brokeProtocol(m, "")), false
		}
	}
}

// reply is the answer to a tool call: the frame to send and the Go error.
type reply struct {
	frame frame
	err   error
}

// call runs a tool call from the worker against the registry. An error is
// returned only when the call itself breaks the protocol.
func (s *Session) call(ctx context.Context, f frame) (reply, error) {
	t, ok := s.reg.Lookup(f.Name)
	if !ok {
		return reply{}, fmt.Errorf("call of %q, which is not a tool", f.Name)
	}
	v, err := decodeValue(f.Args)
	if err != nil {
		return reply{}, fmt.Errorf("arguments of %s: %v", f.Name, err)
	}
	args, ok := v.(map[string]any)
	if !ok {
		return reply{}, fmt.Errorf("arguments of %s are not an object", f.Name)
	}
	if f.Refused != "" {
		// The worker refused the call while binding its arguments (too
		// many, an unknown name): on record as in process, never run.
		refusal := &tool.ArgError{Tool: f.Name, Msg: f.Refused}
		if t.Refused != nil {
			t.Refused(ctx, args, refusal)
		}
		return reply{frame: frame{Type: typeReturn, ID: f.ID, Value: json.RawMessage("null")}, err: refusal}, nil
	}
	out, err := t.CallNamed(ctx, args)
	if err == nil {
		enc, eerr := encodeValue(nil, out, 0)
		if eerr == nil && len(enc) > s.opts.MaxFrame-256 {
			eerr = fmt.Errorf("it is %d bytes; the sandbox worker takes at most %d", len(enc), s.opts.MaxFrame-256)
		}
		if eerr == nil {
			return reply{frame: frame{Type: typeReturn, ID: f.ID, Value: enc}}, nil
		}
		err = tool.Errorf(tool.Internal, "%s: result cannot be passed to the sandbox: %w", f.Name, eerr)
	}
	ce := &callError{Msg: err.Error()}
	var ae *tool.ArgError
	if errors.As(err, &ae) {
		ce.Arg = &argError{Tool: ae.Tool, Param: ae.Param, Msg: ae.Msg, Value: ae.Value}
	} else if k := tool.KindOf(err); k != tool.Failed {
		ce.Kind = k.String()
	}
	if len(ce.Msg) > s.opts.MaxFrame/4 {
		ce.Msg, _ = tool.Truncate(ce.Msg, s.opts.MaxFrame/4)
	}
	return reply{frame: frame{Type: typeReturn, ID: f.ID, Error: ce}, err: err}, nil
}

// lossReason says why a worker ended: the exception type and what
// happened.
type lossReason struct {
	typ  string
	what string
}

func timedOut(limit time.Duration, what string) lossReason {
	return lossReason{typ: "TimeoutError", what: fmt.Sprintf("the action exceeded its time limit of %s and the sandbox worker %s, so it was killed", limit, what)}
}

func brokeProtocol(m frameOrErr, detail string) lossReason {
	why := detail
	if m.err != nil {
		why = m.err.Error()
	} else if why == "" {
		why = fmt.Sprintf("unexpected %s frame", m.f.Type)
	} else if m.f.Type != "" && !strings.Contains(why, "frame") {
		why = fmt.Sprintf("unexpected %s frame: %s", m.f.Type, why)
	}
	return lossReason{typ: "RuntimeError", what: fmt.Sprintf("the sandbox worker broke the protocol (%s), so it was killed", why)}
}

// died classifies the death of a worker that exited by itself.
func died(w *worker, opts Options) lossReason {
	status := w.status()
	errText := w.stderr.String()
	ps := w.cmd.ProcessState
	if ps == nil {
		return lossReason{typ: "RuntimeError", what: "the sandbox worker closed its pipe, so it was killed"}
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	switch {
	case ps != nil && ps.ExitCode() == ExitCPULimit || ws.Signaled() && ws.Signal() == syscall.SIGXCPU:
		return lossReason{typ: "TimeoutError", what: fmt.Sprintf("the sandbox worker died (it used up its CPU time limit of %ds per action)", int64(math.Ceil(opts.MaxCPU.Seconds())))}
	case strings.Contains(errText, "out of memory") || strings.Contains(errText, "cannot allocate memory") ||
		strings.Contains(errText, "pthread_create failed") || strings.Contains(errText, "failed to allocate") ||
		strings.Contains(errText, "address space collisions"): // the last two: built with -race
		return lossReason{typ: "MemoryError", what: fmt.Sprintf("the sandbox worker died (it went over its memory limit of %d MiB)", opts.MaxMemory>>20)}
	case strings.Contains(errText, "stack overflow") || strings.Contains(errText, "stack exceeds"):
		return lossReason{typ: "RecursionError", what: "the sandbox worker died (stack overflow: values or code nested too deeply)"}
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		return lossReason{typ: "MemoryError", what: "the sandbox worker died (killed by SIGKILL: the system's out-of-memory killer or a resource limit)"}
	}
	if line := fatalLine(errText); line != "" {
		status += ": " + line
	}
	return lossReason{typ: "RuntimeError", what: fmt.Sprintf("the sandbox worker died (%s)", status)}
}

// fatalLine finds the first line of a Go crash report in a worker's stderr.
func fatalLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ") {
			v, _ := tool.Truncate(line, 200)
			return v
		}
	}
	return ""
}

// lost kills the worker and returns the observation of an action during
// which it was lost.
func (w *worker) lost(s *Session, r lossReason) tool.Result {
	w.kill()
	if msg := strings.TrimSpace(w.stderr.String()); msg != "" {
		s.opts.Logger.Warn("isolate: worker lost", "reason", r.what, "stderr", msg)
	}
	msg := r.what + "; the session's variables, functions and imports were lost and a fresh session was started"
	return tool.Result{Err: &tool.CodeError{Type: r.typ, Message: msg, Traceback: r.typ + ": " + msg}}
}

// headTail keeps the first and the last max bytes written to it.
type headTail struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte
	total int
}

func (b *headTail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += len(p)
	q := p
	if room := b.max - len(b.head); room > 0 {
		n := min(room, len(q))
		b.head = append(b.head, q[:n]...)
		q = q[n:]
	}
	if len(q) > 0 {
		b.tail = append(b.tail, q...)
		if len(b.tail) > b.max {
			b.tail = append(b.tail[:0], b.tail[len(b.tail)-b.max:]...)
		}
	}
	return len(p), nil
}

func (b *headTail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total > len(b.head)+len(b.tail) {
		return string(b.head) + "\n[...]\n" + string(b.tail)
	}
	return string(b.head) + string(b.tail)
}
