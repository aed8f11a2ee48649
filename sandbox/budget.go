package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"time"

	"go.starlark.net/starlark"
)

// Allocation accounting.
//
// Starlark evaluates `''.join(parts)` or `[0] * n` in one step: neither the
// step limit nor cancellation can stop an operation that builds a GiB
// before it returns. Every operation that allocates in proportion to its
// inputs therefore charges the size of its result to the action's budget
// before it allocates: the operators (guard.go rewrites them into guarded
// builtins), the string, list, dict and set methods that build new values,
// the constructors and iterating builtins, str/repr/print/format, json and
// re.
//
// The budget refuses an operation whose result alone exceeds the action's
// memory limit (Options.MaxMemory). Charges are also added up: each time
// they pass a slice of the limit, or would take the live heap past the
// limit, the budget reads the heap's growth since the action started; near
// the limit it collects garbage first, so garbage does not count but live
// data does. The heap watchdog of Session.watch stays as a backstop for
// growth by paths that are not charged.
//
// Operations that iterate (sorting, min/max/sum/any/all, join over a big
// iterable) poll the action's context every few thousand items, so the
// action's deadline holds inside a single builtin call too.

// maxIntBits bounds the size of an integer result: 2^20 bits (128 KiB,
// about 315,653 decimal digits). Multiplying two such integers takes a few
// milliseconds; without a bound, `x = x * x` in a loop or
// pow(pow(10, 1000), 10000) runs for minutes in one uninterruptible step.
const maxIntBits = 1 << 20

// maxIntDigits bounds the length of a decimal string int() converts:
// the digits of a maxIntBits integer.
const maxIntDigits = 315_653

// pollEvery is the number of items an iterating builtin handles between
// two readings of the heap (the context is checked every 64).
const pollEvery = 4096

// Estimated bytes per element of the values builtins build: a list slot
// (an interface), a dict or set entry (hash table entry and its share of
// the table), a tuple of two (the slice and its header boxed).
const (
	slotBytes  = 16
	entryBytes = 64
	pairBytes  = 64
)

// threadBudget is the thread-local key of the action's budget.
const threadBudget = "gantry.budget"

// budget is the allocation budget of one action.
type budget struct {
	limit   int64 // bytes the action may hold (Options.MaxMemory)
	slice   int64 // charges between two heap readings
	base    int64 // heap bytes when the action started
	live    int64 // heap growth at the last reading
	charged int64 // bytes charged since the last reading
	ticks   int   // items iterated since the last poll
	ctx     context.Context
	timeout time.Duration // the action's time limit, for the error text
	read    bool          // base has been read
}

// newBudget returns the budget of an action running under ctx.
func newBudget(ctx context.Context, opts Options) *budget {
	return &budget{
		limit:   opts.MaxMemory,
		slice:   max(opts.MaxMemory/16, 64<<10),
		ctx:     ctx,
		timeout: opts.Timeout,
	}
}

// growth returns the heap's growth since the action started, collecting
// garbage first if gc is set. The heap is first read when an action has
// charged a slice: its base then is the heap less what was charged.
func (b *budget) growth(gc bool) int64 {
	var h int64
	if gc {
		h = gcHeapBytes()
	} else {
		h = heapBytes()
	}
	if !b.read {
		b.read = true
		b.base = h - b.charged
	}
	return h - b.base
}

// budgetOf returns the budget of the action running on thread, or nil on a
// thread that runs no action (a budget is created on first use if the
// action did not install one).
func budgetOf(thread *starlark.Thread) *budget {
	if thread == nil {
		return nil
	}
	if b, ok := thread.Local(threadBudget).(*budget); ok {
		return b
	}
	s := sessionOf(thread)
	if s == nil {
		return nil
	}
	ctx := context.Background()
	if a := actionOf(thread); a != nil && a.ctx != nil {
		ctx = a.ctx
	}
	b := newBudget(ctx, s.opts)
	thread.SetLocal(threadBudget, b)
	return b
}

// charge accounts n bytes that the operation what is about to allocate on
// thread. It fails with a MemoryError when the allocation would take the
// action past its memory limit.
func charge(thread *starlark.Thread, n int64, what string) error {
	b := budgetOf(thread)
	if b == nil || n <= 0 {
		return nil
	}
	return b.charge(n, what)
}

func (b *budget) charge(n int64, what string) error {
	if n > b.limit {
		return b.refuse(n, 0, what)
	}
	if b.charged+n < b.slice && b.live+b.charged+n <= b.limit {
		b.charged += n
		return nil
	}
	return b.check(n, what)
}

// check reads the heap's growth and refuses n more bytes if they would take
// it within a slice of the limit, once garbage is collected: until the next
// reading, up to a slice more may be charged.
func (b *budget) check(n int64, what string) error {
	if err := b.poll(); err != nil {
		return err
	}
	growth := b.growth(false)
	if growth+n+b.slice > b.limit {
		growth = b.growth(true)
		if growth+n+b.slice > b.limit {
			return b.refuse(n, growth, what)
		}
	}
	b.live = max(growth, 0)
	b.charged = n // about to be allocated: not in the heap yet
	return nil
}

func (b *budget) refuse(n, inUse int64, what string) error {
	if inUse > 0 {
		return memoryError(fmt.Sprintf("%s would allocate %s with %s already in use: over the sandbox memory limit of %s", what, byteSize(n), byteSize(inUse), byteSize(b.limit)))
	}
	return memoryError(fmt.Sprintf("%s would allocate %s: over the sandbox memory limit of %s", what, byteSize(n), byteSize(b.limit)))
}

// remaining returns the bytes the action may still allocate, reading the
// heap.
func (b *budget) remaining() int64 {
	growth := b.growth(false)
	if growth > b.limit/2 {
		growth = b.growth(true)
	}
	return max(b.limit-max(growth, 0), 0)
}

// poll fails when the action's context has ended (time limit or caller
// cancellation) or its heap growth passed the limit.
func (b *budget) poll() error {
	if err := b.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &pyError{typ: "TimeoutError", msg: fmt.Sprintf("the action exceeded its time limit of %s and was stopped", b.timeout)}
		}
		return &pyError{typ: "KeyboardInterrupt", msg: "the action was cancelled"}
	}
	if b.growth(false) > b.limit && b.growth(true) > b.limit {
		return memoryError(fmt.Sprintf("the action exceeded the sandbox memory limit of %s and was stopped", byteSize(b.limit)))
	}
	return nil
}

// tick counts one item of an iteration: every 64 items it checks the
// action's context (a channel receive), every pollEvery items the heap too.
func (b *budget) tick() error {
	if b == nil {
		return nil
	}
	b.ticks++
	if b.ticks&63 != 0 {
		return nil
	}
	if b.ticks < pollEvery {
		select {
		case <-b.ctx.Done():
			return b.poll()
		default:
			return nil
		}
	}
	b.ticks = 0
	return b.poll()
}

// gcHeapBytes collects garbage and returns the live heap's bytes.
func gcHeapBytes() int64 {
	runtime.GC()
	return heapBytes()
}

// mulSize returns a*b, saturating at MaxInt64, for sizes (a, b >= 0).
func mulSize(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// addSize returns a+b, saturating at MaxInt64, for sizes (a, b >= 0).
func addSize(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// intBits returns the bit length of |x|.
func intBits(x starlark.Int) int64 {
	if v, ok := x.Int64(); ok {
		if v < 0 {
			if v == math.MinInt64 {
				return 64
			}
			v = -v
		}
		return int64(bits.Len64(uint64(v)))
	}
	return int64(x.BigInt().BitLen())
}

// checkIntBits refuses an integer result of n bits above maxIntBits.
func checkIntBits(n int64, what string) error {
	if n > maxIntBits {
		return &pyError{typ: "OverflowError", msg: fmt.Sprintf("%s: the result would have more than %d bits, over the sandbox integer limit of %d bits (%d decimal digits)", what, min(n, math.MaxInt64), maxIntBits, maxIntDigits)}
	}
	return nil
}

// seqLen returns the length of v if it is known without iterating, or -1.
func seqLen(v starlark.Value) int64 {
	if s, ok := v.(starlark.Sequence); ok {
		return int64(s.Len())
	}
	if _, ok := v.(starlark.Iterable); ok {
		return int64(starlark.Len(v))
	}
	return -1
}
