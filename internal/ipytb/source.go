package ipytb

import (
	"regexp"
	"strings"
)

// History keeps the source of a session's recent cells, so that a frame in
// a function defined in an earlier cell shows its lines. It holds at most
// a bounded number of bytes, forgetting the oldest cells first. It is not
// safe for concurrent use (a session guards it).
type History struct {
	max   int
	size  int
	cells map[int]string
	order []int
}

// DefaultHistoryBytes is the bound of NewHistory(0): 4 MiB of source.
const DefaultHistoryBytes = 4 << 20

// NewHistory returns an empty history of at most maxBytes bytes of source
// (DefaultHistoryBytes when maxBytes <= 0).
func NewHistory(maxBytes int) *History {
	if maxBytes <= 0 {
		maxBytes = DefaultHistoryBytes
	}
	return &History{max: maxBytes, cells: map[int]string{}}
}

// Add records the source of cell; a cell larger than the bound is not kept.
func (h *History) Add(cell int, code string) {
	if old, ok := h.cells[cell]; ok {
		h.size -= len(old)
		delete(h.cells, cell)
	}
	if len(code) > h.max {
		return
	}
	h.cells[cell] = code
	h.order = append(h.order, cell)
	h.size += len(code)
	for h.size > h.max && len(h.order) > 0 {
		c := h.order[0]
		h.order = h.order[1:]
		if src, ok := h.cells[c]; ok && c != cell {
			h.size -= len(src)
			delete(h.cells, c)
		}
	}
}

// Source returns the source of cell, if kept.
func (h *History) Source(cell int) (string, bool) {
	s, ok := h.cells[cell]
	return s, ok
}

// source is Source on a history that may be nil.
func (h *History) source(cell int) (string, bool) {
	if h == nil {
		return "", false
	}
	return h.Source(cell)
}

// logical is a logical line of Python source: a statement (or a compound
// statement's header) over one or more physical lines.
type logical struct {
	start, end int // 1-based, inclusive
	indent     int
	kw         string // the first word: "def", "if", "else", "x", ...
	header     bool   // a compound statement's header whose body follows on later lines
	text       string // the physical lines, joined
}

// compound are the keywords whose statements have a body after a colon.
var compound = map[string]bool{
	"if": true, "elif": true, "else": true, "for": true, "while": true, "def": true, "class": true,
	"try": true, "except": true, "finally": true, "with": true, "async": true, "match": true, "case": true,
}

var firstWord = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// logicalLines splits source lines into logical lines as Python's
// tokenizer joins them (open brackets, strings spanning lines, a
// backslash at the end); lines holding only a comment or nothing are not
// logical lines.
func logicalLines(lines []string) []logical {
	var out []logical
	var cur *logical
	depth := 0
	var quote byte // the open string's quote character, 0 for none
	triple := false
	var last byte // the last significant character outside strings and comments
	for i, line := range lines {
		if cur == nil {
			t := strings.TrimSpace(line)
			if t == "" || t[0] == '#' {
				continue
			}
			cur = &logical{start: i + 1, indent: len(line) - len(strings.TrimLeft(line, " \t"))}
			depth, last = 0, 0
		}
		cont := false
	scan:
		for j := 0; j < len(line); j++ {
			c := line[j]
			if quote != 0 {
				switch {
				case c == '\\':
					j++
				case c == quote && triple && strings.HasPrefix(line[j:], strings.Repeat(string(quote), 3)):
					quote, triple = 0, false
					j += 2
					last = c
				case c == quote && !triple:
					quote = 0
					last = c
				}
				continue
			}
			switch c {
			case '#':
				break scan
			case '\'', '"':
				quote = c
				if strings.HasPrefix(line[j:], strings.Repeat(string(c), 3)) {
					triple = true
					j += 2
				}
			case '(', '[', '{':
				depth++
				last = c
			case ')', ']', '}':
				depth = max(depth-1, 0)
				last = c
			case ' ', '\t', '\r':
			case '\\':
				if j == len(line)-1 {
					cont = true
				}
			default:
				last = c
			}
		}
		if quote != 0 && !triple {
			quote = 0 // an unterminated string ends with its line
		}
		if quote != 0 || depth > 0 || cont {
			continue
		}
		cur.end = i + 1
		cur.text = strings.Join(lines[cur.start-1:cur.end], "\n")
		cur.kw = firstWord.FindString(strings.TrimSpace(lines[cur.start-1]))
		if cur.kw == "async" {
			cur.kw = firstWord.FindString(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[cur.start-1]), "async")))
		}
		cur.header = last == ':' && compound[cur.kw]
		out = append(out, *cur)
		cur = nil
	}
	if cur != nil { // the source ends inside a bracket or string
		cur.end = len(lines)
		cur.text = strings.Join(lines[cur.start-1:], "\n")
		cur.kw = firstWord.FindString(strings.TrimSpace(lines[cur.start-1]))
		out = append(out, *cur)
	}
	return out
}

// piece is a range of lines stack_data shows or leaves out as a whole.
type piece struct{ start, end int }

// pieces splits n lines into stack_data's pieces: each statement, each
// compound header with the comments up to its body's first statement,
// "else:" and "finally:" with the comments before them, and each run of
// comments between statements; blank lines at a piece's ends left out.
func pieces(lls []logical, n int, lines []string) []piece {
	var ps []piece
	prev := 0
	for i, ll := range lls {
		gs, ge := prev+1, ll.start-1
		start := ll.start
		if gs <= ge {
			switch {
			case i > 0 && lls[i-1].header && len(ps) > 0:
				ps[len(ps)-1].end = ge
			case ll.kw == "else" || ll.kw == "finally":
				start = gs
			default:
				ps = append(ps, piece{gs, ge})
			}
		}
		ps = append(ps, piece{start, ll.end})
		prev = ll.end
	}
	if prev < n {
		if len(lls) > 0 && lls[len(lls)-1].header && len(ps) > 0 {
			ps[len(ps)-1].end = n
		} else {
			ps = append(ps, piece{prev + 1, n})
		}
	}
	blank := func(k int) bool { return k >= 1 && k <= len(lines) && strings.TrimSpace(lines[k-1]) == "" }
	out := ps[:0]
	for _, p := range ps {
		for p.start <= p.end && blank(p.start) {
			p.start++
		}
		for p.end >= p.start && blank(p.end) {
			p.end--
		}
		if p.start <= p.end {
			out = append(out, p)
		}
	}
	return out
}

// defName reads the name of a def's logical line.
var defName = regexp.MustCompile(`^\s*(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// scope returns the lines of the code a frame runs: the def of its function
// (for a lambda or a comprehension, the def around it), or the whole cell.
func scope(lls []logical, f Frame, n int) (int, int) {
	if f.Func == "<module>" || f.Func == "" {
		return 1, n
	}
	name := f.Func
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	best := -1
	for i, ll := range lls {
		if ll.kw != "def" {
			continue
		}
		if f.Line < ll.start || f.Line > defEnd(lls, i) {
			continue
		}
		m := defName.FindStringSubmatch(ll.text)
		if strings.HasPrefix(name, "<") || m != nil && m[1] == name {
			best = i
		}
	}
	if best < 0 {
		return 1, n
	}
	return lls[best].start, defEnd(lls, best)
}

// defEnd returns the last line of the def at lls[i]: of its last statement.
func defEnd(lls []logical, i int) int {
	d := lls[i]
	if !d.header {
		return d.end
	}
	end := d.end
	for j := i + 1; j < len(lls) && lls[j].indent > d.indent; j++ {
		end = lls[j].end
	}
	return end
}

// paramsOf returns the parameter list IPython shows for frame f, read from
// its def or lambda: names, then *args and **kwargs, without defaults or
// annotations.
func paramsOf(cs *cellSource, f Frame) string {
	if IsComprehension(f.Func) {
		return "(.0)"
	}
	lines, lls := cs.lines, cs.lls
	if f.Func == "<lambda>" {
		for _, ll := range lls {
			if f.Line < ll.start || f.Line > ll.end {
				continue
			}
			k := strings.Index(ll.text, "lambda")
			if k < 0 {
				return ""
			}
			rest := ll.text[k+len("lambda"):]
			if c := topLevel(rest, ':'); c >= 0 {
				return formatParams(rest[:c])
			}
		}
		return ""
	}
	lo, _ := scope(lls, f, len(lines))
	for _, ll := range lls {
		if ll.start != lo || ll.kw != "def" {
			continue
		}
		open := strings.IndexByte(ll.text, '(')
		if open < 0 {
			return ""
		}
		rest := ll.text[open+1:]
		if c := topLevel(rest, ')'); c >= 0 {
			return formatParams(rest[:c])
		}
	}
	return ""
}

// topLevel returns the index of the first c in s outside brackets and
// strings, or -1.
func topLevel(s string, c byte) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if quote != 0 {
			if ch == '\\' {
				i++
			} else if ch == quote {
				quote = 0
			}
			continue
		}
		switch {
		case ch == c && depth == 0:
			return i
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '(' || ch == '[' || ch == '{':
			depth++
		case ch == ')' || ch == ']' || ch == '}':
			depth--
		}
	}
	return -1
}

// formatParams renders a parameter list as inspect.formatargvalues does
// with values hidden: "(a, b, *args, **kw)".
func formatParams(params string) string {
	var names []string
	var star, starstar string
	for params != "" {
		end := topLevel(params, ',')
		p := params
		if end >= 0 {
			p, params = params[:end], params[end+1:]
		} else {
			params = ""
		}
		if i := topLevel(p, '='); i >= 0 {
			p = p[:i]
		}
		if i := topLevel(p, ':'); i >= 0 {
			p = p[:i]
		}
		p = strings.TrimSpace(p)
		switch {
		case p == "" || p == "*" || p == "/":
		case strings.HasPrefix(p, "**"):
			starstar = "**" + strings.TrimSpace(p[2:])
		case strings.HasPrefix(p, "*"):
			star = "*" + strings.TrimSpace(p[1:])
		default:
			names = append(names, p)
		}
	}
	if star != "" {
		names = append(names, star)
	}
	if starstar != "" {
		names = append(names, starstar)
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// IsComprehension reports whether a frame's function is a comprehension
// or generator expression, which CPython 3.11 runs as a function of its
// own (PEP 709 inlined the comprehensions in 3.12), its one parameter
// ".0" the iterator of the first for clause.
func IsComprehension(name string) bool {
	switch name {
	case "<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>":
		return true
	}
	return false
}
