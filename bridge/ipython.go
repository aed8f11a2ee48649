package bridge

import (
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

// workerError is an error report of the worker: the exception, and the
// frames in cells it passed through (runtime errors only).
type workerError struct {
	tool.CodeError
	Frames []ipytb.Frame `json:"frames,omitempty"`
	Syntax *syntaxSpot   `json:"syntax,omitempty"`
}

// syntaxSpot is where a syntax error in a cell was found: the line, its
// text and the 1-based column (CPython's SyntaxError attributes).
type syntaxSpot struct {
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Offset int    `json:"offset"`
}

// cellState are a session's cell count and recent cells' code, for the
// IPython display.
type cellState struct {
	n    int
	hist *ipytb.History
}

// next counts an action as the next cell and keeps its code.
func (c *cellState) next(code string) int {
	c.n++
	if c.hist == nil {
		c.hist = ipytb.NewHistory(0)
	}
	c.hist.Add(c.n, code)
	return c.n
}

// show rewrites the report of an error the action's code raised as
// IPython shows it, when the session's display is IPython's. Errors
// gantry reports about the worker itself (a timeout, a lost worker) have
// neither frames nor a cell line and keep their one-line form.
//
// IPython indents a syntax error's first line by two spaces, which MINT's
// strip of the whole output removed unless something was printed before
// it (a statement that ran before one that did not compile): printed
// tells.
func (c *cellState) show(style ipytb.Style, cell int, we *workerError, printed bool) {
	if we == nil || style != ErrorsIPython || strings.HasPrefix(we.Traceback, "---") {
		return
	}
	switch {
	case we.Syntax != nil:
		we.Traceback = ipytb.SyntaxError(cell, we.Syntax.Line, we.Syntax.Text, we.Syntax.Offset, we.Type, we.Message)
		if printed {
			we.Traceback = "  " + we.Traceback
		}
	case we.Frames != nil:
		we.Traceback = ipytb.Traceback(we.Type, we.Message, we.Frames, c.hist)
	}
}
