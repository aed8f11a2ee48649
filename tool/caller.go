package tool

import "context"

type callerKey struct{}

// Caller says who is calling a tool: the session (an episode, a CLI
// invocation) and the code action that made the call. Runtimes record the
// code; whoever starts a session records its id.
type Caller struct {
	Session string
	Code    string
}

// WithSession returns ctx carrying the session id of tool calls made under it.
func WithSession(ctx context.Context, session string) context.Context {
	c := CallerOf(ctx)
	c.Session = session
	return context.WithValue(ctx, callerKey{}, c)
}

// WithCode returns ctx carrying the code action whose tool calls run under it.
func WithCode(ctx context.Context, code string) context.Context {
	c := CallerOf(ctx)
	c.Code = code
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerOf returns the caller recorded in ctx (zero fields when none).
func CallerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}
