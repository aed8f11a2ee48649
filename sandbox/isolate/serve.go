package isolate

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// WorkerArg is the argument that makes the gantry binary serve a session as
// a worker (the hidden command `gantry sandbox-worker`).
const WorkerArg = "sandbox-worker"

// ExitCPULimit is the worker's exit status when an action used up its CPU
// time.
const ExitCPULimit = 3

// maxInitFrame bounds the init frame, which carries every tool's
// description.
const maxInitFrame = 16 << 20

// ServeWorker serves one session over file descriptors 3 (frames from the
// gateway), 4 (frames to the gateway) and 5 (cancellations), as a worker
// started by New does. It returns when the gateway closes its pipe or
// breaks the protocol.
func ServeWorker(ctx context.Context) error {
	in := os.NewFile(3, "gantry-requests")
	out := os.NewFile(4, "gantry-replies")
	cancels := os.NewFile(5, "gantry-cancels")
	if in == nil || out == nil || cancels == nil {
		return errors.New("sandbox worker: file descriptors 3, 4 and 5 are not open (this command is started by gantry itself)")
	}
	defer in.Close()
	defer out.Close()
	defer cancels.Close()
	return Serve(ctx, in, out, cancels)
}

// Serve runs one Starlark session for a gateway: it reads the init frame
// from in, applies the worker's limits to this process, and then runs the
// actions the gateway sends, forwarding tool calls to it. cancels carries
// the ids of actions the gateway cancels (8 bytes each, big-endian). It is
// the worker's main function: the limits are the whole process's.
//
// Frames are read by the goroutine that runs the actions, with no hand-off
// between goroutines: a hand-off after a wake-up from the poller costs
// about 100 µs with GOMAXPROCS=1; a direct read about 10 µs.
func Serve(ctx context.Context, in io.Reader, out io.Writer, cancels io.Reader) error {
	r := bufio.NewReaderSize(in, 64<<10)
	line, err := readFrame(r, maxInitFrame)
	if err != nil {
		return fmt.Errorf("sandbox worker: read init: %w", err)
	}
	f, err := decodeFrame(line)
	if err != nil {
		return fmt.Errorf("sandbox worker: %w", err)
	}
	if f.Type != typeInit {
		return fmt.Errorf("sandbox worker: %w: the first frame is %s, not init", errBadFrame, f.Type)
	}
	init := f.Init
	if init.MaxFrame <= 0 {
		init.MaxFrame = defaultMaxFrame
	}
	srv := &server{r: r, out: out, maxFrame: init.MaxFrame}
	reg := tool.NewRegistry()
	for _, spec := range init.Tools {
		t := tool.Tool{Name: spec.Name, Doc: spec.Doc, Returns: tool.Any, Fn: srv.proxy(spec.Name), Refused: srv.refused(spec.Name)}
		// Parameters of type any, none required and without defaults: the
		// worker only binds arguments to names; the gateway's registry
		// checks them, applies defaults and records the attempt, as it
		// does in process.
		for _, p := range spec.Params {
			t.Params = append(t.Params, tool.Param{Name: p, Type: tool.Any})
		}
		if spec.Variadic != "" {
			t.Params = append(t.Params, tool.Param{Name: spec.Variadic, Type: tool.Any, Variadic: true})
		}
		if err := reg.Register(t); err != nil {
			return fmt.Errorf("sandbox worker: %w", err)
		}
	}
	sess, err := sandbox.New(reg, init.Sandbox)
	if err != nil {
		return fmt.Errorf("sandbox worker: %w", err)
	}
	defer sess.Close()
	if err := applyLimits(init.MaxMemory); err != nil {
		return fmt.Errorf("sandbox worker: limits: %w", err)
	}
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	defer signal.Stop(xcpu)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-xcpu:
			fmt.Fprintf(os.Stderr, "sandbox worker: CPU time limit of %ds per action exceeded\n", init.MaxCPU)
			os.Exit(ExitCPULimit)
		case <-stop:
		}
	}()
	go srv.readCancels(cancels)

	if err := srv.send(frame{Type: typeReady}); err != nil {
		return fmt.Errorf("sandbox worker: %w", err)
	}
	for {
		line, err := readFrame(r, srv.maxFrame)
		if errors.Is(err, io.EOF) {
			return nil // the gateway closed the session
		}
		if err != nil {
			return fmt.Errorf("sandbox worker: %w", err)
		}
		f, err := decodeFrame(line)
		if err == nil && f.Type != typeExec {
			err = fmt.Errorf("%w: %s while no action runs", errBadFrame, f.Type)
		}
		if err != nil {
			return fmt.Errorf("sandbox worker: %w", err)
		}
		actx, cancel := context.WithCancel(ctx)
		if f.Deadline > 0 {
			actx, cancel = context.WithTimeout(ctx, f.Deadline)
		}
		srv.begin(f.ID, cancel)
		if err := limitCPU(init.MaxCPU); err != nil {
			cancel()
			return fmt.Errorf("sandbox worker: limits: %w", err)
		}
		if f.Stream {
			id := f.ID
			actx = tool.WithOutput(actx, func(chunk string) {
				// Chunks longer than a frame go in pieces.
				for len(chunk) > 0 {
					n := min(len(chunk), srv.maxFrame/8)
					for n < len(chunk) && n > 1 && !utf8.RuneStart(chunk[n]) {
						n--
					}
					if srv.send(frame{Type: typeStdout, ID: id, Text: chunk[:n]}) != nil {
						return
					}
					chunk = chunk[n:]
				}
			})
		}
		res, err := sess.Exec(actx, f.Code)
		srv.begin(0, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("sandbox worker: %w", err)
		}
		if srv.broken != nil {
			return fmt.Errorf("sandbox worker: %w", srv.broken)
		}
		if err := srv.sendResult(f.ID, res); err != nil {
			return fmt.Errorf("sandbox worker: %w", err)
		}
	}
}

// server is the worker's side of the protocol.
type server struct {
	r        *bufio.Reader
	out      io.Writer
	maxFrame int
	nextCall uint64 // id of the last tool call
	broken   error  // a protocol error met during a tool call
	// refusal is the last call the worker refused itself (see refused):
	// its error and its call's id, so that a result ending in that error
	// names the call and the gateway can give its Go error as the cause.
	refusal struct {
		err  error
		call uint64
	}

	mu        sync.Mutex
	cur       uint64             // the running action
	cancel    context.CancelFunc // cancels it
	cancelled uint64             // the last action the gateway cancelled
}

// begin records the running action (0: none). An action cancelled before
// it began is cancelled at once.
func (s *server) begin(id uint64, cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.cancel = id, cancel
	if id != 0 && s.cancelled >= id {
		cancel()
	}
}

// readCancels cancels the actions whose ids arrive on r, until r ends.
func (s *server) readCancels(r io.Reader) {
	var buf [8]byte
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return
		}
		id := binary.BigEndian.Uint64(buf[:])
		s.mu.Lock()
		s.cancelled = max(s.cancelled, id)
		if s.cur == id && s.cancel != nil {
			s.cancel()
		}
		s.mu.Unlock()
	}
}

func (s *server) send(f frame) error {
	data, err := encodeFrame(f, s.maxFrame)
	if err != nil {
		return err
	}
	_, err = s.out.Write(data)
	return err
}

// sendResult sends an action's result. A result too long for a frame (a
// huge traceback) is cut, head and tail kept, to fit.
func (s *server) sendResult(id uint64, res tool.Result) error {
	f := frame{Type: typeResult, ID: id, Result: &res}
	var re *remoteError
	switch {
	case res.Err == nil:
	case errors.As(res.Err.Cause, &re):
		f.Cause = re.call
	case s.refusal.err != nil && res.Err.Cause == s.refusal.err:
		f.Cause = s.refusal.call
	}
	s.refusal.err = nil
	data, err := encodeFrame(f, s.maxFrame)
	if errors.Is(err, errFrameTooLarge) {
		// Five fields of at most max/64 bytes each fit even when JSON
		// escapes every byte (6 bytes for one).
		budget := max(s.maxFrame/64, 64)
		cut := func(s string) string { v, _ := tool.Truncate(s, budget); return v }
		r := res
		r.Stdout, r.Value, r.Truncated = cut(r.Stdout), cut(r.Value), true
		if r.Err != nil {
			ce := *r.Err
			ce.Traceback, ce.Message, ce.Source = cut(ce.Traceback), cut(ce.Message), cut(ce.Source)
			r.Err = &ce
		}
		f.Result = &r
		data, err = encodeFrame(f, s.maxFrame)
	}
	if err != nil {
		return err
	}
	_, err = s.out.Write(data)
	return err
}

// remoteError is a tool's failure reported by the gateway: its text, and
// the argument error within it, if any (so the sandbox classifies it as it
// does in process).
type remoteError struct {
	call uint64
	msg  string
	err  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// refused returns the hook that tells the gateway of a call of the tool
// whose arguments the worker could not bind, so that the attempt is on
// record there as it is in process; the call is not run.
func (s *server) refused(name string) func(context.Context, map[string]any, error) {
	return func(_ context.Context, given map[string]any, err error) {
		msg := err.Error()
		var ae *tool.ArgError
		if errors.As(err, &ae) {
			msg = ae.Msg
		}
		if len(msg) > s.maxFrame/4 {
			msg, _ = tool.Truncate(msg, s.maxFrame/4)
		}
		s.call(name, given, msg)
		s.refusal.err, s.refusal.call = err, s.nextCall
	}
}

// proxy returns the function of a tool in the worker: it sends the call
// to the gateway and waits for its answer.
func (s *server) proxy(name string) tool.Func {
	return func(_ context.Context, args tool.Args) (any, error) {
		return s.call(name, map[string]any(args), "")
	}
}

// call sends a call of the tool to the gateway and waits for its answer.
// refused, when set, says the worker refused the call (see refused): the
// gateway records it without running it, with its arguments when they can
// travel.
func (s *server) call(name string, args map[string]any, refused string) (any, error) {
	enc, err := encodeValue(nil, args, 0)
	if err != nil && refused != "" {
		enc, err = []byte("{}"), nil
	}
	if err != nil {
		return nil, &tool.ArgError{Tool: name, Msg: "arguments cannot be passed to the tool: " + err.Error()}
	}
	id := s.nextCall + 1
	data, err := encodeFrame(frame{Type: typeCall, ID: id, Name: name, Args: enc, Refused: refused}, s.maxFrame)
	if errors.Is(err, errFrameTooLarge) && refused != "" {
		enc = []byte("{}")
		data, err = encodeFrame(frame{Type: typeCall, ID: id, Name: name, Args: enc, Refused: refused}, s.maxFrame)
	}
	if errors.Is(err, errFrameTooLarge) {
		return nil, &tool.ArgError{Tool: name, Msg: fmt.Sprintf("arguments are too large to pass to the tool (%d bytes encoded; the limit is %d)", len(enc), s.maxFrame), Value: true}
	}
	if err != nil {
		return nil, &tool.ArgError{Tool: name, Msg: "arguments cannot be passed to the tool: " + err.Error()}
	}
	s.nextCall = id // the call is sent: the gateway counts it
	if _, err := s.out.Write(data); err != nil {
		return nil, fmt.Errorf("%s: the gateway is gone: %w", name, err)
	}
	line, err := readFrame(s.r, s.maxFrame)
	var f frame
	if err == nil {
		f, err = decodeFrame(line)
	}
	if err == nil && (f.Type != typeReturn || f.ID != id) {
		err = fmt.Errorf("%w: %s %d in answer to call %d", errBadFrame, f.Type, f.ID, id)
	}
	if err != nil {
		s.broken = err
		return nil, fmt.Errorf("%s: the gateway is gone: %w", name, err)
	}
	if f.Error != nil {
		re := &remoteError{call: id, msg: f.Error.Msg}
		if a := f.Error.Arg; a != nil {
			re.err = &tool.ArgError{Tool: a.Tool, Param: a.Param, Msg: a.Msg, Value: a.Value}
		} else if k, ok := tool.ParseKind(f.Error.Kind); ok {
			re.err = tool.NewError(k, errors.New(f.Error.Msg))
		}
		return nil, re
	}
	v, err := decodeValue(f.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: result: %w", name, err)
	}
	return v, nil
}

// applyLimits sets the process's resource limits: an address space of what
// is mapped now plus maxMemory (the Go runtime and Starlark reserve several
// GiB of address space they never touch, before this runs), no core files,
// no files written, few descriptors.
func applyLimits(maxMemory int64) error {
	mapped, err := mappedBytes()
	if err != nil {
		return err
	}
	as := uint64(mapped + maxMemory)
	if maxMemory <= 0 {
		as = math.MaxUint64 // no address-space limit asked for
	}
	limits := []struct {
		res int
		val uint64
	}{
		{syscall.RLIMIT_AS, as},
		{syscall.RLIMIT_CORE, 0},
		{syscall.RLIMIT_FSIZE, 0},
		{syscall.RLIMIT_NOFILE, 64},
	}
	for _, l := range limits {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(l.res, &cur); err != nil {
			return err
		}
		v := min(l.val, cur.Max)
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("rlimit %d = %d: %w", l.res, v, err)
		}
	}
	return nil
}

// mappedBytes is the process's mapped address space (VmSize).
func mappedBytes() (int64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, errors.New("empty /proc/self/statm")
	}
	pages, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// limitCPU lets the coming action use seconds of CPU time: the soft
// RLIMIT_CPU is set to what the process has used plus seconds. Past it the
// kernel sends SIGXCPU, on which the worker exits.
func limitCPU(seconds int64) error {
	if seconds <= 0 {
		return nil
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	used := int64(ru.Utime.Sec) + int64(ru.Stime.Sec) + 1 // rounding up (the fields are int32 on 32-bit targets)
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CPU, &cur); err != nil {
		return err
	}
	v := min(uint64(used+seconds), cur.Max)
	return syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: v, Max: cur.Max})
}
