package devices

import (
	"context"
	"errors"
)

// Reasons of a RefusalError: why the guard refused a call.
const (
	ReasonEStop      = "estop"       // the emergency stop is engaged
	ReasonNotAllowed = "not_allowed" // the allow-list does not have the action, or the deny-list has it
	ReasonBounds     = "bounds"      // an argument outside the policy's bounds
	ReasonRate       = "rate"        // over the device's rate limit
	ReasonPolicy     = "policy"      // the policy does not fit the device (it is not exposed)
	ReasonAudit      = "audit"       // the audit log cannot be written
)

// RefusalError is a refusal by a guard; it wraps ErrRefused and reads as
// the refusal's message. Match it with errors.As to learn the Reason, and
// whether the refusing guard was the caller's own (WithGuard) rather than
// the hub's.
type RefusalError struct {
	Reason string
	Caller bool
	Err    error
}

func (e *RefusalError) Error() string { return e.Err.Error() }

// Unwrap returns the refusal's error, which wraps ErrRefused.
func (e *RefusalError) Unwrap() error { return e.Err }

func refusal(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &RefusalError{Reason: reason, Err: err}
}

// callerRefusal marks a refusal (or any error) of a caller's guard.
func callerRefusal(err error) error {
	reason := ReasonPolicy
	var r *RefusalError
	if errors.As(err, &r) {
		reason = r.Reason
	}
	return &RefusalError{Reason: reason, Caller: true, Err: err}
}

type guardKey struct{}

// WithGuard returns a context whose calls through a Hub must pass g too,
// after the hub's own guard: the policy of one caller (a server's client,
// say) on top of the gateway's. g's allow-list, bounds, rate limits and dry
// run apply; its refusals are audited like the hub's. Stops and resets
// made by a person (Hub.EStop, Hub.Reset) do not consult it.
func WithGuard(ctx context.Context, g *Guard) context.Context {
	return context.WithValue(ctx, guardKey{}, g)
}

// callerGuard is the guard WithGuard put in ctx, or nil.
func callerGuard(ctx context.Context) *Guard {
	g, _ := ctx.Value(guardKey{}).(*Guard)
	return g
}
