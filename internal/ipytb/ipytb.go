// Package ipytb shows Python exceptions as IPython 8 shows them in a
// notebook (colours off), the display MINT's executor gave models and
// CodeActAgent was trained on:
//
//	---------------------------------------------------------------------------
//	NameError                                 Traceback (most recent call last)
//	Cell In[3], line 1
//	----> 1 print(examine("cd 3"))
//	      2 goto("shelf 1")
//
//	NameError: name 'examine' is not defined
//
// Both runtimes use it: they report where an exception passed (Frame: the
// cell, the line, the function) and keep the source of recent cells
// (History); Traceback lays the report out. A syntax error keeps Python's
// layout with the cell in place of the file (Syntax).
//
// The layout follows IPython 8's VerboseTB with stack_data: every frame in
// a cell shows the statement that was running and two statements of
// context on each side ("pieces": a statement spanning several lines is
// one, so are comment lines between statements and a compound statement's
// header), within the function the frame runs (a def's body; the whole
// cell for the top level, lambdas and comprehensions), with their common
// indentation removed; a context statement longer than six lines shows
// its first three and last two lines around "(...)"; runs of a frame
// repeated more than three times (recursion) show twice, a note, and once.
package ipytb

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Style is how a runtime shows an exception.
type Style string

// The styles.
const (
	// Python is CPython's plain traceback ("Traceback (most recent call
	// last):", File "<action>", line N, in f).
	Python Style = "python"
	// IPython is IPython 8's display in a notebook cell.
	IPython Style = "ipython"
)

// ParseStyle checks a style name; "" is Python.
func ParseStyle(s string) (Style, error) {
	switch st := Style(strings.ToLower(strings.TrimSpace(s))); st {
	case Python, IPython:
		return st, nil
	case "":
		return Python, nil
	}
	return "", fmt.Errorf("unknown error display %q (choose ipython or python)", s)
}

// Frame is one place an exception passed through in a cell's code,
// outermost first.
type Frame struct {
	// Cell is the number of the cell (action) the code came from, as
	// IPython counts them: 1 for a session's first action.
	Cell int `json:"cell"`
	// Line is the 1-based line in that cell.
	Line int `json:"line"`
	// Func is the function's name, "<module>" for a cell's top level,
	// "<lambda>" for a lambda.
	Func string `json:"func"`
	// Args is the parameter list IPython shows after the name, "(a, b,
	// *args, **kw)"; empty: read from the def (or lambda) in the source.
	Args string `json:"args,omitempty"`
}

// ruleWidth is the width of IPython's rule and header (its terminal width
// capped at 75).
const ruleWidth = 75

// Traceback lays out a runtime exception of type typ with message msg that
// passed through frames (outermost first), the cells' source read from h
// (nil: none known, frames show their headers only). Trailing white space
// is removed, as MINT stripped observations.
func Traceback(typ, msg string, frames []Frame, h *History) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("-", ruleWidth))
	b.WriteString("\n")
	head := "Traceback (most recent call last)"
	pad := ruleWidth - len(typ) - len(head)
	b.WriteString(typ + strings.Repeat(" ", max(pad, 0)) + head)
	parsed := map[int]*cellSource{} // each cell parsed once
	for _, e := range collapse(frames) {
		b.WriteString("\n")
		if e.skipped != "" {
			fmt.Fprintf(&b, "    [... skipping similar frames: %s]\n", e.skipped)
			continue
		}
		cs, ok := parsed[e.frame.Cell]
		if !ok {
			if src, found := h.source(e.frame.Cell); found {
				cs = parseCell(src)
			}
			parsed[e.frame.Cell] = cs
		}
		writeFrame(&b, e.frame, cs)
	}
	fmt.Fprintf(&b, "\n%s: %s", typ, msg)
	return strings.TrimRight(b.String(), " \t\n")
}

// Syntax turns CPython's report of a syntax error in cell ("  File
// \"<action>\", line 2\n    text\n    ^\nSyntaxError: msg") into IPython's:
// the same lines with "Cell In[N], line L" for the file, without the
// leading indentation MINT's strip removed. A report without a file line
// is returned as it is.
func Syntax(cell int, report string) string {
	first, rest, _ := strings.Cut(report, "\n")
	t := strings.TrimSpace(first)
	if !strings.HasPrefix(t, "File ") {
		return report
	}
	i := strings.LastIndex(t, ", line ")
	if i < 0 {
		return report
	}
	line := t[i+len(", line "):]
	if j := strings.IndexByte(line, ','); j >= 0 {
		line = line[:j]
	}
	out := fmt.Sprintf("Cell In[%d], line %s", cell, line)
	if rest != "" {
		out += "\n" + rest
	}
	return strings.TrimRight(out, " \t\n")
}

// entry is a frame to show, or a note on frames skipped.
type entry struct {
	frame   Frame
	skipped string
}

type frameKey struct {
	cell, line int
	fn         string
}

// collapse keeps frames as stack_data's collapse_repeated does: in a run of
// frames whose place occurs more than three times in the traceback, each
// place shows at its first, second and last occurrence in the run; what
// lies between is one note, "f at line 2 (48 times)".
func collapse(frames []Frame) []entry {
	keys := make([]frameKey, len(frames))
	counts := map[frameKey]int{}
	for i, f := range frames {
		keys[i] = frameKey{f.Cell, f.Line, f.Func}
		counts[keys[i]]++
	}
	shown := make([]bool, len(frames))
	for i := 0; i < len(frames); {
		j := i
		common := counts[keys[i]] > 3
		for j < len(frames) && (counts[keys[j]] > 3) == common {
			j++
		}
		if !common {
			for k := i; k < j; k++ {
				shown[k] = true
			}
		} else {
			seen := map[frameKey]int{}
			last := map[frameKey]int{}
			for k := i; k < j; k++ {
				seen[keys[k]]++
				if seen[keys[k]] <= 2 {
					shown[k] = true
				}
				last[keys[k]] = k
			}
			for _, k := range last {
				shown[k] = true
			}
		}
		i = j
	}
	var out []entry
	for i := 0; i < len(frames); {
		if shown[i] {
			out = append(out, entry{frame: frames[i]})
			i++
			continue
		}
		j := i
		run := map[frameKey]int{}
		for j < len(frames) && !shown[j] {
			run[keys[j]]++
			j++
		}
		out = append(out, entry{skipped: describe(run)})
		i = j
	}
	return out
}

// describe names skipped frames as stack_data's RepeatedFrames does: most
// frequent first, then by name.
func describe(run map[frameKey]int) string {
	type item struct {
		k frameKey
		n int
	}
	var items []item
	for k, n := range run {
		items = append(items, item{k, n})
	}
	sort.Slice(items, func(a, b int) bool {
		if items[a].n != items[b].n {
			return items[a].n > items[b].n
		}
		if items[a].k.fn != items[b].k.fn {
			return items[a].k.fn < items[b].k.fn
		}
		return items[a].k.line < items[b].k.line
	})
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s at line %d (%d times)", it.k.fn, it.k.line, it.n)
	}
	return strings.Join(parts, ", ")
}

// numberWidth is the width of the line numbers (IPython's INDENT_SIZE - 1).
const numberWidth = 7

// cellSource is a cell's source, split and parsed.
type cellSource struct {
	lines []string
	lls   []logical
	ps    []piece
}

func parseCell(src string) *cellSource {
	lines := strings.Split(src, "\n")
	lls := logicalLines(lines)
	return &cellSource{lines: lines, lls: lls, ps: pieces(lls, len(lines), lines)}
}

// writeFrame writes a frame's header and its lines, each ending in "\n";
// cs is the frame's cell, nil when its source is not known.
func writeFrame(b *strings.Builder, f Frame, cs *cellSource) {
	ok := cs != nil
	var lines []string
	if ok {
		lines = cs.lines
	}
	fmt.Fprintf(b, "Cell In[%d], line %d", f.Cell, f.Line)
	if f.Func != "<module>" && f.Func != "" {
		args := f.Args
		if args == "" && ok {
			args = paramsOf(cs, f)
		}
		if args == "" {
			args = "()"
		}
		fmt.Fprintf(b, ", in %s%s", f.Func, args)
	}
	b.WriteString("\n")
	if !ok || f.Line < 1 || f.Line > len(lines) {
		return
	}
	for _, l := range contextLines(cs, f) {
		b.WriteString(l)
		b.WriteString("\n")
	}
}

// gap stands for lines left out of a long piece.
const gap = -1

// contextLines returns the numbered lines shown for frame f.
func contextLines(cs *cellSource, f Frame) []string {
	lines, lls, ps := cs.lines, cs.lls, cs.ps
	lo, hi := scope(lls, f, len(lines))
	var sp []piece
	for _, p := range ps {
		if p.start >= lo && p.end <= hi {
			sp = append(sp, p)
		}
	}
	pos := -1
	for i, p := range sp {
		if p.start <= f.Line && f.Line <= p.end {
			pos = i
		}
	}
	var nums []int
	if pos < 0 {
		nums = []int{f.Line}
	} else {
		for i := max(0, pos-2); i <= min(len(sp)-1, pos+2); i++ {
			p := sp[i]
			n := p.end - p.start + 1
			if i != pos && n > 6 {
				for k := p.start; k < p.start+3; k++ {
					nums = append(nums, k)
				}
				nums = append(nums, gap)
				for k := p.end - 1; k <= p.end; k++ {
					nums = append(nums, k)
				}
				continue
			}
			for k := p.start; k <= p.end; k++ {
				nums = append(nums, k)
			}
		}
	}
	// The common indentation of the lines shown goes.
	indent := -1
	for _, n := range nums {
		if n == gap {
			continue
		}
		l := strings.TrimRight(lines[n-1], " \t\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		w := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || w < indent {
			indent = w
		}
	}
	indent = max(indent, 0)
	out := make([]string, 0, len(nums))
	for _, n := range nums {
		if n == gap {
			out = append(out, "   (...)")
			continue
		}
		text := strings.TrimRight(lines[n-1], " \t\r")
		if len(text) >= indent {
			text = text[indent:]
		} else {
			text = strings.TrimLeft(text, " \t")
		}
		num := fmt.Sprintf("%*d", numberWidth, n)
		if n == f.Line {
			num = arrow(numberWidth-len(fmt.Sprint(n))) + fmt.Sprint(n)
		}
		out = append(out, num+" "+text)
	}
	return out
}

// arrow is IPython's debugger.make_arrow.
func arrow(pad int) string {
	switch {
	case pad >= 2:
		return strings.Repeat("-", pad-2) + "> "
	case pad == 1:
		return ">"
	}
	return ""
}

// SyntaxError lays out a syntax error as IPython shows it for a cell: the
// cell and line (line 0: unknown), the offending line's text stripped and a
// caret under the 1-based column offset (0: none), then "Type: msg"; the
// leading indentation MINT's strip removed is not there.
func SyntaxError(cell, line int, text string, offset int, typ, msg string) string {
	var b strings.Builder
	if line > 0 {
		fmt.Fprintf(&b, "Cell In[%d], line %d\n", cell, line)
	} else {
		fmt.Fprintf(&b, "Cell In[%d]\n", cell)
	}
	if text != "" {
		rs := []rune(text)
		i := 0
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
		fmt.Fprintf(&b, "    %s\n", strings.TrimSpace(text))
		if offset > 0 {
			b.WriteString("    ")
			for k := i; k < offset-1 && k < len(rs); k++ {
				if unicode.IsSpace(rs[k]) {
					b.WriteRune(rs[k])
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteString("^\n")
		}
	}
	if msg != "" {
		fmt.Fprintf(&b, "%s: %s", typ, msg)
	} else {
		b.WriteString(typ)
	}
	return strings.TrimRight(b.String(), " \t\n")
}
