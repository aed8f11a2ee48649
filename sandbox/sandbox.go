// Package sandbox runs model-written code in Starlark, in process.
//
// A Session is one notebook-like conversation: variables, functions and
// mutable lists and dicts defined by one action stay usable and mutable in
// the next. The code is the Python that models write, as far as Starlark can
// express it: f-strings, imports of the provided modules (math, json, time,
// re, random), Python's print/str/repr output and `is None` comparisons are
// translated before parsing, keeping line numbers. Every action runs under
// limits on code size, steps, wall time, output size, memory and recursion
// depth (1000 calls, as Python's), and an error comes back as a
// Python-style traceback a model can act on, cut to a few KiB. The passes
// before execution (nesting checks, translation, parsing) take time linear
// in the size of the code and stop at the action's deadline.
//
// Starlark has no I/O: code reaches the world only through the tools of the
// registry, which appear as builtins (dotted tools as modules:
// rover.drive(speed=0.5)).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/gantry-dev/gantry/internal/ipytb"
	"github.com/gantry-dev/gantry/tool"
)

// Options are the limits of a session's actions. Zero values select the
// defaults.
type Options struct {
	// MaxSteps bounds the Starlark computation steps of one action
	// (default 10,000,000).
	MaxSteps uint64
	// Timeout bounds the wall time of one action (default 10 s).
	Timeout time.Duration
	// MaxOutput is the number of bytes of printed output kept per action,
	// head and tail (default 16 KiB).
	MaxOutput int
	// MaxMemory bounds the memory one action may allocate, in bytes
	// (default 256 MiB). Operations that would create a value larger than
	// this fail before allocating; growth by many small allocations is
	// caught by a watchdog that samples the heap.
	MaxMemory int64
	// MaxCodeSize bounds the size of one action's code, in bytes (default
	// 1 MiB). Larger code is refused before anything reads it.
	MaxCodeSize int
	// Seed seeds the random module, so that runs are reproducible.
	Seed int64
	// Errors is how errors are shown: ErrorsPython (CPython's traceback,
	// the default) or ErrorsIPython (IPython's, as MINT showed them).
	Errors ipytb.Style

	// stuckGrace is how long an action may run on after it was stopped
	// (default 2 s); tests shorten it.
	stuckGrace time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxSteps == 0 {
		o.MaxSteps = 10_000_000
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxOutput == 0 {
		o.MaxOutput = 16 << 10
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = 256 << 20
	}
	if o.MaxCodeSize == 0 {
		o.MaxCodeSize = DefaultMaxCodeSize
	}
	if o.stuckGrace == 0 {
		o.stuckGrace = 2 * time.Second
	}
	return o
}

// fileOptions turns on every Starlark extension Python code needs.
var fileOptions = syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// filename is the name tracebacks give the action's code.
const filename = "<action>"

// Session is a Starlark interpreter whose globals persist across actions.
// Its methods are safe for concurrent use; actions run one at a time.
type Session struct {
	reg  *tool.Registry
	opts Options

	mu      sync.Mutex
	globals starlark.StringDict
	closed  bool
	count   int // actions run
	rng     *rng
	mods    map[string]*starlarkstruct.Module
	hist    *ipytb.History      // recent actions' code, for tracebacks (ipython.go)
	scopes  map[int]*cellScopes // recent actions' comprehensions, for tracebacks (comprehension.go)

	// per-action state, guarded by mu (set during Exec)
	ctx context.Context
	out *outputBuffer

	// abandoned is closed when the action the session last abandoned
	// (one that could not be stopped) has ended; nil if none was.
	abandoned chan struct{}

	// jobs feeds the goroutine that runs the session's actions (started
	// by the first action). One goroutine serves them all, so the stack it
	// grew to run Starlark is kept from one action to the next; an
	// abandoned action keeps the goroutine it is stuck on, and the next
	// action starts another.
	jobs chan func()
}

// runJobs runs the functions sent on jobs until the channel is closed.
func runJobs(jobs <-chan func()) {
	for job := range jobs {
		job()
	}
}

// goRun runs job on the session's action goroutine, starting it if needed.
func (s *Session) goRun(job func()) {
	if s.jobs == nil {
		s.jobs = make(chan func())
		go runJobs(s.jobs)
	}
	s.jobs <- job
}

// stopJobs lets the action goroutine end once its current job, if any,
// returns.
func (s *Session) stopJobs() {
	if s.jobs != nil {
		close(s.jobs)
		s.jobs = nil
	}
}

// action is the state of one action its thread reads (thread-local
// threadAction): an action the session abandons keeps its own.
type action struct {
	ctx context.Context
	out *outputBuffer
}

// threadAction is the thread-local key of the running action.
const threadAction = "gantry.action"

// actionOf returns the action running on thread, or nil.
func actionOf(thread *starlark.Thread) *action {
	a, _ := thread.Local(threadAction).(*action)
	return a
}

// New returns a session whose code can call the tools of reg.
func New(reg *tool.Registry, opts Options) (*Session, error) {
	if reg == nil {
		reg = tool.NewRegistry()
	}
	s := &Session{reg: reg, opts: opts.withDefaults()}
	if err := s.reset(); err != nil {
		return nil, err
	}
	return s, nil
}

// reset gives the session fresh globals and a fresh random stream.
func (s *Session) reset() error {
	s.rng = newRNG(s.opts.Seed)
	g, err := s.builtins()
	if err != nil {
		return err
	}
	g[depthCheck] = starlark.NewBuiltin(depthCheck, builtinDepthCheck)
	s.globals = g
	return nil
}

// Close ends the session; later actions fail.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.globals = nil
	s.stopJobs()
	return nil
}

// ErrClosed is returned by Exec on a closed session.
var ErrClosed = errors.New("sandbox: session closed")

// Exec runs code as one action. An error in the code, or a limit it hit, is
// reported in the Result; the returned error is non-nil only when the
// session itself cannot run code.
func (s *Session) Exec(ctx context.Context, code string) (tool.Result, error) {
	ctx = tool.WithCode(ctx, code)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return tool.Result{}, ErrClosed
	}
	start := time.Now()
	s.count++
	s.out = newOutputBuffer(s.opts.MaxOutput)
	s.out.stream(tool.OutputOf(ctx))
	defer s.out.endStream()
	actx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	s.ctx = actx
	defer func() { s.ctx, s.out = nil, nil }()

	res := tool.Result{}
	s.noteCell(code)
	value, cerr, lost := s.run(actx, code)
	if cerr != nil && s.opts.Errors == ErrorsIPython && !strings.HasPrefix(cerr.Traceback, "---") {
		s.ipythonError(cerr, nil) // reported before the code ran
	}
	res.Restarted = lost
	res.Stdout, res.Truncated = s.out.String()
	if cerr != nil {
		res.Err = cerr
	} else if value != nil && value != starlark.None {
		res.Value = pyRepr(value)
		if v, cut := tool.Truncate(res.Value, s.opts.MaxOutput); cut {
			res.Value, res.Truncated = v, true
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// lastValue is the global that receives the trailing expression's value.
const lastValue = "_gantry_last_"

// run translates, parses and executes code, and returns the trailing
// expression's value. Everything before execution (size and nesting
// checks, translation, parsing, resolution) takes time linear in the size
// of code and stops when ctx ends.
//
// An action that does not end within stuckGrace of being stopped is stuck
// in one operation the interpreter cannot interrupt (hashing or comparing
// a structure that shares itself exponentially often, say): it is
// abandoned to end by itself, the session starts afresh, and lost is set.
func (s *Session) run(ctx context.Context, code string) (value starlark.Value, cerr *tool.CodeError, lost bool) {
	value, cerr = s.runCode(ctx, code, &lost)
	return value, cerr, lost
}

func (s *Session) runCode(ctx context.Context, code string, lost *bool) (starlark.Value, *tool.CodeError) {
	if len(code) > s.opts.MaxCodeSize {
		return nil, codeSizeErr(len(code), s.opts.MaxCodeSize)
	}
	lines := strings.Split(code, "\n")
	stars, err := scanSource(ctx, code)
	if err == nil {
		code, err = translate(ctx, code, stars)
	}
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, sourceErr(se.typ, lines, se.line, 0, se.msg)
		}
		if ctx.Err() != nil {
			return nil, s.stopped(ctx)
		}
		return nil, syntaxErr(lines, 0, 0, err.Error())
	}
	src := code
	f, hasValue, cerr := s.parse(ctx, src, lines)
	if cerr != nil {
		return nil, cerr
	}
	// A name that is not defined is an error only when the code reaches it,
	// as in Python: declare such names as unset globals, so the code runs
	// up to the first use, which then fails with NameError.
	if undef := s.undefinedNames(f); len(undef) > 0 {
		for _, name := range undef {
			s.globals[name] = nil
		}
		defer func() {
			for _, name := range undef {
				if s.globals[name] == nil {
					delete(s.globals, name)
				}
			}
		}()
		if ctx.Err() != nil {
			return nil, s.stopped(ctx)
		}
		if f, hasValue, cerr = s.parse(ctx, src, lines); cerr != nil {
			return nil, cerr
		}
	}
	if ctx.Err() != nil {
		return nil, s.stopped(ctx)
	}

	out := s.out
	thread := &starlark.Thread{
		Name:  fmt.Sprintf("action-%d", s.count),
		Print: func(_ *starlark.Thread, msg string) { out.WriteString(msg + "\n") },
	}
	thread.SetMaxExecutionSteps(s.opts.MaxSteps)
	thread.SetLocal(threadSession, s)
	thread.SetLocal(threadAction, &action{ctx: ctx, out: out})
	thread.SetLocal(threadBudget, newBudget(ctx, s.opts)) // allocation budget (budget.go)

	done := make(chan struct{})
	watchDone := make(chan struct{})
	stuck := make(chan struct{}) // closed when the thread outlives its cancellation by stuckGrace
	finished := make(chan error, 1)
	globals := s.globals
	go s.watch(ctx, thread, done, watchDone, stuck)
	s.goRun(func() {
		defer func() {
			// A Go panic in a builtin would end the whole process: it
			// ends the action instead.
			if r := recover(); r != nil {
				finished <- &panicError{value: r}
			}
		}()
		finished <- starlark.ExecREPLChunk(f, thread, globals)
	})
	select {
	case err = <-finished:
	case <-stuck:
		select {
		case err = <-finished:
		default:
			return nil, s.abandon(ctx, thread, done, finished, lost)
		}
	}
	close(done)
	<-watchDone

	var value starlark.Value
	if hasValue {
		value = globals[lastValue]
		delete(globals, lastValue)
	}
	var pe *panicError
	if errors.As(err, &pe) {
		msg := fmt.Sprintf("internal error in the sandbox: %v", pe.value)
		return nil, &tool.CodeError{Type: "SystemError", Message: msg, Traceback: "SystemError: " + msg}
	}
	if err != nil {
		return nil, s.codeError(err, lines, thread)
	}
	return value, nil
}

// panicError is a Go panic an action's code caused in a builtin.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// parse parses translated source and prepares it for execution: it
// refuses a syntax tree deeper than maxSyntaxDepth before anything
// recurses over it, and adds the recursion-depth check to every function.
func (s *Session) parse(ctx context.Context, src string, lines []string) (*syntax.File, bool, *tool.CodeError) {
	f, err := fileOptions.Parse(actionFile(s.count), src, 0)
	if err != nil {
		var se syntax.Error
		if errors.As(err, &se) {
			if se.Msg == "excessive nesting" {
				// The parser's own depth limit (1000 levels of
				// recursion), reached by nesting the prescan does not
				// count, such as chains of lambdas or conditionals.
				return nil, false, sourceErr("RecursionError", lines, int(se.Pos.Line), 0, msgRecursionCompile)
			}
			return nil, false, syntaxErr(lines, int(se.Pos.Line), int(se.Pos.Col), se.Msg)
		}
		return nil, false, syntaxErr(lines, 0, 0, err.Error())
	}
	if ctx.Err() != nil {
		return nil, false, s.stopped(ctx)
	}
	if deep, err := prepare(ctx, f); err != nil {
		return nil, false, s.stopped(ctx)
	} else if deep != nil {
		start, _ := deep.Span()
		return nil, false, sourceErr("RecursionError", lines, int(start.Line), 0, msgRecursionCompile)
	}
	s.noteScopes(f)
	guardOperators(f)
	return f, captureTrailingExpr(f), nil
}

// maxCallDepth bounds the depth of the call stack of Starlark functions
// and builtins, as Python's recursion limit does (sys.getrecursionlimit()
// is 1000), far below the depth at which the Go stack would overflow.
const maxCallDepth = 1000

// depthCheck names the builtin that every function calls first (prepare
// adds the call), which fails with RecursionError on a call stack deeper
// than maxCallDepth.
const depthCheck = reservedPrefix + "depth_"

// reservedPrefix begins the names of the sandbox's own builtins and
// globals; code may not use such names (NameError), so it cannot rebind a
// guard.
const reservedPrefix = "_gantry_"

func builtinDepthCheck(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	// The builtin's own frame is not counted; the module's is, as in Python.
	if thread.CallStackDepth()-1 >= maxCallDepth {
		return nil, &pyError{typ: "RecursionError", msg: "maximum recursion depth exceeded"}
	}
	return starlark.None, nil
}

// prepare walks f to a depth of at most maxSyntaxDepth and returns the
// first node that lies deeper, if any, so that no later recursion over the
// tree (the operator guard, the resolver, the compiler) can exhaust the
// stack. On the way it makes every def and lambda begin with a call of the
// depthCheck builtin. It stops early with ctx's error when ctx ends.
func prepare(ctx context.Context, f *syntax.File) (deep syntax.Node, err error) {
	depth, nodes := 0, 0
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			depth--
			return true
		}
		if deep != nil || err != nil {
			return false
		}
		if depth >= maxSyntaxDepth {
			deep = n
			return false
		}
		if nodes++; nodes&0xffff == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		depth++
		switch x := n.(type) {
		case *syntax.DefStmt:
			pos := x.Def
			if len(x.Body) > 0 {
				pos, _ = x.Body[0].Span()
			}
			check := &syntax.ExprStmt{X: depthCall(pos)}
			at := 0
			if len(x.Body) > 0 && isDocstring(x.Body[0]) {
				at = 1
			}
			x.Body = append(x.Body[:at:at], append([]syntax.Stmt{check}, x.Body[at:]...)...)
		case *syntax.LambdaExpr:
			pos, _ := x.Body.Span()
			x.Body = &syntax.BinaryExpr{OpPos: pos, Op: syntax.OR, X: depthCall(pos), Y: x.Body}
		}
		return true
	})
	return deep, err
}

func depthCall(pos syntax.Position) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: depthCheck}, Lparen: pos, Rparen: pos}
}

func isDocstring(s syntax.Stmt) bool {
	e, ok := s.(*syntax.ExprStmt)
	if !ok {
		return false
	}
	lit, ok := e.X.(*syntax.Literal)
	return ok && lit.Token == syntax.STRING
}

var undefinedRE = regexp.MustCompile(`^undefined: (\w+)`)

// undefinedNames resolves f against the globals and returns the names it
// uses that are defined nowhere. f must be parsed again before execution.
func (s *Session) undefinedNames(f *syntax.File) []string {
	err := resolve.REPLChunk(f, s.globals.Has, func(string) bool { return false }, starlark.Universe.Has)
	var list resolve.ErrorList
	if !errors.As(err, &list) {
		return nil
	}
	var names []string
	for _, e := range list {
		m := undefinedRE.FindStringSubmatch(e.Msg)
		if m == nil {
			return nil // another resolver error: report it as it is
		}
		names = append(names, m[1])
	}
	return names
}

// abandon gives up an action that was stopped but did not end: its
// goroutine is left to finish the operation it is stuck in (the thread is
// cancelled, so it runs no further code), keeping its own globals, output
// and context; the session starts afresh.
func (s *Session) abandon(ctx context.Context, thread *starlark.Thread, done chan struct{}, finished <-chan error, lost *bool) *tool.CodeError {
	ended := make(chan struct{})
	s.abandoned = ended
	s.stopJobs() // the goroutine stuck in the action ends after it
	go func() {
		<-finished
		close(done)
		close(ended)
	}()
	*lost = true
	if err := s.reset(); err != nil {
		s.closed = true
	}
	typ, msg := "TimeoutError", fmt.Sprintf("the action exceeded its time limit of %s inside one operation that could not be interrupted, and was abandoned", s.opts.Timeout)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		typ, msg = "KeyboardInterrupt", "the action was cancelled inside one operation that could not be interrupted, and was abandoned"
	}
	return &tool.CodeError{Type: typ, Message: msg, Traceback: typ + ": " + msg}
}

// watch cancels the thread when the action's context ends (timeout or
// caller cancellation) or its heap growth passes MaxMemory; if the thread
// has not ended stuckGrace later, it closes stuck.
func (s *Session) watch(ctx context.Context, thread *starlark.Thread, done <-chan struct{}, finished, stuck chan<- struct{}) {
	defer close(finished)
	grace := func() {
		t := time.NewTimer(s.opts.stuckGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			close(stuck)
		}
	}
	base := heapBytes()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				thread.Cancel(reasonTimeout)
			} else {
				thread.Cancel(reasonCancel)
			}
			grace()
			return
		case <-tick.C:
			// Garbage does not count: confirm after a collection.
			if heapBytes()-base > s.opts.MaxMemory && gcHeapBytes()-base > s.opts.MaxMemory {
				thread.Cancel(reasonMemory)
				grace()
				return
			}
		}
	}
}

const (
	reasonTimeout = "gantry: time limit"
	reasonCancel  = "gantry: cancelled"
	reasonMemory  = "gantry: memory limit"
)

// heapBytes reads the bytes of live and unswept heap objects.
func heapBytes() int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}

// threadSession is the thread-local key of the running session.
const threadSession = "gantry.session"

// outputBuffer keeps the head and the tail of printed output, and passes
// the output on to the action's output function, if any, as it comes.
type outputBuffer struct {
	max   int
	head  []byte
	tail  []byte // ring buffer of the last max bytes once head is full
	pos   int
	total int

	sink     tool.OutputFunc
	sinkDone atomic.Bool // the action ended: an abandoned one prints to no one
}

func newOutputBuffer(max int) *outputBuffer { return &outputBuffer{max: max} }

// stream passes the output to fn (nil: to no one) up to tool.MaxStreamed
// bytes.
func (b *outputBuffer) stream(fn tool.OutputFunc) { b.sink = fn }

// endStream stops passing output on.
func (b *outputBuffer) endStream() { b.sinkDone.Store(true) }

func (b *outputBuffer) WriteString(s string) {
	if b.sink != nil && b.total < tool.MaxStreamed && !b.sinkDone.Load() {
		b.sink(s[:min(len(s), tool.MaxStreamed-b.total)])
	}
	b.total += len(s)
	if room := b.max - len(b.head); room > 0 {
		n := min(room, len(s))
		b.head = append(b.head, s[:n]...)
		s = s[n:]
	}
	for len(s) > 0 {
		if len(b.tail) < b.max {
			n := min(b.max-len(b.tail), len(s))
			b.tail = append(b.tail, s[:n]...)
			s = s[n:]
			continue
		}
		if len(s) >= b.max {
			s = s[len(s)-b.max:]
		}
		n := copy(b.tail[b.pos:], s)
		s = s[n:]
		b.pos = (b.pos + n) % b.max
	}
}

// String returns the output cut to max bytes, and whether it was cut.
func (b *outputBuffer) String() (string, bool) {
	tail := string(b.tail[b.pos:]) + string(b.tail[:b.pos])
	if b.total <= b.max {
		return string(b.head) + tail, false
	}
	return tool.TruncateParts(string(b.head), tail, b.total, b.max), true
}
