package sandbox

import (
	"fmt"
	"math"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The time module: time() (seconds since the epoch, a float),
// monotonic() and perf_counter() (seconds since the session started) and
// sleep(secs), which takes Python's arguments and errors and ends early,
// with the action's TimeoutError or KeyboardInterrupt, when the action's
// context does.

func timeModule() *starlarkstruct.Module {
	start := time.Now()
	return &starlarkstruct.Module{Name: "time", Members: starlark.StringDict{
		"time": starlark.NewBuiltin("time.time", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(float64(time.Now().UnixNano()) / 1e9), nil
		}),
		"monotonic": starlark.NewBuiltin("time.monotonic", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(time.Since(start).Seconds()), nil
		}),
		"perf_counter": starlark.NewBuiltin("time.perf_counter", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(time.Since(start).Seconds()), nil
		}),
		"sleep": starlark.NewBuiltin("time.sleep", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var secs starlark.Value
			if err := starlark.UnpackPositionalArgs("sleep", args, kwargs, 1, &secs); err != nil {
				return nil, err
			}
			d, err := sleepDuration(secs)
			if err != nil {
				return nil, err
			}
			ctx := actionOf(thread).ctx
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return starlark.None, nil
			case <-ctx.Done():
				if b := budgetOf(thread); b != nil {
					return nil, b.poll() // TimeoutError or KeyboardInterrupt
				}
				return nil, ctx.Err()
			}
		}),
	}}
}

// sleepDuration converts the argument of time.sleep as Python does: a
// number of seconds, refused when NaN, negative or beyond what a 64-bit
// count of nanoseconds holds (about 292 years), with Python's errors.
func sleepDuration(secs starlark.Value) (time.Duration, error) {
	f, ok := starlark.AsFloat(secs)
	if !ok {
		return 0, &pyError{typ: "TypeError", msg: fmt.Sprintf("'%s' object cannot be interpreted as an integer", pyTypeName(secs))}
	}
	switch ns := f * float64(time.Second); {
	case math.IsNaN(f):
		return 0, valueError("Invalid value NaN (not a number)")
	case f < 0:
		return 0, valueError("sleep length must be non-negative")
	case ns >= math.MaxInt64:
		return 0, &pyError{typ: "OverflowError", msg: "timestamp too large to convert to C _PyTime_t"}
	default:
		return time.Duration(ns), nil
	}
}
