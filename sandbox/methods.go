package sandbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// builtinAttr implements _gantry_attr(x, name), the rewrite of x.name for the
// names of guardedMethods: the method comes back wrapped in its charge.
func builtinAttr(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	return guardedAttr(args[0], string(args[1].(starlark.String)))
}

// builtinGetattr is getattr(x, name[, default]) with guarded methods.
func builtinGetattr(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, def starlark.Value
	var name string
	if err := starlark.UnpackPositionalArgs("getattr", args, kwargs, 2, &x, &name, &def); err != nil {
		return nil, err
	}
	v, err := guardedAttr(x, name)
	if err != nil {
		if def != nil {
			return def, nil
		}
		return nil, err
	}
	return v, nil
}

// guardedAttr returns x.name; a method that allocates in proportion to its
// inputs comes back wrapped in a builtin that charges the budget first.
func guardedAttr(x starlark.Value, name string) (starlark.Value, error) {
	v, err := attr(x, name)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*starlark.Builtin)
	if !ok || m.Receiver() == nil {
		return v, nil
	}
	g := methodGuard(x, name)
	if g == nil {
		return v, nil
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		n, err := g(thread, args, kwargs)
		if err != nil {
			return nil, err
		}
		if err := charge(thread, n, pyTypeName(x)+"."+name+"()"); err != nil {
			return nil, err
		}
		return m.CallInternal(thread, args, kwargs)
	}).BindReceiver(x), nil
}

// attr returns x.name; its error is the one Starlark's x.name gives
// (with its spelling hint), computed by evaluating x.name on the failure
// path only.
func attr(x starlark.Value, name string) (starlark.Value, error) {
	if ha, ok := x.(starlark.HasAttrs); ok {
		if v, err := ha.Attr(name); err == nil && v != nil {
			return v, nil
		}
	}
	_, err := starlark.EvalOptions(&syntax.FileOptions{}, &starlark.Thread{Name: "attr"}, "attr", "x."+name, starlark.StringDict{"x": x})
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		return nil, errors.New(ee.Msg)
	}
	if err == nil {
		err = fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}
	return nil, err
}

// A sizeGuard returns the bytes a method call is about to allocate. It is
// lenient: arguments the method will reject count for nothing, and the
// method reports the error.
type sizeGuard func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error)

// methodGuard returns the guard of x.name, or nil.
func methodGuard(x starlark.Value, name string) sizeGuard {
	switch x := x.(type) {
	case starlark.String:
		s := string(x)
		switch name {
		case "join":
			return func(thread *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
				if len(args) != 1 {
					return 0, nil
				}
				return joinSize(thread, s, args[0])
			}
		case "replace":
			return func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
				return replaceSize(s, args), nil
			}
		case "format":
			return func(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
				return formatSize(thread, s, args, kwargs)
			}
		case "split", "rsplit":
			return func(_ *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
				return splitSize(s, args, kwargs), nil
			}
		case "splitlines":
			return func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (int64, error) {
				n := int64(strings.Count(s, "\n") + strings.Count(s, "\r") + 1)
				return mulSize(n, 2*slotBytes), nil
			}
		case "lower", "upper", "title", "capitalize":
			return func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (int64, error) {
				return int64(len(s)) * 3 / 2, nil
			}
		}
	case *starlark.List:
		if name == "extend" {
			return func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
				if len(args) != 1 {
					return 0, nil
				}
				return mulSize(max(seqLen(args[0]), 0), slotBytes), nil
			}
		}
	case *starlark.Dict:
		switch name {
		case "update":
			return func(_ *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
				n := int64(len(kwargs))
				for _, a := range args {
					n += max(seqLen(a), 0)
				}
				return mulSize(n, entryBytes), nil
			}
		case "items":
			return func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (int64, error) {
				return mulSize(int64(x.Len()), slotBytes+pairBytes), nil
			}
		case "keys", "values":
			return func(*starlark.Thread, starlark.Tuple, []starlark.Tuple) (int64, error) {
				return mulSize(int64(x.Len()), slotBytes), nil
			}
		}
	case *starlark.Set:
		switch name {
		case "union", "update", "symmetric_difference", "difference", "intersection":
			return func(_ *starlark.Thread, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
				n := int64(x.Len())
				for _, a := range args {
					n += max(seqLen(a), 0)
				}
				return mulSize(n, entryBytes), nil
			}
		}
	}
	return nil
}

// joinSize measures sep.join(iterable), polling the action as it goes.
func joinSize(thread *starlark.Thread, sep string, iterable starlark.Value) (int64, error) {
	it, ok := iterable.(starlark.Iterable)
	if !ok {
		return 0, nil
	}
	b := budgetOf(thread)
	iter := it.Iterate()
	defer iter.Done()
	var total, n int64
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := x.(starlark.String)
		if !ok {
			return 0, nil // join reports the error
		}
		total = addSize(total, int64(len(s)))
		n++
		if b != nil {
			if err := b.tick(); err != nil {
				return 0, err
			}
			if total > 16*b.limit {
				return total, nil // enough to refuse
			}
		}
	}
	if n > 1 {
		total = addSize(total, mulSize(n-1, int64(len(sep))))
	}
	return total, nil
}

// replaceSize measures s.replace(old, new[, count]).
func replaceSize(s string, args starlark.Tuple) int64 {
	if len(args) < 2 {
		return 0
	}
	old, ok1 := args[0].(starlark.String)
	repl, ok2 := args[1].(starlark.String)
	if !ok1 || !ok2 || len(repl) <= len(old) {
		return int64(len(s))
	}
	var n int64
	if old == "" {
		n = int64(utf8.RuneCountInString(s)) + 1
	} else {
		n = int64(strings.Count(s, string(old)))
	}
	if len(args) > 2 {
		if c, err := starlark.AsInt32(args[2]); err == nil && c >= 0 {
			n = min(n, int64(c))
		}
	}
	return addSize(int64(len(s)), mulSize(n, int64(len(repl)-len(old))))
}

// splitSize measures s.split(sep, maxsplit): a list of strings sharing s's
// bytes, each a list slot and a boxed string header.
func splitSize(s string, args starlark.Tuple, kwargs []starlark.Tuple) int64 {
	var sep starlark.Value = starlark.None
	maxsplit := int64(-1)
	if len(args) > 0 {
		sep = args[0]
	}
	if len(args) > 1 {
		if m, err := starlark.AsInt32(args[1]); err == nil {
			maxsplit = int64(m)
		}
	}
	for _, kv := range kwargs {
		switch kv[0].(starlark.String) {
		case "sep":
			sep = kv[1]
		case "maxsplit":
			if m, err := starlark.AsInt32(kv[1]); err == nil {
				maxsplit = int64(m)
			}
		}
	}
	var n int64
	switch sep := sep.(type) {
	case starlark.String:
		if sep == "" {
			return 0
		}
		n = int64(strings.Count(s, string(sep))) + 1
	default:
		space := true
		for _, r := range s {
			if unicode.IsSpace(r) {
				space = true
			} else if space {
				space = false
				n++
			}
		}
	}
	if maxsplit >= 0 {
		n = min(n, maxsplit+1)
	}
	return mulSize(n, 2*slotBytes)
}

// formatSize bounds s.format(*args, **kwargs): the template's text plus,
// for each replacement field, the rendering of the argument it names (an
// element or attribute of an argument renders no larger than the
// argument).
func formatSize(thread *starlark.Thread, s string, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
	total := int64(len(s))
	if strings.IndexByte(s, '{') < 0 {
		return total, nil
	}
	r := newSizer(thread)
	sizes := map[string]int64{}
	measure := func(key string, v starlark.Value) int64 {
		if n, ok := sizes[key]; ok {
			return n
		}
		n := r.size(v)
		sizes[key] = n
		return n
	}
	auto := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '{' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			break
		}
		field := s[i+1 : i+end]
		i += end
		name := field
		if j := strings.IndexAny(name, "!:.["); j >= 0 {
			name = name[:j]
		}
		var n int64
		switch {
		case name == "":
			if auto < len(args) {
				n = measure(strconv.Itoa(auto), args[auto])
			}
			auto++
		case name[0] >= '0' && name[0] <= '9':
			if k, err := strconv.Atoi(name); err == nil && k < len(args) {
				n = measure(strconv.Itoa(k), args[k])
			}
		default:
			for _, kv := range kwargs {
				if string(kv[0].(starlark.String)) == name {
					n = measure("k:"+name, kv[1])
				}
			}
		}
		if r.err != nil {
			return 0, r.err
		}
		total = addSize(total, n)
		if b := budgetOf(thread); b != nil {
			if err := b.tick(); err != nil {
				return 0, err
			}
			if total > 16*b.limit {
				return total, nil // enough to refuse
			}
		}
	}
	return total, nil
}
