package sandbox

import (
	"go.starlark.net/syntax"
)

// guardOperators rewrites every `x * y` and `name *= y` in f into calls of
// the _mul builtin, which refuses a repetition whose result would exceed the
// memory limit before allocating it. Starlark evaluates `[0] * 10**9` in one
// step, so neither the step limit nor cancellation could stop it.
func guardOperators(f *syntax.File) {
	f.Stmts = guardStmts(f.Stmts)
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
		x.LHS = guardExpr(x.LHS)
		if id, ok := x.LHS.(*syntax.Ident); ok && x.Op == syntax.STAR_EQ {
			read := &syntax.Ident{NamePos: id.NamePos, Name: id.Name}
			x.Op = syntax.EQ
			x.RHS = mulCall(x.OpPos, read, x.RHS)
		}
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
		if x.Op == syntax.STAR {
			return mulCall(x.OpPos, x.X, x.Y)
		}
	case *syntax.CallExpr:
		x.Fn = guardExpr(x.Fn)
		guardExprs(x.Args)
	case *syntax.Comprehension:
		x.Body = guardExpr(x.Body)
		for _, c := range x.Clauses {
			switch cl := c.(type) {
			case *syntax.ForClause:
				cl.X = guardExpr(cl.X)
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

func mulCall(pos syntax.Position, x, y syntax.Expr) syntax.Expr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: "_mul"},
		Lparen: pos,
		Args:   []syntax.Expr{x, y},
		Rparen: pos,
	}
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
