package sandbox

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/ipytb"
	"github.com/gantry-dev/gantry/tool"
)

// The error display of Options.Errors.
const (
	// ErrorsPython shows CPython's plain traceback (the default).
	ErrorsPython = ipytb.Python
	// ErrorsIPython shows IPython 8's display, "Cell In[N], line L" with
	// the lines around, N counting the session's actions from 1 (as
	// MINT's Jupyter executor counted cells).
	ErrorsIPython = ipytb.IPython
)

// actionFile is the file name the parser gives action n's code, so that a
// frame in a function defined by an earlier action names its action.
// Tracebacks show it as filename ("<action>").
func actionFile(n int) string { return "<action " + strconv.Itoa(n) + ">" }

// actionOfFile returns the action number of a file name actionFile made.
func actionOfFile(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "<action ")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ">"))
	return n, err == nil
}

// noteCell records the source of the action about to run, for tracebacks
// through the functions it defines.
func (s *Session) noteCell(code string) {
	if s.hist == nil {
		s.hist = ipytb.NewHistory(0)
	}
	s.hist.Add(s.count, code)
}

// cellLines returns the lines of action n's code: lines for the running
// one, the history's for an earlier one (nil if forgotten).
func (s *Session) cellLines(n int, lines []string) []string {
	if n == s.count || s.hist == nil {
		return lines
	}
	src, ok := s.hist.Source(n)
	if !ok {
		return nil
	}
	return strings.Split(src, "\n")
}

// ipythonError rewrites an error's report as IPython shows it, if the
// session's display is IPython's: the runtime error's frames laid out by
// ipytb, a syntax error with its cell.
func (s *Session) ipythonError(ce *tool.CodeError, frames []frame) {
	if ce == nil || s.opts.Errors != ErrorsIPython {
		return
	}
	if frames == nil {
		ce.Traceback = ipytb.Syntax(s.count, ce.Traceback)
		return
	}
	fs := make([]ipytb.Frame, len(frames))
	for i, f := range frames {
		fs[i] = ipytb.Frame{Cell: f.cell, Line: f.line, Func: f.name, Args: f.args}
	}
	ce.Traceback = ipytb.Traceback(ce.Type, ce.Message, fs, s.hist)
}

// String is for debugging.
func (f frame) String() string { return fmt.Sprintf("%s:%d:%s", actionFile(f.cell), f.line, f.name) }
