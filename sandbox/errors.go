package sandbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/gantry-dev/gantry/tool"
)

// syntaxErr reports code that could not be parsed, as Python reports a
// SyntaxError: the line, its text and a caret under the column.
func syntaxErr(lines []string, line, col int, msg string) *tool.CodeError {
	return sourceErr("SyntaxError", lines, line, col, msg)
}

// sourceErr reports an error found in the code before it ran, of Python
// type typ ("" is SyntaxError), with the line, its text and a caret under
// the column.
func sourceErr(typ string, lines []string, line, col int, msg string) *tool.CodeError {
	if typ == "" {
		typ = "SyntaxError"
	}
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
			caret := -1
			if col > 0 {
				indent := len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " \t"))
				if c := col - 1 - indent; c >= 0 && c <= len(src) {
					caret = c
				}
			}
			shown, caret := clipLine(src, caret)
			fmt.Fprintf(&b, "    %s\n", shown)
			if caret >= 0 {
				fmt.Fprintf(&b, "    %s^\n", strings.Repeat(" ", caret))
			}
		}
	}
	msg = clipMessage(msg)
	fmt.Fprintf(&b, "%s: %s", typ, msg)
	src, _ = clipLine(src, -1)
	return &tool.CodeError{Type: typ, Message: msg, Line: line, Source: src, Traceback: b.String()}
}

// DefaultMaxCodeSize is the default of Options.MaxCodeSize: 1 MiB.
const DefaultMaxCodeSize = tool.DefaultMaxCodeSize

// codeSizeErr refuses code larger than the limit.
func codeSizeErr(size, limit int) *tool.CodeError {
	return tool.CodeSizeError(int64(size), limit)
}

// byteSize renders n bytes for an error message.
func byteSize(n int64) string { return tool.ByteSize(n) }

// stopped reports an action whose context ended before its code ran:
// while it was checked, translated or parsed.
func (s *Session) stopped(ctx context.Context) *tool.CodeError {
	typ, msg := "KeyboardInterrupt", "the action was cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		typ, msg = "TimeoutError", fmt.Sprintf("the action exceeded its time limit of %s and was stopped (before its code ran)", s.opts.Timeout)
	}
	return &tool.CodeError{Type: typ, Message: msg, Traceback: typ + ": " + msg}
}

// Bounds of what a traceback shows, so that an observation stays small
// whatever the code did: the longest source line and message shown, and
// the entries (frames or repetition notes) kept from each end of a long
// traceback.
const (
	maxShownLine    = 160
	maxShownMessage = 2048
	maxShownEntries = 8
	// repeatCutoff is Python's: a line repeated more often is shown this
	// many times, then "[Previous line repeated N more times]".
	repeatCutoff = 3
)

// clipLine cuts a source line longer than maxShownLine to a window around
// the caret position (-1 for none), marking the cuts with "...", and
// returns the caret's position in the window.
func clipLine(src string, caret int) (string, int) {
	if len(src) <= maxShownLine {
		return src, caret
	}
	start := 0
	if caret > maxShownLine/2 {
		start = min(caret-maxShownLine/2, len(src)-maxShownLine)
	}
	for start > 0 && !utf8.RuneStart(src[start]) {
		start--
	}
	end := min(start+maxShownLine, len(src))
	for end < len(src) && !utf8.RuneStart(src[end]) {
		end--
	}
	shown := src[start:end]
	if start > 0 {
		shown = "..." + shown
		if caret >= 0 {
			caret += 3
		}
	}
	if end < len(src) {
		shown += "..."
	}
	if caret >= 0 {
		caret -= start
	}
	return shown, caret
}

// clipMessage keeps the head and tail of a long exception message.
func clipMessage(msg string) string {
	msg, _ = tool.Truncate(msg, maxShownMessage)
	return msg
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
	{regexp.MustCompile(`comparison exceeded maximum recursion depth`), "RecursionError", "maximum recursion depth exceeded in comparison"},
	{regexp.MustCompile(`function \S+ called recursively`), "RecursionError", ""},
	{regexp.MustCompile(`^(.*: )?(repeat count .* too large|excessive repeat .*)$`), "MemoryError", ""},
	{regexp.MustCompile(`shift count too large|floating-point number too large|int too large to convert to float|cannot convert float infinity to integer`), "OverflowError", ""},
	{regexp.MustCompile(`cannot convert float NaN to integer|invalid float literal|float: empty string|base must be an integer|^(.*: )?empty separator$|zero is not a valid slice step|step argument must not be zero|sequence element #\d+ has length|^(.*: )?element not found$|^duplicate key: |^(.*: )?at index \d+, `), "ValueError", ""},
	{regexp.MustCompile(`incomplete format|unknown conversion|single '}' in format|unmatched '{' in format`), "ValueError", ""},
	{regexp.MustCompile(`^(.*: )?empty (dict|set)$|^key not found: |keyword \S+ not found`), "KeyError", ""},
	{regexp.MustCompile(`during iteration`), "RuntimeError", ""},
	{regexp.MustCompile(`^can't assign to \.`), "AttributeError", ""},
	{regexp.MustCompile(`^unimplemented: `), "NotImplementedError", ""},
	{regexp.MustCompile(`^load`), "ImportError", ""},
	{regexp.MustCompile(`format requires|arguments for format string|^.* [<>=!]=? .* not implemented$|requires at least one positional argument|does not support item assignment|got multiple values|as left operand|^argument after \*|^duplicate keyword arg|^function \S+ accepts|in sequence assignment|want \S+, got|keywords must be strings|has no len|^(.*: )?ord: |string encodes \d+ Unicode code points|^unknown (binary|unary) op`), "TypeError", ""},
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

var resolveErrRE = regexp.MustCompile(`^<action[ 0-9]*>:(\d+):(\d+): (.*)$`)

var cancelledRE = regexp.MustCompile(`^Starlark computation cancelled: (.*)$`)

// codeError turns a Starlark error into a Python-style report.
func (s *Session) codeError(err error, lines []string, thread *starlark.Thread) *tool.CodeError {
	var evalErr *starlark.EvalError
	if !errors.As(err, &evalErr) {
		// Resolver errors: names and scopes, reported before anything ran.
		msg := err.Error()
		line := 0
		if m := resolveErrRE.FindStringSubmatch(msg); m != nil {
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
	case s.ctx != nil && s.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// A builtin or tool that gave up because the action's context
		// ended reports it as the interpreter's cancellation does.
		if errors.As(err, &te) {
			ce.Cause = te.err
		}
		ce.Type, msg = "KeyboardInterrupt", "the action was cancelled"
		if errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
			ce.Type, msg = "TimeoutError", fmt.Sprintf("the action exceeded its time limit of %s and was stopped", s.opts.Timeout)
		}
	case errors.As(err, &te):
		// A tool's failure: the exception its kind names (tool.Kind).
		ce.Cause = te.err
		ce.Type = tool.Exception(te.err)
		msg = te.err.Error()
	case errors.As(err, &pe):
		ce.Type = pe.typ
		msg = pe.msg
	default:
		ce.Type, msg = s.classify(msg)
	}
	msg = clipMessage(msg)
	ce.Message = msg

	frames := []frame{}
	for _, fr := range evalErr.CallStack {
		cell, ok := actionOfFile(fr.Pos.Filename())
		if !ok {
			continue
		}
		name := fr.Name
		switch name {
		case "<toplevel>":
			name = "<module>"
		case "lambda":
			name = "<lambda>"
		}
		frames = append(frames, s.comprehensionFrames(frame{cell: cell, line: int(fr.Pos.Line), name: name}, fr.Pos)...)
	}
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	writeFrames(&b, frames, func(cell int) []string { return s.cellLines(cell, lines) })
	if len(frames) > 0 {
		ce.Line = frames[len(frames)-1].line
	}
	ce.Source = shownLine(lines, ce.Line)
	if msg == "" {
		b.WriteString(ce.Type)
	} else {
		fmt.Fprintf(&b, "%s: %s", ce.Type, msg)
	}
	ce.Traceback = b.String()
	s.ipythonError(ce, frames)
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
	if msg == "Starlark stack overflow" {
		// The interpreter's own bound, should a call chain escape the
		// depth check.
		return "RecursionError", "maximum recursion depth exceeded"
	}
	if strings.HasPrefix(msg, "fail: ") {
		return "Exception", strings.TrimPrefix(msg, "fail: ")
	}
	// Starlark prefixes messages with the builtin's name ("int: ...").
	if strings.HasSuffix(msg, context.DeadlineExceeded.Error()) {
		return "TimeoutError", fmt.Sprintf("the action exceeded its time limit of %s and was stopped", s.opts.Timeout)
	}
	if strings.HasSuffix(msg, context.Canceled.Error()) {
		return "KeyboardInterrupt", "the action was cancelled"
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
	// A message no rule knows: still a Python exception type.
	return "RuntimeError", msg
}

func sourceLine(lines []string, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[line-1])
}

// shownLine is sourceLine cut to maxShownLine.
func shownLine(lines []string, line int) string {
	s, _ := clipLine(sourceLine(lines, line), -1)
	return s
}

// frame is one entry of a traceback.
type frame struct {
	cell int // the action the code came from
	line int
	name string
	args string // the parameters IPython shows, when not read from the source ("(.0)" for a comprehension)
}

// writeFrames writes the frames of a traceback as Python does, a line
// repeated more than repeatCutoff times in a row shown as
// "[Previous line repeated N more times]", and keeps only the first and
// last maxShownEntries entries of what remains, so that deep recursion
// gives a traceback of a few KiB.
func writeFrames(b *strings.Builder, frames []frame, linesOf func(cell int) []string) {
	type entry struct {
		fr     frame
		repeat int // > 0: a note that the previous line repeated this many more times
	}
	var entries []entry
	for i := 0; i < len(frames); {
		j := i + 1
		for j < len(frames) && frames[j] == frames[i] {
			j++
		}
		for k := 0; k < min(j-i, repeatCutoff); k++ {
			entries = append(entries, entry{fr: frames[i]})
		}
		if n := j - i - repeatCutoff; n > 0 {
			entries = append(entries, entry{repeat: n})
		}
		i = j
	}
	write := func(e entry) {
		if e.repeat > 0 {
			s := "s"
			if e.repeat == 1 {
				s = ""
			}
			fmt.Fprintf(b, "  [Previous line repeated %d more time%s]\n", e.repeat, s)
			return
		}
		fmt.Fprintf(b, "  File \"%s\", line %d, in %s\n", filename, e.fr.line, e.fr.name)
		if src := shownLine(linesOf(e.fr.cell), e.fr.line); src != "" {
			fmt.Fprintf(b, "    %s\n", src)
		}
	}
	if len(entries) <= 2*maxShownEntries+1 {
		for _, e := range entries {
			write(e)
		}
		return
	}
	for _, e := range entries[:maxShownEntries] {
		write(e)
	}
	fmt.Fprintf(b, "  [... %d more entries of the traceback not shown ...]\n", len(entries)-2*maxShownEntries)
	for _, e := range entries[len(entries)-maxShownEntries:] {
		write(e)
	}
}
