package sandbox

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.starlark.net/lib/json"
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
		"print":      starlark.NewBuiltin("print", builtinPrint),
		"str":        starlark.NewBuiltin("str", builtinStr),
		"repr":       starlark.NewBuiltin("repr", builtinRepr),
		"sum":        starlark.NewBuiltin("sum", builtinSum),
		"isinstance": starlark.NewBuiltin("isinstance", builtinIsinstance),
		"round":      starlark.NewBuiltin("round", builtinRound),
		"pow":        starlark.NewBuiltin("pow", builtinPow),
		"divmod":     starlark.NewBuiltin("divmod", builtinDivmod),
		"map":        starlark.NewBuiltin("map", builtinMap),
		"filter":     starlark.NewBuiltin("filter", builtinFilter),
		"list":       starlark.NewBuiltin("list", builtinList),
		"sorted":     starlark.NewBuiltin("sorted", builtinSorted),
		"_mul":       starlark.NewBuiltin("_mul", builtinMul),
		"_fmt":       starlark.NewBuiltin("format", builtinFmt),
		"format":     starlark.NewBuiltin("format", builtinFmt),
		"_sort":      starlark.NewBuiltin("sort", builtinSort),
		"_import":    starlark.NewBuiltin("import", builtinImport),
		"_concat":    starlark.NewBuiltin("list", builtinConcat),
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
		"json":   json.Module,
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
		ctx := sessionOf(thread).ctx
		out, err := t.Call(ctx, pos, named)
		if err != nil {
			return nil, &toolError{tool: t.Name, err: err}
		}
		return fromGo(out)
	})
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
	var sb strings.Builder
	for i, a := range args {
		if i > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(pyStr(a))
	}
	sb.WriteString(end)
	if s := sessionOf(thread); s != nil && s.out != nil {
		s.out.WriteString(sb.String())
	}
	return starlark.None, nil
}

func builtinStr(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value = starlark.String("")
	if err := starlark.UnpackPositionalArgs("str", args, kwargs, 0, &x); err != nil {
		return nil, err
	}
	return starlark.String(pyStr(x)), nil
}

func builtinRepr(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs("repr", args, kwargs, 1, &x); err != nil {
		return nil, err
	}
	return starlark.String(pyRepr(x)), nil
}

func builtinFmt(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var spec, conv string
	if err := starlark.UnpackPositionalArgs("format", args, kwargs, 1, &x, &spec, &conv); err != nil {
		return nil, err
	}
	s, err := formatValue(x, spec, conv)
	if err != nil {
		return nil, valueError(err.Error())
	}
	return starlark.String(s), nil
}

func builtinSum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var iterable starlark.Iterable
	var acc starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs("sum", args, kwargs, "iterable", &iterable, "start?", &acc); err != nil {
		return nil, err
	}
	iter := iterable.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		v, err := starlark.Binary(syntax.PLUS, acc, x)
		if err != nil {
			return nil, err
		}
		acc = v
	}
	return acc, nil
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
		e, ok := yi.Int64()
		if !ok || e > 10000 {
			return nil, memoryError("pow: exponent too large")
		}
		r := starlark.MakeInt(1)
		for i := int64(0); i < e; i++ {
			r = r.Mul(xi)
		}
		return r, nil
	}
	xf, ok1 := starlark.AsFloat(x)
	yf, ok2 := starlark.AsFloat(y)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unsupported operand type(s) for pow(): '%s' and '%s'", pyTypeName(x), pyTypeName(y))
	}
	return starlark.Float(math.Pow(xf, yf)), nil
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

func builtinMap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) < 2 || len(kwargs) > 0 {
		return nil, fmt.Errorf("map() must have at least two arguments")
	}
	fn, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("'%s' object is not callable", pyTypeName(args[0]))
	}
	iters := make([]starlark.Iterator, len(args)-1)
	for i, a := range args[1:] {
		it, ok := a.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("'%s' object is not iterable", pyTypeName(a))
		}
		iters[i] = it.Iterate()
		defer iters[i].Done()
	}
	var out []starlark.Value
	for {
		call := make(starlark.Tuple, len(iters))
		for i, it := range iters {
			if !it.Next(&call[i]) {
				return starlark.NewList(out), nil
			}
		}
		v, err := starlark.Call(thread, fn, call, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

func builtinFilter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Value
	var iterable starlark.Iterable
	if err := starlark.UnpackPositionalArgs("filter", args, kwargs, 2, &fn, &iterable); err != nil {
		return nil, err
	}
	iter := iterable.Iterate()
	defer iter.Done()
	var out []starlark.Value
	var x starlark.Value
	for iter.Next(&x) {
		keep := x.Truth()
		if fn != starlark.None {
			v, err := starlark.Call(thread, fn, starlark.Tuple{x}, nil)
			if err != nil {
				return nil, err
			}
			keep = v.Truth()
		}
		if keep {
			out = append(out, x)
		}
	}
	return starlark.NewList(out), nil
}

// checkLen refuses to materialise a sequence longer than the memory limit
// allows (16 bytes per element).
func checkLen(thread *starlark.Thread, v starlark.Value) error {
	s := sessionOf(thread)
	if s == nil {
		return nil
	}
	if seq, ok := v.(starlark.Sequence); ok {
		if int64(seq.Len())*16 > s.opts.MaxMemory {
			return memoryError(fmt.Sprintf("a list of %d elements exceeds the sandbox memory limit (%d MiB)", seq.Len(), s.opts.MaxMemory>>20))
		}
	}
	return nil
}

func builtinList(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 1 {
		if err := checkLen(thread, args[0]); err != nil {
			return nil, err
		}
	}
	return starlark.Call(thread, starlark.Universe["list"], args, kwargs)
}

func builtinSorted(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) >= 1 {
		if err := checkLen(thread, args[0]); err != nil {
			return nil, err
		}
	}
	return starlark.Call(thread, starlark.Universe["sorted"], args, kwargs)
}

// builtinConcat builds the list [*a, *b, ...] from iterables.
func builtinConcat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var out []starlark.Value
	for _, a := range args {
		if err := checkLen(thread, a); err != nil {
			return nil, err
		}
		it, ok := a.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("Value after * must be an iterable, not %s", pyTypeName(a))
		}
		iter := it.Iterate()
		var x starlark.Value
		for iter.Next(&x) {
			out = append(out, x)
		}
		iter.Done()
	}
	return starlark.NewList(out), nil
}

// builtinSort implements list.sort(key=None, reverse=False) in place.
func builtinSort(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("sort() takes no positional arguments")
	}
	l, ok := args[0].(*starlark.List)
	if !ok {
		// Not a list: call the value's own sort method, if it has one.
		fn, err := getAttr(args[0], "sort")
		if err != nil {
			return nil, err
		}
		return starlark.Call(thread, fn, nil, kwargs)
	}
	sortedList, err := starlark.Call(thread, starlark.Universe["sorted"], starlark.Tuple{l}, kwargs)
	if err != nil {
		return nil, err
	}
	sl := sortedList.(*starlark.List)
	for i := 0; i < sl.Len(); i++ {
		if err := l.SetIndex(i, sl.Index(i)); err != nil {
			return nil, err
		}
	}
	return starlark.None, nil
}

func getAttr(v starlark.Value, name string) (starlark.Value, error) {
	if ha, ok := v.(starlark.HasAttrs); ok {
		if fn, err := ha.Attr(name); err == nil && fn != nil {
			return fn, nil
		}
	}
	return nil, fmt.Errorf("'%s' object has no attribute '%s'", pyTypeName(v), name)
}

// builtinMul is `x * y` with a size check before a repetition allocates.
func builtinMul(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	var seq starlark.Value
	var n starlark.Int
	if i, ok := y.(starlark.Int); ok {
		seq, n = x, i
	} else if i, ok := x.(starlark.Int); ok {
		seq, n = y, i
	}
	if seq != nil {
		var elems, size int64
		switch v := seq.(type) {
		case starlark.String:
			elems, size = int64(len(v)), 1
		case starlark.Bytes:
			elems, size = int64(len(v)), 1
		case *starlark.List:
			elems, size = int64(v.Len()), 16
		case starlark.Tuple:
			elems, size = int64(len(v)), 16
		}
		if times, ok := n.Int64(); ok && times > 0 && elems > 0 {
			s := sessionOf(thread)
			if s != nil && (times > s.opts.MaxMemory || elems*times*size > s.opts.MaxMemory) {
				return nil, memoryError(fmt.Sprintf("repeating a %s of length %d %d times exceeds the sandbox memory limit (%d MiB)", pyTypeName(seq), elems, times, s.opts.MaxMemory>>20))
			}
		} else if !ok && elems > 0 {
			return nil, memoryError("repeat count too large")
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
}

// builtinImport implements the imports translate rewrites: _import(module)
// and _import(module, name).
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
			f, ok := starlark.AsFloat(secs)
			if !ok || f < 0 {
				return nil, valueError("sleep length must be a non-negative number")
			}
			s := sessionOf(thread)
			t := time.NewTimer(time.Duration(f * float64(time.Second)))
			defer t.Stop()
			select {
			case <-t.C:
				return starlark.None, nil
			case <-s.ctx.Done():
				return nil, s.ctx.Err()
			}
		}),
	}}
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

func reModule() *starlarkstruct.Module {
	compile := func(pattern string, flags int) (*regexp.Regexp, error) {
		prefix := ""
		if flags&2 != 0 {
			prefix += "i"
		}
		if flags&8 != 0 {
			prefix += "m"
		}
		if flags&16 != 0 {
			prefix += "s"
		}
		if prefix != "" {
			pattern = "(?" + prefix + ")" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, &pyError{typ: "re.error", msg: err.Error()}
		}
		return re, nil
	}
	matcher := func(name string, mode int) *starlark.Builtin {
		return starlark.NewBuiltin("re."+name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			flags := 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "flags?", &flags); err != nil {
				return nil, err
			}
			switch mode {
			case 1:
				pattern = `\A(?:` + pattern + `)`
			case 2:
				pattern = `\A(?:` + pattern + `)\z`
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			locs := re.FindStringSubmatchIndex(s)
			if locs == nil {
				return starlark.None, nil
			}
			return &matchValue{s: s, locs: locs, re: re}, nil
		})
	}
	return &starlarkstruct.Module{Name: "re", Members: starlark.StringDict{
		"IGNORECASE": starlark.MakeInt(2), "I": starlark.MakeInt(2),
		"MULTILINE": starlark.MakeInt(8), "M": starlark.MakeInt(8),
		"DOTALL": starlark.MakeInt(16), "S": starlark.MakeInt(16),
		"search":    matcher("search", 0),
		"match":     matcher("match", 1),
		"fullmatch": matcher("fullmatch", 2),
		"findall": starlark.NewBuiltin("re.findall", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			flags := 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			var out []starlark.Value
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				switch len(m) {
				case 1:
					out = append(out, starlark.String(m[0]))
				case 2:
					out = append(out, starlark.String(m[1]))
				default:
					t := make(starlark.Tuple, len(m)-1)
					for i, g := range m[1:] {
						t[i] = starlark.String(g)
					}
					out = append(out, t)
				}
			}
			return starlark.NewList(out), nil
		}),
		"sub": starlark.NewBuiltin("re.sub", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, repl, s string
			count, flags := 0, 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "repl", &repl, "string", &s, "count?", &count, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			// Python writes groups as \1; Go as ${1}.
			goRepl := regexp.MustCompile(`\\(\d+)`).ReplaceAllString(strings.ReplaceAll(repl, "$", "$$"), "$${$1}")
			if count <= 0 {
				return starlark.String(re.ReplaceAllString(s, goRepl)), nil
			}
			n := 0
			return starlark.String(re.ReplaceAllStringFunc(s, func(m string) string {
				if n >= count {
					return m
				}
				n++
				return re.ReplaceAllString(m, goRepl)
			})), nil
		}),
		"split": starlark.NewBuiltin("re.split", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			maxsplit, flags := 0, 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "maxsplit?", &maxsplit, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			n := -1
			if maxsplit > 0 {
				n = maxsplit + 1
			}
			var out []starlark.Value
			for _, p := range re.Split(s, n) {
				out = append(out, starlark.String(p))
			}
			return starlark.NewList(out), nil
		}),
		"escape": starlark.NewBuiltin("re.escape", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var s string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
				return nil, err
			}
			return starlark.String(regexp.QuoteMeta(s)), nil
		}),
	}}
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
			return starlark.MakeInt64(lo + r.r.Int64N(hi-lo+1)), nil
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
		"shuffle": starlark.NewBuiltin("random.shuffle", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var l *starlark.List
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
				return nil, err
			}
			for i := l.Len() - 1; i > 0; i-- {
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
		"sample": starlark.NewBuiltin("random.sample", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var seq starlark.Indexable
			var k int
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &seq, &k); err != nil {
				return nil, err
			}
			if k < 0 || k > seq.Len() {
				return nil, valueError("Sample larger than population or is negative")
			}
			idx := r.r.Perm(seq.Len())[:k]
			out := make([]starlark.Value, k)
			for i, j := range idx {
				out[i] = seq.Index(j)
			}
			return starlark.NewList(out), nil
		}),
	}}
}
