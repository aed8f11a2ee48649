package sandbox

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"time"

	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/gantry-dev/gantry/tool"
)

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

// addTools puts every tool of reg into g: plain names as builtins, dotted
// names as (nested) modules.
func addTools(g starlark.StringDict, reg *tool.Registry) error {
	for _, t := range reg.Tools() {
		parts := strings.Split(t.Name, ".")
		fn := toolBuiltin(t)
		if len(parts) == 1 {
			g[t.Name] = fn
			continue
		}
		top, _ := g[parts[0]].(*starlarkstruct.Module)
		if top == nil {
			if g[parts[0]] != nil {
				return fmt.Errorf("tool namespace %q shadows a builtin", parts[0])
			}
			top = &starlarkstruct.Module{Name: parts[0], Members: starlark.StringDict{}}
			g[parts[0]] = top
		}
		m := top
		for _, p := range parts[1 : len(parts)-1] {
			next, _ := m.Members[p].(*starlarkstruct.Module)
			if next == nil {
				next = &starlarkstruct.Module{Name: m.Name + "." + p, Members: starlark.StringDict{}}
				m.Members[p] = next
			}
			m = next
		}
		m.Members[parts[len(parts)-1]] = fn
	}
	return nil
}

// toolError is a tool's failure as Starlark sees it; it keeps the Go error.
type toolError struct {
	tool string
	err  error
}

func (e *toolError) Error() string { return e.err.Error() }
func (e *toolError) Unwrap() error { return e.err }

func toolBuiltin(t *tool.Tool) *starlark.Builtin {
	return starlark.NewBuiltin(t.Name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		// Measure the arguments before converting them: a cyclic value is
		// refused, a shared one charged for every copy it becomes.
		for _, a := range args {
			if err := chargeToGo(thread, a); err != nil {
				return nil, err
			}
		}
		for _, kv := range kwargs {
			if err := chargeToGo(thread, kv[1]); err != nil {
				return nil, err
			}
		}
		pos := make([]any, len(args))
		for i, a := range args {
			v, err := toGo(a)
			if err != nil {
				return nil, &toolError{tool: t.Name, err: &tool.ArgError{Tool: t.Name, Msg: fmt.Sprintf("argument %d: %v", i+1, err)}}
			}
			pos[i] = v
		}
		var named map[string]any
		if len(kwargs) > 0 {
			named = make(map[string]any, len(kwargs))
			for _, kv := range kwargs {
				k := string(kv[0].(starlark.String))
				v, err := toGo(kv[1])
				if err != nil {
					return nil, &toolError{tool: t.Name, err: &tool.ArgError{Tool: t.Name, Param: k, Msg: err.Error()}}
				}
				named[k] = v
			}
		}
		ctx := actionOf(thread).ctx
		out, err := t.Call(ctx, pos, named)
		if err != nil {
			return nil, &toolError{tool: t.Name, err: err}
		}
		return fromGo(out)
	})
}

// chargeToGo measures the Go form of a tool argument and charges it.
func chargeToGo(thread *starlark.Thread, v starlark.Value) error {
	switch v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict:
	default:
		return nil
	}
	m, err := jsonSize(thread, v)
	if err != nil {
		return err
	}
	return charge(thread, addSize(m.n, mulSize(m.nodes, 2*slotBytes)), "tool argument")
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

func timeModule() *starlarkstruct.Module {
	start := time.Now()
	return &starlarkstruct.Module{Name: "time", Members: starlark.StringDict{
		"time": starlark.NewBuiltin("time.time", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(float64(time.Now().UnixNano()) / 1e9), nil
		}),
		"monotonic": starlark.NewBuiltin("time.monotonic", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(time.Since(start).Seconds()), nil
		}),
		"perf_counter": starlark.NewBuiltin("time.perf_counter", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(time.Since(start).Seconds()), nil
		}),
		"sleep": starlark.NewBuiltin("time.sleep", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var secs starlark.Value
			if err := starlark.UnpackPositionalArgs("sleep", args, kwargs, 1, &secs); err != nil {
				return nil, err
			}
			d, err := sleepDuration(secs)
			if err != nil {
				return nil, err
			}
			ctx := actionOf(thread).ctx
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return starlark.None, nil
			case <-ctx.Done():
				if b := budgetOf(thread); b != nil {
					return nil, b.poll() // TimeoutError or KeyboardInterrupt
				}
				return nil, ctx.Err()
			}
		}),
	}}
}

// sleepDuration converts the argument of time.sleep as Python does: a
// number of seconds, refused when NaN, negative or beyond what a 64-bit
// count of nanoseconds holds (about 292 years), with Python's errors.
func sleepDuration(secs starlark.Value) (time.Duration, error) {
	f, ok := starlark.AsFloat(secs)
	if !ok {
		return 0, &pyError{typ: "TypeError", msg: fmt.Sprintf("'%s' object cannot be interpreted as an integer", pyTypeName(secs))}
	}
	switch ns := f * float64(time.Second); {
	case math.IsNaN(f):
		return 0, valueError("Invalid value NaN (not a number)")
	case f < 0:
		return 0, valueError("sleep length must be non-negative")
	case ns >= math.MaxInt64:
		return 0, &pyError{typ: "OverflowError", msg: "timestamp too large to convert to C _PyTime_t"}
	default:
		return time.Duration(ns), nil
	}
}

// matchValue is the result of a successful re match.
type matchValue struct {
	s    string
	locs []int
	re   *regexp.Regexp
}

func (m *matchValue) String() string {
	return fmt.Sprintf("<re.Match object; span=(%d, %d), match=%s>", m.locs[0], m.locs[1], tool.PyQuote(m.s[m.locs[0]:m.locs[1]]))
}
func (m *matchValue) Type() string          { return "re.Match" }
func (m *matchValue) Freeze()               {}
func (m *matchValue) Truth() starlark.Bool  { return true }
func (m *matchValue) Hash() (uint32, error) { return 0, errors.New("unhashable: re.Match") }
func (m *matchValue) AttrNames() []string   { return []string{"group", "groups", "start", "end", "span"} }

func (m *matchValue) group(i int) starlark.Value {
	if 2*i+1 >= len(m.locs) || m.locs[2*i] < 0 {
		return starlark.None
	}
	return starlark.String(m.s[m.locs[2*i]:m.locs[2*i+1]])
}

func (m *matchValue) index(v starlark.Value) (int, error) {
	if s, ok := v.(starlark.String); ok {
		i := m.re.SubexpIndex(string(s))
		if i < 0 {
			return 0, &pyError{typ: "IndexError", msg: "no such group"}
		}
		return i, nil
	}
	i, err := starlark.AsInt32(v)
	if err != nil || i < 0 || 2*i+1 >= len(m.locs) {
		return 0, &pyError{typ: "IndexError", msg: "no such group"}
	}
	return i, nil
}

func (m *matchValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "group":
		return starlark.NewBuiltin("group", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			if len(args) == 0 {
				return m.group(0), nil
			}
			var out starlark.Tuple
			for _, a := range args {
				i, err := m.index(a)
				if err != nil {
					return nil, err
				}
				out = append(out, m.group(i))
			}
			if len(out) == 1 {
				return out[0], nil
			}
			return out, nil
		}), nil
	case "groups":
		return starlark.NewBuiltin("groups", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			var out starlark.Tuple
			for i := 1; 2*i < len(m.locs); i++ {
				out = append(out, m.group(i))
			}
			return out, nil
		}), nil
	case "start", "end", "span":
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			i := 0
			if len(args) > 0 {
				var err error
				if i, err = m.index(args[0]); err != nil {
					return nil, err
				}
			}
			st, en := starlark.MakeInt(m.locs[2*i]), starlark.MakeInt(m.locs[2*i+1])
			switch name {
			case "start":
				return st, nil
			case "end":
				return en, nil
			}
			return starlark.Tuple{st, en}, nil
		}), nil
	}
	return nil, nil
}

// rng is the session's deterministic random source.
type rng struct{ r *rand.Rand }

func newRNG(seed int64) *rng {
	return &rng{r: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

func (s *Session) randomModule() *starlarkstruct.Module {
	r := s.rng
	seqArg := func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Indexable, error) {
		var seq starlark.Indexable
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &seq); err != nil {
			return nil, err
		}
		return seq, nil
	}
	return &starlarkstruct.Module{Name: "random", Members: starlark.StringDict{
		"seed": starlark.NewBuiltin("random.seed", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var n int64
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &n); err != nil {
				return nil, err
			}
			r.r = newRNG(n).r
			return starlark.None, nil
		}),
		"random": starlark.NewBuiltin("random.random", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(r.r.Float64()), nil
		}),
		"uniform": starlark.NewBuiltin("random.uniform", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var lo, hi float64
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
				return nil, err
			}
			return starlark.Float(lo + (hi-lo)*r.r.Float64()), nil
		}),
		"randint": starlark.NewBuiltin("random.randint", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var lo, hi int64
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, valueError(fmt.Sprintf("empty range in randint(%d, %d)", lo, hi))
			}
			// hi-lo+1 overflows int64 for the widest ranges: draw in
			// uint64 (the same stream as Int64N where both apply).
			span := uint64(hi) - uint64(lo)
			if span == math.MaxUint64 {
				return starlark.MakeInt64(int64(r.r.Uint64())), nil
			}
			return starlark.MakeInt64(lo + int64(r.r.Uint64N(span+1))), nil
		}),
		"choice": starlark.NewBuiltin("random.choice", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			seq, err := seqArg(b, args, kwargs)
			if err != nil {
				return nil, err
			}
			if seq.Len() == 0 {
				return nil, &pyError{typ: "IndexError", msg: "Cannot choose from an empty sequence"}
			}
			return seq.Index(r.r.IntN(seq.Len())), nil
		}),
		"shuffle": starlark.NewBuiltin("random.shuffle", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var l *starlark.List
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
				return nil, err
			}
			bud := budgetOf(thread)
			for i := l.Len() - 1; i > 0; i-- {
				if err := bud.tick(); err != nil {
					return nil, err
				}
				j := r.r.IntN(i + 1)
				a, c := l.Index(i), l.Index(j)
				if err := l.SetIndex(i, c); err != nil {
					return nil, err
				}
				if err := l.SetIndex(j, a); err != nil {
					return nil, err
				}
			}
			return starlark.None, nil
		}),
		"sample": starlark.NewBuiltin("random.sample", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var seq starlark.Indexable
			var k int
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &seq, &k); err != nil {
				return nil, err
			}
			return r.sample(thread, seq, k)
		}),
	}}
}

// permBytes is the population size up to which random.sample draws from a
// permutation of the whole population (the session's random stream as it
// always was); above it, sample draws k distinct indices, in memory
// proportional to k.
const permBytes = 8 << 20

// sample is random.sample(seq, k): the result and the work memory are
// charged before they are allocated, and the deadline is polled.
func (r *rng) sample(thread *starlark.Thread, seq starlark.Indexable, k int) (starlark.Value, error) {
	n := seq.Len()
	if k < 0 || k > n {
		return nil, valueError("Sample larger than population or is negative")
	}
	bud := budgetOf(thread)
	out := int64(k) * slotBytes
	if int64(n)*8 <= permBytes {
		if err := charge(thread, addSize(out, int64(n)*8), "random.sample()"); err != nil {
			return nil, err
		}
		idx := r.r.Perm(n)[:k]
		vals := make([]starlark.Value, k)
		for i, j := range idx {
			vals[i] = seq.Index(j)
		}
		return starlark.NewList(vals), nil
	}
	if err := charge(thread, addSize(out, int64(k)*entryBytes), "random.sample()"); err != nil {
		return nil, err
	}
	seen := make(map[int]struct{}, k)
	vals := make([]starlark.Value, 0, k)
	for len(vals) < k {
		if err := bud.tick(); err != nil {
			return nil, err
		}
		j := r.r.IntN(n)
		if _, dup := seen[j]; dup {
			continue
		}
		seen[j] = struct{}{}
		vals = append(vals, seq.Index(j))
	}
	return starlark.NewList(vals), nil
}

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
