package alfworld

import (
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/internal/repr"
)

// node is one element of a PDDL s-expression: an atom or a parenthesised
// list, with the line it starts on (1-based) for error messages.
type node struct {
	atom   string
	list   []*node
	line   int
	isList bool
}

// SyntaxError is a malformed PDDL text; Line is 1-based.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func errAt(n *node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.line
	}
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

// parseSexpr reads one top-level s-expression from text (comments start
// with ';'). Atoms keep their case.
func parseSexpr(text string) (*node, error) {
	p := sexprParser{s: text, line: 1}
	p.skip()
	if p.i >= len(p.s) {
		return nil, &SyntaxError{Line: p.line, Msg: "empty PDDL text"}
	}
	n, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.i < len(p.s) {
		return nil, &SyntaxError{Line: p.line, Msg: fmt.Sprintf("unexpected text after the closing parenthesis: %q", snippet(p.s[p.i:]))}
	}
	return n, nil
}

type sexprParser struct {
	s    string
	i    int
	line int
}

func snippet(s string) string {
	s, _ = repr.Head(s, 20, repr.Bytes)
	return s
}

func (p *sexprParser) skip() {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\n':
			p.line++
			p.i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			p.i++
		case c == ';':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *sexprParser) parse(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &SyntaxError{Line: p.line, Msg: "expressions nested too deeply"}
	}
	p.skip()
	if p.i >= len(p.s) {
		return nil, &SyntaxError{Line: p.line, Msg: "unexpected end of text"}
	}
	c := p.s[p.i]
	if c == ')' {
		return nil, &SyntaxError{Line: p.line, Msg: "unexpected ')'"}
	}
	if c != '(' {
		start := p.i
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '(' || c == ')' || c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
				break
			}
			p.i++
		}
		return &node{atom: p.s[start:p.i], line: p.line}, nil
	}
	n := &node{isList: true, line: p.line}
	p.i++
	for {
		p.skip()
		if p.i >= len(p.s) {
			return nil, &SyntaxError{Line: n.line, Msg: "'(' is never closed"}
		}
		if p.s[p.i] == ')' {
			p.i++
			return n, nil
		}
		k, err := p.parse(depth + 1)
		if err != nil {
			return nil, err
		}
		n.list = append(n.list, k)
	}
}

// head is the lower-cased first atom of a list node, or "".
func (n *node) head() string {
	if n == nil || !n.isList || len(n.list) == 0 || n.list[0].isList {
		return ""
	}
	return strings.ToLower(n.list[0].atom)
}

func (n *node) String() string {
	if !n.isList {
		return n.atom
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, k := range n.list {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k.String())
	}
	b.WriteByte(')')
	return b.String()
}
