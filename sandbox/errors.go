package sandbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/gantry-dev/gantry/tool"
)

// syntaxErr reports code that could not be parsed, as Python reports a
// SyntaxError: the line, its text and a caret under the column.
func syntaxErr(lines []string, line, col int, msg string) *tool.CodeError {
	if rest, ok := strings.CutPrefix(msg, "got newline, want "); ok {
		// The parser notices a missing token at the next line; Python
		// reports the line that lacks it.
		msg, col = "expected "+rest, 0
		for line > 1 {
			line--
			if line <= len(lines) && strings.TrimSpace(lines[line-1]) != "" {
				break
			}
		}
	}
	if strings.HasPrefix(msg, "got '**'") {
		msg = "the ** operator works here only between names and numbers (x ** 2); write pow(a, b)"
	}
	var b strings.Builder
	src := sourceLine(lines, line)
	if line > 0 {
		fmt.Fprintf(&b, "  File \"%s\", line %d\n", filename, line)
		if src != "" {
			fmt.Fprintf(&b, "    %s\n", src)
			if col > 0 {
				indent := len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " \t"))
				if c := col - 1 - indent; c >= 0 && c <= len(src) {
					fmt.Fprintf(&b, "    %s^\n", strings.Repeat(" ", c))
				}
			}
		}
	}
	fmt.Fprintf(&b, "SyntaxError: %s", msg)
	return &tool.CodeError{Type: "SyntaxError", Message: msg, Line: line, Source: src, Traceback: b.String()}
}

func sourceLine(lines []string, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[line-1])
}

// errorRules map Starlark's runtime messages to Python exception types and
// messages. The first match wins.
var errorRules = []struct {
	re   *regexp.Regexp
	typ  string
	repl string // replacement for the message; "" keeps it
}{
	{regexp.MustCompile(`^global variable (\w+) referenced before assignment$`), "NameError", "name '$1' is not defined"},
	{regexp.MustCompile(`^local variable (\w+) referenced before assignment$`), "UnboundLocalError", "local variable '$1' referenced before assignment"},
	{regexp.MustCompile(`^.*floored division by zero.*$`), "ZeroDivisionError", "integer division or modulo by zero"},
	{regexp.MustCompile(`^.*(division|modulo|remainder) by zero.*$`), "ZeroDivisionError", "division by zero"},
	{regexp.MustCompile(`^.*index -?\d+ out of range.*$`), "IndexError", "list index out of range"},
	{regexp.MustCompile(`index out of range`), "IndexError", ""},
	{regexp.MustCompile(`^key (.*) not in dict$`), "KeyError", "$1"},
	{regexp.MustCompile(`^(.*) has no \.(\w+) field or method`), "AttributeError", "'$1' object has no attribute '$2'"},
	{regexp.MustCompile(`invalid literal|not in list|substring not found|empty sequence|invalid syntax|out of range|negative`), "ValueError", ""},
	{regexp.MustCompile(`not iterable|not callable|unsupported|unhashable|got .*, want|missing (\d+ )?argument|unexpected keyword|takes (exactly|at most|no)|for parameter|not supported|cannot|invalid`), "TypeError", ""},
}

var keyErrorRE = regexp.MustCompile(`^key (".*") not in dict$`)

var cancelledRE = regexp.MustCompile(`^Starlark computation cancelled: (.*)$`)

// codeError turns a Starlark error into a Python-style report.
func (s *Session) codeError(err error, lines []string, thread *starlark.Thread) *tool.CodeError {
	var evalErr *starlark.EvalError
	if !errors.As(err, &evalErr) {
		// Resolver errors: names and scopes, reported before anything ran.
		msg := err.Error()
		line := 0
		if m := regexp.MustCompile(`^<action>:(\d+):(\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
			fmt.Sscan(m[1], &line)
			msg = m[3]
		}
		return syntaxErr(lines, line, 0, msg)
	}
	ce := &tool.CodeError{}
	msg := evalErr.Msg
	var te *toolError
	var pe *pyError
	switch {
	case errors.As(err, &te):
		ce.Cause = te.err
		ce.Type = "RuntimeError"
		var ae *tool.ArgError
		if errors.As(te.err, &ae) {
			ce.Type = "TypeError"
			if strings.Contains(ae.Msg, "must be >=") || strings.Contains(ae.Msg, "must be <=") || strings.Contains(ae.Msg, "must be one of") {
				ce.Type = "ValueError"
			}
		}
		msg = te.err.Error()
	case errors.As(err, &pe):
		ce.Type = pe.typ
		msg = pe.msg
	default:
		ce.Type, msg = s.classify(msg)
	}
	ce.Message = msg

	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for _, fr := range evalErr.CallStack {
		if fr.Pos.Filename() != filename {
			continue
		}
		name := fr.Name
		switch name {
		case "<toplevel>":
			name = "<module>"
		case "lambda":
			name = "<lambda>"
		}
		line := int(fr.Pos.Line)
		fmt.Fprintf(&b, "  File \"%s\", line %d, in %s\n", filename, line, name)
		if src := sourceLine(lines, line); src != "" {
			fmt.Fprintf(&b, "    %s\n", src)
		}
		ce.Line = line
	}
	ce.Source = sourceLine(lines, ce.Line)
	if msg == "" {
		b.WriteString(ce.Type)
	} else {
		fmt.Fprintf(&b, "%s: %s", ce.Type, msg)
	}
	ce.Traceback = b.String()
	return ce
}

// classify maps a Starlark runtime message to a Python exception type and
// message.
func (s *Session) classify(msg string) (string, string) {
	if strings.Contains(msg, "too many steps") {
		return "TimeoutError", fmt.Sprintf("the action exceeded its limit of %d computation steps and was stopped (an endless loop?)", s.opts.MaxSteps)
	}
	if m := cancelledRE.FindStringSubmatch(msg); m != nil {
		switch m[1] {
		case reasonTimeout:
			return "TimeoutError", fmt.Sprintf("the action exceeded its time limit of %s and was stopped", s.opts.Timeout)
		case reasonMemory:
			return "MemoryError", fmt.Sprintf("the action exceeded the sandbox memory limit of %d MiB and was stopped", s.opts.MaxMemory>>20)
		case reasonCancel:
			return "KeyboardInterrupt", "the action was cancelled"
		}
		return "KeyboardInterrupt", m[1]
	}
	if strings.HasPrefix(msg, "fail: ") {
		return "Exception", strings.TrimPrefix(msg, "fail: ")
	}
	// Starlark prefixes messages with the builtin's name ("int: ...").
	if strings.HasSuffix(msg, context.DeadlineExceeded.Error()) {
		return "TimeoutError", fmt.Sprintf("the action exceeded its time limit of %s and was stopped", s.opts.Timeout)
	}
	if m := keyErrorRE.FindStringSubmatch(msg); m != nil {
		if k, err := strconv.Unquote(m[1]); err == nil {
			return "KeyError", tool.PyQuote(k)
		}
		return "KeyError", m[1]
	}
	for _, r := range errorRules {
		if r.re.MatchString(msg) {
			if r.repl != "" {
				return r.typ, r.re.ReplaceAllString(msg, r.repl)
			}
			return r.typ, msg
		}
	}
	return "Error", msg
}
