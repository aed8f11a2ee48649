package sandbox

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/gantry-dev/gantry/tool"
)

// The Python builtins the sandbox adds to or puts in place of Starlark's:
// print, str, repr, format, isinstance, round, pow, divmod, getattr, int,
// bytes, fail, any, all, min, max, list, tuple, reversed, set, dict,
// enumerate, zip, map, filter, sum, sorted, and the _gantry_* helpers the
// translation from Python calls (arithmetic with size checks, imports,
// augmented assignment, sorting, formatting). Each charges the memory it
// builds before building it and polls the action's deadline in long
// loops. The modules code may import are in files of their own: tools.go
// (the registry's tools), timemod.go (time), remod.go (re),
// randommod.go (random), jsonmod.go (json); math is Starlark's.

// sessionOf returns the session running thread.
func sessionOf(thread *starlark.Thread) *Session {
	s, _ := thread.Local(threadSession).(*Session)
	return s
}

// builtins returns the initial globals: Python-compatible builtins, the
// provided modules and the registry's tools.
func (s *Session) builtins() (starlark.StringDict, error) {
	g := starlark.StringDict{
		"print":            starlark.NewBuiltin("print", builtinPrint),
		"str":              starlark.NewBuiltin("str", builtinStr),
		"repr":             starlark.NewBuiltin("repr", builtinRepr),
		"sum":              starlark.NewBuiltin("sum", builtinSum),
		"isinstance":       starlark.NewBuiltin("isinstance", builtinIsinstance),
		"round":            starlark.NewBuiltin("round", builtinRound),
		"pow":              starlark.NewBuiltin("pow", builtinPow),
		"divmod":           starlark.NewBuiltin("divmod", builtinDivmod),
		"map":              starlark.NewBuiltin("map", builtinMap),
		"filter":           starlark.NewBuiltin("filter", builtinFilter),
		"sorted":           starlark.NewBuiltin("sorted", builtinSorted),
		"getattr":          starlark.NewBuiltin("getattr", builtinGetattr),
		"int":              starlark.NewBuiltin("int", builtinIntConv),
		"bytes":            starlark.NewBuiltin("bytes", builtinBytes),
		"fail":             starlark.NewBuiltin("fail", builtinFail),
		"any":              builtinAnyAll("any"),
		"all":              builtinAnyAll("all"),
		"min":              builtinMinMax("min"),
		"max":              builtinMinMax("max"),
		"list":             sizedBuiltin("list", slotBytes, false),
		"tuple":            sizedBuiltin("tuple", slotBytes, false),
		"reversed":         sizedBuiltin("reversed", slotBytes, false),
		"set":              sizedBuiltin("set", entryBytes, false),
		"dict":             sizedBuiltin("dict", entryBytes, false),
		"enumerate":        sizedBuiltin("enumerate", slotBytes+pairBytes, false),
		"zip":              sizedBuiltin("zip", slotBytes+pairBytes/2, true),
		"_gantry_mul":      internal("_gantry_mul", 2, 2, nil, builtinMul),
		"_gantry_add":      internal("_gantry_add", 2, -1, nil, builtinAdd),
		"_gantry_mod":      internal("_gantry_mod", 2, 2, nil, builtinMod),
		"_gantry_lsh":      internal("_gantry_lsh", 2, 2, nil, builtinLsh),
		"_gantry_chk":      internal("_gantry_chk", 3, 3, []int{1}, builtinChk),
		"_gantry_iter":     internal("_gantry_iter", 2, 2, nil, builtinIter),
		"_gantry_attr":     internal("_gantry_attr", 2, 2, []int{1}, builtinAttr),
		"_gantry_augload":  internal("_gantry_augload", 2, 2, nil, builtinAugLoad),
		"_gantry_augattr":  internal("_gantry_augattr", 2, 2, []int{1}, builtinAugAttr),
		"_gantry_augstore": internal("_gantry_augstore", 3, 3, []int{1}, builtinAugStore),
		"_gantry_fmt":      starlark.NewBuiltin("format", builtinFmt),
		"format":           starlark.NewBuiltin("format", builtinFmt),
		"_gantry_sort":     starlark.NewBuiltin("sort", builtinSort),
		"_gantry_import":   starlark.NewBuiltin("import", builtinImport),
		"_gantry_concat":   starlark.NewBuiltin("list", builtinConcat),
	}
	for k, v := range scopeBuiltins() { // locals, globals, vars (scope.go)
		g[k] = v
	}
	s.mods = s.modules()
	for name, m := range s.mods {
		g[name] = m
	}
	if err := addTools(g, s.reg); err != nil {
		return nil, err
	}
	return g, nil
}

// modules returns the modules code may import.
func (s *Session) modules() map[string]*starlarkstruct.Module {
	return map[string]*starlarkstruct.Module{
		"math":   starmath.Module,
		"json":   jsonModule(),
		"time":   timeModule(),
		"re":     reModule(),
		"random": s.randomModule(),
	}
}

func builtinPrint(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sep, end := " ", "\n"
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		switch k {
		case "sep", "end":
			var v string
			switch x := kv[1].(type) {
			case starlark.String:
				v = string(x)
			case starlark.NoneType:
				v = map[string]string{"sep": " ", "end": "\n"}[k]
			default:
				return nil, fmt.Errorf("%s must be None or a string, not %s", k, pyTypeName(kv[1]))
			}
			if k == "sep" {
				sep = v
			} else {
				end = v
			}
		case "flush", "file":
		default:
			return nil, fmt.Errorf("'%s' is an invalid keyword argument for print()", k)
		}
	}
	// Measure everything first: a value that repeats structure is refused
	// before any of it is rendered.
	var r *reprWriter
	total := int64(len(end))
	for i, a := range args {
		if i > 0 {
			total += int64(len(sep))
		}
		if str, ok := a.(starlark.String); ok {
			total += int64(len(str))
			continue
		}
		if r == nil {
			r = newSizer(thread)
		}
		total += r.size(a)
		if r.err != nil {
			return nil, r.err
		}
	}
	if err := charge(thread, total, "print"); err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.Grow(int(total))
	w := &reprWriter{buf: &sb, limit: math.MaxInt64, budget: budgetOf(thread)}
	for i, a := range args {
		if i > 0 {
			sb.WriteString(sep)
		}
		if str, ok := a.(starlark.String); ok {
			sb.WriteString(string(str))
		} else {
			w.value(a, 0)
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	sb.WriteString(end)
	if a := actionOf(thread); a != nil && a.out != nil {
		a.out.WriteString(sb.String())
	}
	return starlark.None, nil
}

func builtinStr(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value = starlark.String("")
	if err := starlark.UnpackPositionalArgs("str", args, kwargs, 0, &x); err != nil {
		return nil, err
	}
	text, err := strOf(thread, x)
	if err != nil {
		return nil, err
	}
	return starlark.String(text), nil
}

func builtinRepr(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs("repr", args, kwargs, 1, &x); err != nil {
		return nil, err
	}
	text, err := reprOf(thread, x)
	if err != nil {
		return nil, err
	}
	return starlark.String(text), nil
}

func builtinFmt(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var spec, conv string
	if err := starlark.UnpackPositionalArgs("format", args, kwargs, 1, &x, &spec, &conv); err != nil {
		return nil, err
	}
	if s, ok := x.(starlark.String); ok && spec == "" && conv == "" {
		return s, nil
	}
	s, err := formatValue(thread, x, spec, conv)
	if err != nil {
		var pe *pyError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, valueError(err.Error())
	}
	return starlark.String(s), nil
}

func builtinIsinstance(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, class starlark.Value
	if err := starlark.UnpackPositionalArgs("isinstance", args, kwargs, 2, &x, &class); err != nil {
		return nil, err
	}
	classes := []starlark.Value{class}
	if t, ok := class.(starlark.Tuple); ok {
		classes = t
	}
	for _, c := range classes {
		fn, ok := c.(*starlark.Builtin)
		if !ok {
			return nil, fmt.Errorf("isinstance() arg 2 must be a type or tuple of types")
		}
		want := map[string]string{"str": "string", "int": "int", "float": "float", "bool": "bool", "list": "list", "dict": "dict", "tuple": "tuple", "set": "set"}[fn.Name()]
		if want == "" {
			return nil, fmt.Errorf("isinstance() arg 2 must be a type or tuple of types")
		}
		if x.Type() == want || (want == "int" && x.Type() == "bool") {
			return starlark.True, nil
		}
	}
	return starlark.False, nil
}

func builtinRound(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var nd starlark.Value = starlark.None
	if err := starlark.UnpackArgs("round", args, kwargs, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	f, ok := starlark.AsFloat(x)
	if !ok {
		return nil, fmt.Errorf("type %s doesn't define __round__ method", pyTypeName(x))
	}
	if nd == starlark.None {
		if i, isInt := x.(starlark.Int); isInt {
			return i, nil
		}
		return starlark.NumberToInt(starlark.Float(math.RoundToEven(f)))
	}
	n, err := starlark.AsInt32(nd)
	if err != nil {
		return nil, err
	}
	if _, isInt := x.(starlark.Int); isInt && n >= 0 {
		return x, nil
	}
	p := math.Pow(10, float64(n))
	return starlark.Float(math.RoundToEven(f*p) / p), nil
}

func builtinPow(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs("pow", args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	xi, xInt := x.(starlark.Int)
	yi, yInt := y.(starlark.Int)
	if xInt && yInt && yi.Sign() >= 0 {
		return intPow(xi, yi)
	}
	xf, ok1 := starlark.AsFloat(x)
	yf, ok2 := starlark.AsFloat(y)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unsupported operand type(s) for pow(): '%s' and '%s'", pyTypeName(x), pyTypeName(y))
	}
	return starlark.Float(math.Pow(xf, yf)), nil
}

// intPow computes x**e for e >= 0, refusing results above maxIntBits
// before computing them.
func intPow(x, e starlark.Int) (starlark.Value, error) {
	if v, ok := x.Int64(); ok && v >= -1 && v <= 1 {
		switch {
		case v == 0 && e.Sign() == 0, v == 1:
			return starlark.MakeInt(1), nil
		case v == 0:
			return starlark.MakeInt(0), nil
		}
		odd := e.BigInt().Bit(0) == 1
		if odd {
			return starlark.MakeInt(-1), nil
		}
		return starlark.MakeInt(1), nil
	}
	n, ok := e.Int64()
	if !ok {
		return nil, checkIntBits(math.MaxInt64, "pow")
	}
	// |x| >= 2 has at least bits(x)-1 significant bits after the first:
	// x**n has at least (bits(x)-1)*n+1 bits.
	if err := checkIntBits(addSize(mulSize(intBits(x)-1, n), 1), "pow"); err != nil {
		return nil, err
	}
	return starlark.MakeBigInt(new(big.Int).Exp(x.BigInt(), big.NewInt(n), nil)), nil
}

func builtinDivmod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs("divmod", args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	q, err := starlark.Binary(syntax.SLASHSLASH, x, y)
	if err != nil {
		return nil, err
	}
	r, err := starlark.Binary(syntax.PERCENT, x, y)
	if err != nil {
		return nil, err
	}
	return starlark.Tuple{q, r}, nil
}

func getAttr(v starlark.Value, name string) (starlark.Value, error) {
	if ha, ok := v.(starlark.HasAttrs); ok {
		if fn, err := ha.Attr(name); err == nil && fn != nil {
			return fn, nil
		}
	}
	return nil, fmt.Errorf("'%s' object has no attribute '%s'", pyTypeName(v), name)
}

// builtinImport implements the imports translate rewrites: _gantry_import(module)
// and _gantry_import(module, name).
func builtinImport(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mod, name string
	if err := starlark.UnpackPositionalArgs("import", args, kwargs, 1, &mod, &name); err != nil {
		return nil, err
	}
	s := sessionOf(thread)
	m, ok := s.mods[mod]
	if !ok {
		return nil, &pyError{typ: "ModuleNotFoundError", msg: fmt.Sprintf("No module named %s (this Starlark sandbox provides: %s)", tool.PyQuote(mod), strings.Join(s.modNames(), ", "))}
	}
	if name == "" {
		return m, nil
	}
	v, ok := m.Members[name]
	if !ok {
		return nil, &pyError{typ: "ImportError", msg: fmt.Sprintf("cannot import name %s from %s", tool.PyQuote(name), tool.PyQuote(mod))}
	}
	return v, nil
}

func (s *Session) modNames() []string {
	out := make([]string, 0, len(s.mods))
	for k := range s.mods {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pyError is an error with a Python exception type.
type pyError struct {
	typ, msg string
}

func (e *pyError) Error() string { return e.msg }

func memoryError(msg string) error { return &pyError{typ: "MemoryError", msg: msg} }
func valueError(msg string) error  { return &pyError{typ: "ValueError", msg: msg} }

// builtinBytes is bytes(x): an iterable of integers is charged a byte per
// element before it is converted, and converted polling the deadline.
func builtinBytes(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	inner := starlark.Universe["bytes"].(*starlark.Builtin)
	if len(args) != 1 || len(kwargs) > 0 {
		return inner.CallInternal(thread, args, kwargs)
	}
	switch args[0].(type) {
	case starlark.String, starlark.Bytes:
		return inner.CallInternal(thread, args, kwargs)
	}
	it, ok := args[0].(starlark.Iterable)
	if !ok {
		return inner.CallInternal(thread, args, kwargs)
	}
	if err := charge(thread, max(seqLen(args[0]), 0), "bytes()"); err != nil {
		return nil, err
	}
	bud := budgetOf(thread)
	var buf []byte
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		if err := bud.tick(); err != nil {
			return nil, err
		}
		n, err := starlark.AsInt32(x)
		if err != nil {
			return nil, &pyError{typ: "TypeError", msg: fmt.Sprintf("'%s' object cannot be interpreted as an integer", pyTypeName(x))}
		}
		if n < 0 || n > 255 {
			return nil, valueError("bytes must be in range(0, 256)")
		}
		buf = append(buf, byte(n))
		if len(buf)%pollEvery == 0 {
			if err := charge(thread, pollEvery, "bytes()"); err != nil {
				return nil, err
			}
		}
	}
	return starlark.Bytes(buf), nil
}

// builtinFail is Starlark's fail(*args, sep=" "): its message is rendered
// as str() renders, measured and charged first.
func builtinFail(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sep := " "
	if err := starlark.UnpackArgs("fail", nil, kwargs, "sep?", &sep); err != nil {
		return nil, err
	}
	parts := make([]string, len(args))
	for i, a := range args {
		text, err := strOf(thread, a)
		if err != nil {
			return nil, err
		}
		parts[i] = text
	}
	return nil, errors.New("fail: " + strings.Join(parts, sep))
}
