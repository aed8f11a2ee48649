package sandbox

import "go.starlark.net/syntax"

// Comprehension frames. CPython 3.11 runs a comprehension as a function of
// its own, so an error inside one passes through a frame "<listcomp>" (or
// "<dictcomp>") that tracebacks show, the enclosing frame stopped at the
// line where the comprehension starts. Starlark evaluates comprehensions
// in the enclosing function, so its call stack has no such frame: the
// session records where each action's comprehensions are and adds the
// frames CPython would have (comprehensionFrames).

// maxScopeCells bounds how many actions' comprehension positions a session
// keeps (those of older actions are dropped, as the source history drops
// old cells: their frames then show as Starlark saw them).
const maxScopeCells = 256

// compSpan is a comprehension in an action's source: its brackets, and the
// first for clause's "for" through its iterable, which CPython evaluates
// in the enclosing scope before it calls the comprehension.
type compSpan struct {
	name           string
	start, end     syntax.Position
	outerS, outerE syntax.Position
}

// cellScopes are the comprehensions of one action, and its functions (a
// def or lambda inside a comprehension runs in a frame of its own).
type cellScopes struct {
	comps []compSpan
	funcs [][2]syntax.Position
}

// noteScopes records the comprehensions of action s.count's syntax tree,
// as parsed (before guardOperators rewrites iterables).
func (s *Session) noteScopes(f *syntax.File) {
	var cs cellScopes
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.Comprehension:
			c := compSpan{name: "<listcomp>", start: x.Lbrack, end: x.Rbrack}
			if x.Curly {
				c.name = "<dictcomp>" // Starlark has no set comprehension
			}
			if len(x.Clauses) > 0 {
				if fc, ok := x.Clauses[0].(*syntax.ForClause); ok {
					c.outerS = fc.For
					_, c.outerE = fc.X.Span()
				}
			}
			cs.comps = append(cs.comps, c)
		case *syntax.DefStmt, *syntax.LambdaExpr:
			a, b := n.Span()
			cs.funcs = append(cs.funcs, [2]syntax.Position{a, b})
		}
		return true
	})
	if len(cs.comps) == 0 {
		delete(s.scopes, s.count)
		return
	}
	if s.scopes == nil {
		s.scopes = map[int]*cellScopes{}
	}
	s.scopes[s.count] = &cs
	if len(s.scopes) > maxScopeCells {
		oldest := s.count
		for n := range s.scopes {
			oldest = min(oldest, n)
		}
		delete(s.scopes, oldest)
	}
}

// before reports a <= b in source order.
func before(a, b syntax.Position) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Col <= b.Col
}

// within reports lo <= p <= hi.
func within(p, lo, hi syntax.Position) bool { return before(lo, p) && before(p, hi) }

// comprehensionFrames expands the frame of a function stopped at pos into
// CPython's frames: the function at the line of the outermost
// comprehension that pos is running in, then one frame per comprehension,
// each at the line of the next one's start or, the last, pos's line.
func (s *Session) comprehensionFrames(fr frame, pos syntax.Position) []frame {
	cs := s.scopes[fr.cell]
	if cs == nil {
		return []frame{fr}
	}
	var chain []compSpan // nested, outermost first (Walk's order)
	for _, c := range cs.comps {
		if !within(pos, c.start, c.end) || c.outerS.Line > 0 && within(pos, c.outerS, c.outerE) {
			continue
		}
		inner := false // pos is in a def or lambda inside c: another frame
		for _, f := range cs.funcs {
			if within(f[0], c.start, c.end) && within(pos, f[0], f[1]) {
				inner = true
				break
			}
		}
		if !inner {
			chain = append(chain, c)
		}
	}
	if len(chain) == 0 {
		return []frame{fr}
	}
	out := []frame{{cell: fr.cell, line: int(chain[0].start.Line), name: fr.name}}
	for i, c := range chain {
		line := int(pos.Line)
		if i+1 < len(chain) {
			line = int(chain[i+1].start.Line)
		}
		out = append(out, frame{cell: fr.cell, line: line, name: c.name, args: "(.0)"})
	}
	return out
}
