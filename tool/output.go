package tool

import "context"

type outputKey struct{}

// MaxStreamed bounds the printed output of one action that runtimes pass to
// an output function (see WithOutput): a program that prints without end
// cannot flood the listener. The action's Result keeps its own, smaller,
// head-and-tail cut of the output either way.
const MaxStreamed = 1 << 20

// OutputFunc receives an action's printed output as the code prints it, in
// order, in chunks of any size. Runtimes call it from the goroutine running
// the action (never concurrently for one action); it must not block for
// long: the action waits for it.
type OutputFunc func(chunk string)

// WithOutput returns ctx asking the runtime that runs an action under it to
// pass the action's printed output to fn as it is printed (up to
// MaxStreamed bytes), besides collecting it in the Result.
func WithOutput(ctx context.Context, fn OutputFunc) context.Context {
	return context.WithValue(ctx, outputKey{}, fn)
}

// OutputOf returns the output function of ctx, nil when none was set.
func OutputOf(ctx context.Context) OutputFunc {
	fn, _ := ctx.Value(outputKey{}).(OutputFunc)
	return fn
}
