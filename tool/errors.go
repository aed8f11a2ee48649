package tool

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Kind classifies why a tool call failed. Every runtime reports a failed
// call as the Python exception its kind names (see Kind.Exception), so the
// same failure reads the same from Starlark, from Python and in a JSON or
// text action:
//
//	kind        exception         for
//	Failed      RuntimeError      the tool's own failure, not classified
//	ArgType     TypeError         an argument of the wrong type, a missing or unknown argument
//	ArgValue    ValueError        an argument of the right type but a value the tool refuses
//	NotFound    NameError         no tool (or device action) of that name
//	Offline     ConnectionError   the device is not reachable; nothing was sent
//	Refused     PermissionError   refused by a policy (the guard, an emergency stop)
//	Timeout     TimeoutError      no answer in time
//	Cancelled   InterruptedError  the call was cancelled while it ran
//	Internal    RuntimeError      gantry or a device broke (a protocol error, a result that cannot travel)
//
// A Kind is also an error, so that errors.Is(err, tool.Offline) asks for a
// kind: every error of this package, and any error with a method
// ToolKind() Kind, matches its kind. KindOf finds the kind of any error.
type Kind uint8

// The kinds of tool failure.
const (
	Failed Kind = iota
	ArgType
	ArgValue
	NotFound
	Offline
	Refused
	Timeout
	Cancelled
	Internal
)

// kinds lists, per kind, its name (Kind.String, stable: it travels between
// processes), the Python exception it raises, and what it means.
var kinds = [...]struct{ name, exception, what string }{
	Failed:    {"failed", "RuntimeError", "the tool failed"},
	ArgType:   {"arg_type", "TypeError", "an argument of the wrong type"},
	ArgValue:  {"arg_value", "ValueError", "an argument value the tool refuses"},
	NotFound:  {"not_found", "NameError", "no such tool"},
	Offline:   {"offline", "ConnectionError", "the device is offline"},
	Refused:   {"refused", "PermissionError", "refused by policy"},
	Timeout:   {"timeout", "TimeoutError", "no answer in time"},
	Cancelled: {"cancelled", "InterruptedError", "the call was cancelled"},
	Internal:  {"internal", "RuntimeError", "internal error"},
}

// String returns the kind's stable name ("arg_value", "offline", ...).
func (k Kind) String() string {
	if int(k) < len(kinds) {
		return kinds[k].name
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Exception returns the name of the Python exception a failure of kind k
// raises in model-written code. It is the one mapping of kinds to
// exception names: the Starlark sandbox, its isolated worker, the Python
// bridge and the agent's JSON and text actions all use it.
func (k Kind) Exception() string {
	if int(k) < len(kinds) {
		return kinds[k].exception
	}
	return "RuntimeError"
}

// Error returns the kind's name, so that a Kind can be the target of
// errors.Is (and prints as String does).
func (k Kind) Error() string { return k.String() }

// Doc says what the kind means.
func (k Kind) Doc() string {
	if int(k) < len(kinds) {
		return kinds[k].what
	}
	return k.String()
}

// ParseKind returns the kind named name (as Kind.String writes it).
func ParseKind(name string) (Kind, bool) {
	for k, d := range kinds {
		if d.name == name {
			return Kind(k), true
		}
	}
	return Failed, false
}

// Kinds returns every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i := range kinds {
		out[i] = Kind(i)
	}
	return out
}

// kinded is an error that knows its kind.
type kinded interface {
	error
	ToolKind() Kind
}

// KindOf returns the kind of a tool call's error: the kind of the first
// error in its chain that has one (an *Error, *ArgError, *NotFoundError, or
// any error with a method ToolKind() Kind); else Timeout for a deadline
// (context.DeadlineExceeded, os.ErrDeadlineExceeded), Cancelled for
// context.Canceled, and Failed for anything else. KindOf(nil) is Failed.
func KindOf(err error) Kind {
	var k kinded
	switch {
	case errors.As(err, &k):
		return k.ToolKind()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Cancelled
	}
	return Failed
}

// Exception returns the name of the Python exception a tool call's error
// raises in code: KindOf(err).Exception().
func Exception(err error) string { return KindOf(err).Exception() }

// Error is a tool failure of a known kind. Its message is the cause's:
// the kind changes the exception's name, never its text.
type Error struct {
	Kind Kind
	Err  error
}

// NewError returns err with kind k; nil for a nil err.
func NewError(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Errorf returns an error of kind k with a message formatted as
// fmt.Errorf does (%w wraps).
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ToolKind returns e.Kind.
func (e *Error) ToolKind() Kind { return e.Kind }

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return isKind(target, e.Kind) }

// ToolKind is ArgValue for a value the parameter refuses, else ArgType.
func (e *ArgError) ToolKind() Kind {
	if e.Value {
		return ArgValue
	}
	return ArgType
}

// Is reports whether target is e's kind.
func (e *ArgError) Is(target error) bool { return isKind(target, e.ToolKind()) }

// ToolKind is NotFound.
func (e *NotFoundError) ToolKind() Kind { return NotFound }

// Is reports whether target is NotFound.
func (e *NotFoundError) Is(target error) bool { return isKind(target, NotFound) }

func isKind(target error, k Kind) bool {
	t, ok := target.(Kind)
	return ok && t == k
}
