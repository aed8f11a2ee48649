package tool

import (
	"strings"
	"time"
)

// Result is what one code action produced in a runtime. An error in the
// code (an exception, a limit hit) is reported in Err; it is not a Go error.
type Result struct {
	// Stdout is everything the code printed, already truncated to the
	// runtime's output budget.
	Stdout string `json:"stdout"`
	// Value is the repr of the action's trailing expression, when it has one
	// whose value is not None (as a notebook shows it).
	Value string `json:"value,omitempty"`
	// Err describes the error that ended the action, if any.
	Err *CodeError `json:"error,omitempty"`
	// Truncated reports that output was cut to fit the budget.
	Truncated bool `json:"truncated,omitempty"`
	// Restarted reports that the runtime lost the session's state (for
	// example a Python worker that had to be killed and started again).
	Restarted bool `json:"restarted,omitempty"`
	// Duration is the wall time of the action.
	Duration time.Duration `json:"duration_ns"`
}

// CodeError is an error raised by model-written code, or a limit that
// stopped it, described so that a model can fix the code.
type CodeError struct {
	// Type is the exception type, as Python names it ("NameError",
	// "ZeroDivisionError", "TimeoutError", "SyntaxError").
	Type string `json:"type"`
	// Message is the exception's message.
	Message string `json:"message"`
	// Line is the 1-based line in the action's code, 0 if unknown.
	Line int `json:"line,omitempty"`
	// Source is the text of that line.
	Source string `json:"source,omitempty"`
	// Traceback is the full Python-style report, ending with
	// "Type: Message".
	Traceback string `json:"traceback"`
	// Cause is the Go error behind the exception when a tool failed, so that
	// errors.Is and errors.As work on the Go side. It is not serialised.
	Cause error `json:"-"`
}

func (e *CodeError) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// Unwrap returns the Go error behind the exception, if any.
func (e *CodeError) Unwrap() error { return e.Cause }

// Report returns the traceback, or a one-line form if there is none.
func (e *CodeError) Report() string {
	if e.Traceback != "" {
		return e.Traceback
	}
	return e.Error()
}

// NoOutput is the observation of an action that printed nothing, returned
// nothing and raised nothing (the exact text MINT and CodeAct use).
const NoOutput = "[Executed Successfully with No Output]"

// Observation renders the result as the text a model reads next: stdout,
// then the trailing value, then the error report.
func (r Result) Observation() string {
	var parts []string
	if r.Restarted {
		parts = append(parts, "[The session was restarted: variables, functions and imports from earlier actions are lost.]")
	}
	if s := strings.TrimRight(r.Stdout, "\n"); s != "" {
		parts = append(parts, s)
	}
	if r.Value != "" {
		parts = append(parts, r.Value)
	}
	if r.Err != nil {
		parts = append(parts, strings.TrimRight(r.Err.Report(), "\n"))
	}
	if len(parts) == 0 {
		return NoOutput
	}
	return strings.Join(parts, "\n")
}

// Truncate keeps at most max bytes of s: the head and the tail, with a
// marker in place of the middle saying how much was cut. It cuts at rune
// boundaries and reports whether it cut anything. max <= 0 means no limit.
func Truncate(s string, max int) (string, bool) {
	if max <= 0 || len(s) <= max {
		return s, false
	}
	return TruncateParts(s, s, len(s), max), true
}
