package scene

import (
	"fmt"
	"strings"
)

// Fact is one ground atom of a problem's :init section, e.g.
// {"inReceptacle", "Mug_bar_...", "Cabinet_bar_..."}.
type Fact []string

// Problem is the part of an ALFWorld PDDL problem the generator needs:
// its name, typed object declarations, initial facts and the raw goal text.
// It is a reader of the facts only; the engine's parser is the authority
// on playing a problem.
type Problem struct {
	Name    string
	Objects []Decl // in declaration order
	Init    []Fact // in file order
	Goal    string // the "(:goal ...)" form, verbatim
}

// Decl is one "name - type" declaration of the :objects section.
type Decl struct {
	Name, Type string
}

// ReadProblem reads the objects, initial facts and goal of an ALFWorld PDDL
// problem. Errors name the line at fault.
func ReadProblem(text string) (*Problem, error) {
	p := &sexpParser{toks: tokenize(text)}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	if len(root.kids) < 1 || root.kids[0].atom != "define" {
		return nil, fmt.Errorf("line %d: problem must start with (define", root.line)
	}
	prob := &Problem{}
	var sawInit, sawGoal bool
	for _, k := range root.kids[1:] {
		if len(k.kids) == 0 {
			return nil, fmt.Errorf("line %d: unexpected %q in define", k.line, k.atom)
		}
		head := strings.ToLower(k.kids[0].atom)
		switch head {
		case "problem":
			if len(k.kids) != 2 || k.kids[1].atom == "" {
				return nil, fmt.Errorf("line %d: (problem NAME) expected", k.line)
			}
			prob.Name = k.kids[1].atom
		case ":domain", ":requirements":
		case ":objects":
			names := []string{}
			args := k.kids[1:]
			for i := 0; i < len(args); i++ {
				a := args[i]
				if a.atom == "" {
					return nil, fmt.Errorf("line %d: list in :objects", a.line)
				}
				if a.atom != "-" {
					names = append(names, a.atom)
					continue
				}
				if i+1 >= len(args) || args[i+1].atom == "" || len(names) == 0 {
					return nil, fmt.Errorf("line %d: '-' must follow names and precede a type", a.line)
				}
				for _, n := range names {
					prob.Objects = append(prob.Objects, Decl{Name: n, Type: args[i+1].atom})
				}
				names = names[:0]
				i++
			}
			if len(names) > 0 {
				return nil, fmt.Errorf("line %d: objects without a type: %s", k.line, strings.Join(names, " "))
			}
		case ":init":
			sawInit = true
			for _, f := range k.kids[1:] {
				if len(f.kids) == 0 {
					return nil, fmt.Errorf("line %d: fact must be a list, got %q", f.line, f.atom)
				}
				fact := make(Fact, 0, len(f.kids))
				for _, a := range f.kids {
					if a.atom == "" {
						return nil, fmt.Errorf("line %d: nested list in fact", a.line)
					}
					fact = append(fact, a.atom)
				}
				prob.Init = append(prob.Init, fact)
			}
		case ":goal":
			sawGoal = true
			prob.Goal = text[k.start:k.end]
		default:
			return nil, fmt.Errorf("line %d: unknown section %q", k.line, k.kids[0].atom)
		}
	}
	if !sawInit {
		return nil, fmt.Errorf("line %d: problem has no :init", root.line)
	}
	if !sawGoal {
		return nil, fmt.Errorf("line %d: problem has no :goal", root.line)
	}
	return prob, nil
}

type token struct {
	s          string // "(" or ")" or an atom
	line       int
	start, end int
}

func tokenize(text string) []token {
	var toks []token
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == ';':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '(' || c == ')':
			toks = append(toks, token{s: text[i : i+1], line: line, start: i, end: i + 1})
			i++
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\r\n();", rune(text[j])) {
				j++
			}
			toks = append(toks, token{s: text[i:j], line: line, start: i, end: j})
			i = j
		}
	}
	return toks
}

type node struct {
	atom       string
	kids       []*node
	line       int
	start, end int
}

type sexpParser struct {
	toks []token
	pos  int
}

func (p *sexpParser) parse() (*node, error) {
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("line 1: empty problem")
	}
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		t := p.toks[p.pos]
		return nil, fmt.Errorf("line %d: text after the end of the problem: %q", t.line, t.s)
	}
	if n.atom != "" {
		return nil, fmt.Errorf("line %d: problem must be a list", n.line)
	}
	return n, nil
}

func (p *sexpParser) node(depth int) (*node, error) {
	if depth > 64 {
		return nil, fmt.Errorf("line %d: lists nested too deeply", p.toks[p.pos].line)
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.s {
	case ")":
		return nil, fmt.Errorf("line %d: unexpected ')'", t.line)
	case "(":
		n := &node{line: t.line, start: t.start}
		for {
			if p.pos >= len(p.toks) {
				return nil, fmt.Errorf("line %d: '(' never closed", t.line)
			}
			if p.toks[p.pos].s == ")" {
				n.end = p.toks[p.pos].end
				p.pos++
				return n, nil
			}
			k, err := p.node(depth + 1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
	default:
		return &node{atom: t.s, line: t.line, start: t.start, end: t.end}, nil
	}
}
