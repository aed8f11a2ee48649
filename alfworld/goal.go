package alfworld

import (
	"fmt"
	"strings"
)

type fop uint8

const (
	fAtom fop = iota
	fAnd
	fOr
	fNot
	fImply
	fExists
	fForall
)

type term struct {
	slot int32 // variable slot, -1 for a constant
	val  int32 // the constant's index within its kind
	k    kind
}

type qvar struct {
	slot int32
	k    kind
}

type formula struct {
	op   fop
	p    pred
	args []term
	kids []*formula
	vars []qvar
	conj []*formula // exists/forall: the body as a list of conjuncts
	free []int32    // free variable slots
	line int
}

// compileGoal turns a PDDL goal into a formula over the game's entities.
func compileGoal(n *node, ents map[string]*entity, idx map[string]int, agent string) (*formula, int, error) {
	c := goalCompiler{ents: ents, idx: idx, agent: agent, scope: map[string]qvar{}}
	f, err := c.compile(n, 0)
	if err != nil {
		return nil, 0, err
	}
	return f, int(c.nSlots), nil
}

type goalCompiler struct {
	ents   map[string]*entity
	idx    map[string]int
	agent  string
	scope  map[string]qvar
	nSlots int32
}

func (c *goalCompiler) compile(n *node, depth int) (*formula, error) {
	if depth > maxDepth {
		return nil, errAt(n, "goal nested too deeply")
	}
	if !n.isList || len(n.list) == 0 {
		return nil, errAt(n, "expected a formula, got %q", n.String())
	}
	h := n.head()
	f := &formula{line: n.line}
	switch h {
	case "and", "or":
		f.op = fAnd
		if h == "or" {
			f.op = fOr
		}
		for _, k := range n.list[1:] {
			kf, err := c.compile(k, depth+1)
			if err != nil {
				return nil, err
			}
			f.kids = append(f.kids, kf)
		}
	case "not", "imply":
		f.op = fNot
		want := 2
		if h == "imply" {
			f.op, want = fImply, 3
		}
		if len(n.list) != want {
			return nil, errAt(n, "(%s ...) takes %d formula(s)", h, want-1)
		}
		for _, k := range n.list[1:] {
			kf, err := c.compile(k, depth+1)
			if err != nil {
				return nil, err
			}
			f.kids = append(f.kids, kf)
		}
	case "exists", "forall":
		f.op = fExists
		if h == "forall" {
			f.op = fForall
		}
		if len(n.list) != 3 || !n.list[1].isList {
			return nil, errAt(n, "(%s (?x - type ...) formula) expected", h)
		}
		vs := n.list[1].list
		saved := map[string]qvar{}
		var pending []string
		for i := 0; i < len(vs); i++ {
			v := vs[i]
			if v.isList {
				return nil, errAt(v, "unexpected list among %s variables", h)
			}
			name := strings.TrimSuffix(strings.ToLower(v.atom), ",")
			if name == "" {
				continue
			}
			if name == "-" {
				if i+1 >= len(vs) || vs[i+1].isList {
					return nil, errAt(v, "'-' without a type")
				}
				tn := strings.TrimSuffix(strings.ToLower(vs[i+1].atom), ",")
				k, ok := kindNames[tn]
				if !ok {
					return nil, errAt(vs[i+1], "unknown type %q", vs[i+1].atom)
				}
				for _, p := range pending {
					if old, ok := c.scope[p]; ok {
						if _, done := saved[p]; !done {
							saved[p] = old
						}
					}
					q := qvar{slot: c.nSlots, k: k}
					c.nSlots++
					c.scope[p] = q
					f.vars = append(f.vars, q)
				}
				pending = pending[:0]
				i++
				continue
			}
			if !strings.HasPrefix(name, "?") {
				return nil, errAt(v, "variable %q must start with '?'", v.atom)
			}
			pending = append(pending, name)
		}
		if len(pending) > 0 {
			return nil, errAt(n.list[1], "variable %s has no type", pending[0])
		}
		body, err := c.compile(n.list[2], depth+1)
		// Restore the outer scope.
		for _, q := range f.vars {
			for name, v := range c.scope {
				if v == q {
					if old, ok := saved[name]; ok {
						c.scope[name] = old
					} else {
						delete(c.scope, name)
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
		f.kids = []*formula{body}
		if body.op == fAnd {
			f.conj = body.kids
		} else {
			f.conj = []*formula{body}
		}
		if len(f.conj) > 64 {
			return nil, errAt(n, "too many conjuncts under %s", h)
		}
	default:
		p, ok := predNames[h]
		if !ok {
			return nil, errAt(n, "unknown predicate %q in goal", n.list[0].String())
		}
		f.op, f.p = fAtom, p
		want := predArity[p]
		if p != pEq && p != pUnused && len(n.list)-1 != len(want) {
			return nil, errAt(n, "%s needs %d arguments, got %d", h, len(want), len(n.list)-1)
		}
		if p == pEq && len(n.list) != 3 {
			return nil, errAt(n, "= needs 2 arguments")
		}
		for i, a := range n.list[1:] {
			if a.isList {
				return nil, errAt(a, "arguments must be names or variables")
			}
			name := strings.ToLower(a.atom)
			var t term
			if strings.HasPrefix(name, "?") {
				q, ok := c.scope[name]
				if !ok {
					return nil, errAt(a, "unbound variable %s", name)
				}
				t = term{slot: q.slot, k: q.k}
			} else {
				e, ok := c.ents[name]
				if !ok {
					return nil, errAt(a, "undeclared object %q in goal", a.atom)
				}
				t = term{slot: -1, k: e.kind}
				if e.kind == kAgent {
					t.val = 0
					if name != c.agent {
						t.val = -1 // another agent: never matches
					}
				} else if v, ok := c.idx[name]; ok {
					t.val = int32(v)
				} else {
					t.val = -1 // declared but in no fact
				}
			}
			if p != pEq && p != pUnused && t.k != want[i] {
				return nil, errAt(a, "%s: argument %d must be of type %s", h, i+1, kindName(want[i]))
			}
			f.args = append(f.args, t)
		}
	}
	f.free = freeVars(f)
	return f, nil
}

func freeVars(f *formula) []int32 {
	set := map[int32]bool{}
	var walk func(f *formula)
	walk = func(f *formula) {
		for _, a := range f.args {
			if a.slot >= 0 {
				set[a.slot] = true
			}
		}
		for _, k := range f.kids {
			walk(k)
		}
	}
	walk(f)
	for _, q := range f.vars {
		delete(set, q.slot)
	}
	var out []int32
	for s := range set {
		out = append(out, s)
	}
	return out
}

// preds lists the predicates a formula reads.
func (f *formula) preds(mask *uint64) {
	if f.op == fAtom {
		*mask |= 1 << f.p
	}
	for _, k := range f.kids {
		k.preds(mask)
	}
}

// evaluator decides a formula on a state. bind holds variable values,
// -1 for unbound.
type evaluator struct {
	g    *Game
	s    *State
	bind []int32
}

func (e *evaluator) val(t term) int32 {
	if t.slot < 0 {
		return t.val
	}
	return e.bind[t.slot]
}

func (e *evaluator) bound(f *formula) bool {
	for _, s := range f.free {
		if e.bind[s] < 0 {
			return false
		}
	}
	return true
}

func (e *evaluator) sat(f *formula) bool {
	switch f.op {
	case fAtom:
		var a [2]int32
		for i, t := range f.args {
			if i < 2 {
				a[i] = e.val(t)
			}
		}
		if f.p == pEq {
			return f.args[0].k == f.args[1].k && a[0] == a[1]
		}
		return e.s.holds(f.p, a[0], a[1])
	case fAnd:
		for _, k := range f.kids {
			if !e.sat(k) {
				return false
			}
		}
		return true
	case fOr:
		for _, k := range f.kids {
			if e.sat(k) {
				return true
			}
		}
		return false
	case fNot:
		return !e.sat(f.kids[0])
	case fImply:
		return !e.sat(f.kids[0]) || e.sat(f.kids[1])
	case fExists:
		return e.join(f.conj, 0)
	case fForall:
		return e.forall(f, 0)
	}
	return false
}

// forall enumerates every binding of f's variables.
func (e *evaluator) forall(f *formula, i int) bool {
	if i == len(f.vars) {
		return e.sat(f.kids[0])
	}
	q := f.vars[i]
	n := e.domain(q.k)
	for v := int32(0); v < n; v++ {
		e.bind[q.slot] = v
		if !e.forall(f, i+1) {
			e.bind[q.slot] = -1
			return false
		}
	}
	e.bind[q.slot] = -1
	return true
}

func (e *evaluator) domain(k kind) int32 {
	g := e.g
	switch k {
	case kAgent:
		return 1
	case kLocation:
		return int32(len(g.Locations))
	case kReceptacle:
		return int32(len(g.Receptacles))
	case kObject:
		return int32(len(g.Objects))
	case kOType:
		return int32(len(g.otypes))
	case kRType:
		return int32(len(g.rtypes))
	}
	return 0
}

// join finds a binding satisfying every conjunct not yet in done: bound
// conjuncts are checked first, then one variable is enumerated, from an
// index when a conjunct offers one.
func (e *evaluator) join(conj []*formula, done uint64) bool {
	all := uint64(1)<<len(conj) - 1
	for i, l := range conj {
		if done&(1<<i) == 0 && e.bound(l) {
			if !e.sat(l) {
				return false
			}
			done |= 1 << i
		}
	}
	if done == all {
		return true
	}
	// Choose the variable to enumerate and its candidates.
	var (
		slot   int32 = -1
		list   []int
		single int32 = -2
		k      kind
	)
	for i, l := range conj {
		if done&(1<<i) != 0 || l.op != fAtom || len(l.args) != 2 {
			continue
		}
		a0, a1 := e.val(l.args[0]), e.val(l.args[1])
		switch {
		case l.p == pObjectType && a0 < 0 && a1 >= 0:
			slot, list = l.args[0].slot, e.g.objsOfType[a1]
		case l.p == pReceptacleType && a0 < 0 && a1 >= 0:
			slot, list = l.args[0].slot, e.g.recsOfType[a1]
		case l.p == pReceptacleAtLocation && a0 >= 0 && a1 < 0:
			slot, single = l.args[1].slot, int32(e.g.Receptacles[a0].Loc)
		case l.p == pReceptacleAtLocation && a0 < 0 && a1 >= 0:
			slot, list = l.args[0].slot, e.g.recsAt[a1]
		case l.p == pAtLocation && a0 == 0 && a1 < 0:
			slot, single = l.args[1].slot, int32(e.s.agent)
		case l.p == pHolds && a0 == 0 && a1 < 0:
			slot, single = l.args[1].slot, int32(e.s.held)
		default:
			continue
		}
		break
	}
	if slot < 0 {
		// No index: enumerate the first unbound variable's domain.
		for i, l := range conj {
			if done&(1<<i) != 0 {
				continue
			}
			for _, s := range l.free {
				if e.bind[s] < 0 {
					slot = s
					break
				}
			}
			if slot >= 0 {
				break
			}
		}
		if slot < 0 {
			return false
		}
		k = e.slotKind(conj, slot)
	}
	try := func(v int32) bool {
		e.bind[slot] = v
		ok := e.join(conj, done)
		e.bind[slot] = -1
		return ok
	}
	switch {
	case list != nil:
		for _, v := range list {
			if try(int32(v)) {
				return true
			}
		}
	case single != -2:
		if single >= 0 {
			return try(single)
		}
	default:
		n := e.domain(k)
		for v := int32(0); v < n; v++ {
			if try(v) {
				return true
			}
		}
	}
	return false
}

func (e *evaluator) slotKind(conj []*formula, slot int32) kind {
	var find func(f *formula) kind
	find = func(f *formula) kind {
		for _, a := range f.args {
			if a.slot == slot {
				return a.k
			}
		}
		for _, q := range f.vars {
			if q.slot == slot {
				return q.k
			}
		}
		for _, kf := range f.kids {
			if k := find(kf); k != 0 {
				return k
			}
		}
		return 0
	}
	for _, l := range conj {
		if k := find(l); k != 0 {
			return k
		}
	}
	return 0
}

// String renders a formula for debugging.
func (f *formula) String() string {
	return fmt.Sprintf("formula(op=%d p=%d kids=%d)", f.op, f.p, len(f.kids))
}
