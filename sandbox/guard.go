package sandbox

import (
	"go.starlark.net/syntax"
)

// guardOperators rewrites the operations of f that can allocate in
// proportion to their operands, or compute for long in one step, into
// calls of guarded builtins that charge the action's budget first
// (budget.go). Starlark evaluates `[0] * 10**9` or `x * x` on huge
// integers in one step, so neither the step limit nor cancellation could
// stop them.
//
//   - x + y, x * y, x % y, x << y become _gantry_add, _gantry_mul, _gantry_mod, _gantry_lsh calls, except
//     where a literal operand makes them harmless (i + 1, "k" + s, i % 2). A chain a + b + c becomes one _gantry_add(a, b, c), which
//     evaluates every operand before adding (only an error in an early
//     addition shows the difference).
//   - T op= y with op one of + * % << becomes T op= _gantry_chk(T, "op", y) when
//     evaluating T twice has no effect (names, and indexing or attributes
//     of them), so the native in-place update (list +=) is kept; on other
//     targets, _gantry_augstore(_gantry_augload(obj, key), "op", y), which evaluates obj
//     and key once, in Python's order.
//   - the iterables of a comprehension's for clauses become _gantry_iter(x, kind),
//     which charges an element of the result per element iterated.
//   - x.name, where name is a method that allocates in proportion to its
//     inputs (guardedMethods), becomes _gantry_attr(x, "name"), which returns the
//     method wrapped in a charge: `s.join(x)` and `f = s.join` are both
//     covered.
func guardOperators(f *syntax.File) {
	f.Stmts = guardStmts(f.Stmts)
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok {
			spreadArgs(c)
		}
		return true
	})
}

// maxCallArgs is the most positional (and the most named) arguments
// Starlark's compiler takes in one call; Python has no such limit.
const maxCallArgs = 255

// spreadArgs rewrites a call with more positional arguments than Starlark
// compiles, f(a0, ..., a999, k=v), into f(*[a0, ..., a999], **{"k": v}):
// the same call, its arguments evaluated in the same order (the tools'
// variadic parameters take any number, as in Python). A call that already
// spreads *args or **kwargs, or repeats a keyword, is left as written (the
// resolver refuses it).
func spreadArgs(c *syntax.CallExpr) {
	var pos, named []syntax.Expr
	for _, a := range c.Args {
		switch x := a.(type) {
		case *syntax.UnaryExpr:
			if x.Op == syntax.STAR || x.Op == syntax.STARSTAR {
				return
			}
		case *syntax.BinaryExpr:
			if x.Op == syntax.EQ {
				named = append(named, a)
				continue
			}
		}
		pos = append(pos, a)
	}
	if len(pos) <= maxCallArgs {
		return
	}
	seen := map[string]bool{}
	for _, a := range named {
		k := a.(*syntax.BinaryExpr).X.(*syntax.Ident).Name
		if seen[k] {
			return // the resolver's "keyword argument is repeated"
		}
		seen[k] = true
	}
	first, _ := pos[0].Span()
	_, last := pos[len(pos)-1].Span()
	args := []syntax.Expr{&syntax.UnaryExpr{OpPos: first, Op: syntax.STAR,
		X: &syntax.ListExpr{Lbrack: first, List: pos, Rbrack: last}}}
	if len(named) > 0 {
		d := &syntax.DictExpr{}
		for i, a := range named {
			kv := a.(*syntax.BinaryExpr)
			id := kv.X.(*syntax.Ident)
			if i == 0 {
				d.Lbrace = id.NamePos
			}
			_, d.Rbrace = kv.Y.Span()
			d.List = append(d.List, &syntax.DictEntry{Key: &syntax.Literal{Token: syntax.STRING, TokenPos: id.NamePos,
				Raw: `"` + id.Name + `"`, Value: id.Name}, Colon: kv.OpPos, Value: kv.Y})
		}
		args = append(args, &syntax.UnaryExpr{OpPos: d.Lbrace, Op: syntax.STARSTAR, X: d})
	}
	c.Args = args
}

// guardedMethods are the methods that build results in proportion to their
// arguments or receiver; methodGuard (builtins.go) charges each.
var guardedMethods = map[string]bool{
	"join": true, "replace": true, "format": true, "split": true, "rsplit": true,
	"splitlines": true, "lower": true, "upper": true, "title": true, "capitalize": true,
	"extend": true, "update": true, "items": true, "keys": true, "values": true,
	"union": true, "symmetric_difference": true, "difference": true, "intersection": true,
}

func guardStmts(stmts []syntax.Stmt) []syntax.Stmt {
	for i, s := range stmts {
		stmts[i] = guardStmt(s)
	}
	return stmts
}

func guardStmt(s syntax.Stmt) syntax.Stmt {
	switch x := s.(type) {
	case *syntax.AssignStmt:
		x.RHS = guardExpr(x.RHS)
		op := augOp(x.Op)
		if op == "" || harmless(op, x.RHS) {
			x.LHS = guardTarget(x.LHS)
			return s
		}
		if pure(x.LHS) && op == "<<" {
			// Integers are immutable: T <<= y is T = T << y, with the
			// shift Starlark refuses (counts from 512) computed.
			read := guardExpr(copyExpr(x.LHS))
			x.LHS = guardTarget(x.LHS)
			x.Op = syntax.EQ
			x.RHS = call(x.OpPos, "_gantry_lsh", read, x.RHS)
			return s
		}
		if pure(x.LHS) {
			read := guardExpr(copyExpr(x.LHS))
			x.LHS = guardTarget(x.LHS)
			x.RHS = call(x.OpPos, "_gantry_chk", read, str(x.OpPos, op), x.RHS)
			return s
		}
		var ref syntax.Expr
		switch t := x.LHS.(type) {
		case *syntax.IndexExpr:
			ref = call(t.Lbrack, "_gantry_augload", guardExpr(t.X), guardExpr(t.Y))
		case *syntax.DotExpr:
			ref = call(t.Dot, "_gantry_augattr", guardExpr(t.X), str(t.NamePos, t.Name.Name))
		default:
			x.LHS = guardTarget(x.LHS)
			return s
		}
		return &syntax.ExprStmt{X: call(x.OpPos, "_gantry_augstore", ref, str(x.OpPos, op), x.RHS)}
	case *syntax.DefStmt:
		for i, p := range x.Params {
			x.Params[i] = guardExpr(p)
		}
		x.Body = guardStmts(x.Body)
	case *syntax.ExprStmt:
		x.X = guardExpr(x.X)
	case *syntax.IfStmt:
		x.Cond = guardExpr(x.Cond)
		x.True = guardStmts(x.True)
		x.False = guardStmts(x.False)
	case *syntax.ForStmt:
		x.X = guardExpr(x.X)
		x.Body = guardStmts(x.Body)
	case *syntax.WhileStmt:
		x.Cond = guardExpr(x.Cond)
		x.Body = guardStmts(x.Body)
	case *syntax.ReturnStmt:
		if x.Result != nil {
			x.Result = guardExpr(x.Result)
		}
	}
	return s
}

// augOp returns the guarded operator of an augmented assignment, or "".
func augOp(t syntax.Token) string {
	switch t {
	case syntax.PLUS_EQ:
		return "+"
	case syntax.STAR_EQ:
		return "*"
	case syntax.PERCENT_EQ:
		return "%"
	case syntax.LTLT_EQ:
		return "<<"
	}
	return ""
}

// harmless reports whether `x op y`, y being the expression e, cannot
// allocate more than a copy of x: adding a number to anything is a number
// or a type error, adding a string literal copies x and the literal (no
// amplification: the heap watchdog bounds such copies), and
// `x % number` formats at most one value.
func harmless(op string, y syntax.Expr) bool {
	return (op == "+" && isLiteral(y)) || (op == "%" && numberLiteral(y))
}

// isLiteral reports whether e is a number or string literal.
func isLiteral(e syntax.Expr) bool {
	if x, ok := e.(*syntax.Literal); ok {
		return x.Token == syntax.STRING || x.Token == syntax.BYTES || numberLiteral(x)
	}
	return numberLiteral(e)
}

func numberLiteral(e syntax.Expr) bool {
	switch x := e.(type) {
	case *syntax.Literal:
		return x.Token == syntax.INT || x.Token == syntax.FLOAT
	case *syntax.UnaryExpr:
		return (x.Op == syntax.MINUS || x.Op == syntax.PLUS) && numberLiteral(x.X)
	case *syntax.ParenExpr:
		return numberLiteral(x.X)
	}
	return false
}

// pure reports whether evaluating e twice is the same as evaluating it
// once: names, literals, and indexing, attributes and arithmetic of them.
func pure(e syntax.Expr) bool {
	switch x := e.(type) {
	case *syntax.Ident, *syntax.Literal:
		return true
	case *syntax.ParenExpr:
		return pure(x.X)
	case *syntax.DotExpr:
		return pure(x.X)
	case *syntax.IndexExpr:
		return pure(x.X) && pure(x.Y)
	case *syntax.UnaryExpr:
		return x.X != nil && pure(x.X)
	case *syntax.BinaryExpr:
		return pure(x.X) && pure(x.Y)
	}
	return false
}

// copyExpr copies a pure expression.
func copyExpr(e syntax.Expr) syntax.Expr {
	switch x := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: x.NamePos, Name: x.Name}
	case *syntax.Literal:
		c := *x
		return &c
	case *syntax.ParenExpr:
		return &syntax.ParenExpr{Lparen: x.Lparen, X: copyExpr(x.X), Rparen: x.Rparen}
	case *syntax.DotExpr:
		return &syntax.DotExpr{X: copyExpr(x.X), Dot: x.Dot, NamePos: x.NamePos, Name: &syntax.Ident{NamePos: x.Name.NamePos, Name: x.Name.Name}}
	case *syntax.IndexExpr:
		return &syntax.IndexExpr{X: copyExpr(x.X), Lbrack: x.Lbrack, Y: copyExpr(x.Y), Rbrack: x.Rbrack}
	case *syntax.UnaryExpr:
		return &syntax.UnaryExpr{OpPos: x.OpPos, Op: x.Op, X: copyExpr(x.X)}
	case *syntax.BinaryExpr:
		return &syntax.BinaryExpr{OpPos: x.OpPos, Op: x.Op, X: copyExpr(x.X), Y: copyExpr(x.Y)}
	}
	panic("copyExpr: impure expression")
}

// guardTarget guards the subexpressions of an assignment's target; the
// target itself (x.f, x[i]) stays a store.
func guardTarget(e syntax.Expr) syntax.Expr {
	switch x := e.(type) {
	case *syntax.IndexExpr:
		x.X = guardExpr(x.X)
		x.Y = guardExpr(x.Y)
	case *syntax.DotExpr:
		x.X = guardExpr(x.X)
	case *syntax.ParenExpr:
		x.X = guardTarget(x.X)
	case *syntax.TupleExpr:
		for i, t := range x.List {
			x.List[i] = guardTarget(t)
		}
	case *syntax.ListExpr:
		for i, t := range x.List {
			x.List[i] = guardTarget(t)
		}
	}
	return e
}

func guardExprs(es []syntax.Expr) {
	for i, e := range es {
		es[i] = guardExpr(e)
	}
}

func guardExpr(e syntax.Expr) syntax.Expr {
	switch x := e.(type) {
	case nil:
		return nil
	case *syntax.BinaryExpr:
		x.X = guardExpr(x.X)
		x.Y = guardExpr(x.Y)
		switch x.Op {
		case syntax.STAR:
			return call(x.OpPos, "_gantry_mul", x.X, x.Y)
		case syntax.PLUS:
			if !isLiteral(x.X) && !isLiteral(x.Y) {
				// a + b + c becomes one _gantry_add(a, b, c): a chain of string
				// concatenations (an f-string) is built at once.
				if c, ok := x.X.(*syntax.CallExpr); ok && c.Lparen == c.Rparen {
					if id, ok := c.Fn.(*syntax.Ident); ok && id.Name == "_gantry_add" && id.Binding == nil {
						c.Args = append(c.Args, x.Y)
						return c
					}
				}
				return call(x.OpPos, "_gantry_add", x.X, x.Y)
			}
		case syntax.PERCENT:
			if !numberLiteral(x.Y) {
				return call(x.OpPos, "_gantry_mod", x.X, x.Y)
			}
		case syntax.LTLT:
			return call(x.OpPos, "_gantry_lsh", x.X, x.Y)
		}
	case *syntax.CallExpr:
		x.Fn = guardExpr(x.Fn)
		guardExprs(x.Args)
	case *syntax.Comprehension:
		x.Body = guardExpr(x.Body)
		per := "list"
		if x.Curly {
			per = "dict"
		}
		for _, c := range x.Clauses {
			switch cl := c.(type) {
			case *syntax.ForClause:
				cl.X = call(cl.For, "_gantry_iter", guardExpr(cl.X), str(cl.For, per))
			case *syntax.IfClause:
				cl.Cond = guardExpr(cl.Cond)
			}
		}
	case *syntax.CondExpr:
		x.Cond = guardExpr(x.Cond)
		x.True = guardExpr(x.True)
		x.False = guardExpr(x.False)
	case *syntax.DictEntry:
		x.Key = guardExpr(x.Key)
		x.Value = guardExpr(x.Value)
	case *syntax.DictExpr:
		guardExprs(x.List)
	case *syntax.DotExpr:
		x.X = guardExpr(x.X)
		if guardedMethods[x.Name.Name] {
			return call(x.Dot, "_gantry_attr", x.X, str(x.NamePos, x.Name.Name))
		}
	case *syntax.IndexExpr:
		x.X = guardExpr(x.X)
		x.Y = guardExpr(x.Y)
	case *syntax.LambdaExpr:
		guardExprs(x.Params)
		x.Body = guardExpr(x.Body)
	case *syntax.ListExpr:
		guardExprs(x.List)
	case *syntax.ParenExpr:
		x.X = guardExpr(x.X)
	case *syntax.SliceExpr:
		x.X = guardExpr(x.X)
		x.Lo = guardExpr(x.Lo)
		x.Hi = guardExpr(x.Hi)
		x.Step = guardExpr(x.Step)
	case *syntax.TupleExpr:
		guardExprs(x.List)
	case *syntax.UnaryExpr:
		x.X = guardExpr(x.X)
	}
	return e
}

// call builds the call fn(args...) at pos.
func call(pos syntax.Position, fn string, args ...syntax.Expr) syntax.Expr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: fn},
		Lparen: pos,
		Args:   args,
		Rparen: pos,
	}
}

// str builds a string literal at pos.
func str(pos syntax.Position, s string) syntax.Expr {
	return &syntax.Literal{Token: syntax.STRING, TokenPos: pos, Raw: `"` + s + `"`, Value: s}
}

// captureTrailingExpr turns a final top-level expression statement into an
// assignment to lastValue, so its value can be shown as a notebook shows it.
func captureTrailingExpr(f *syntax.File) bool {
	if len(f.Stmts) == 0 {
		return false
	}
	es, ok := f.Stmts[len(f.Stmts)-1].(*syntax.ExprStmt)
	if !ok {
		return false
	}
	start, _ := es.X.Span()
	f.Stmts[len(f.Stmts)-1] = &syntax.AssignStmt{
		OpPos: start,
		Op:    syntax.EQ,
		LHS:   &syntax.Ident{NamePos: start, Name: lastValue},
		RHS:   es.X,
	}
	return true
}
