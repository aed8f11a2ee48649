package sandbox

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The guarded operators guard.go rewrites code into. Each charges the size
// of its result (checkBinary) before Starlark computes it.

// internal makes a builtin that guarded code calls. Code can call it by
// name too, so it checks the shape of the call first: a misuse is an
// error, never a panic.
func internal(name string, minArgs, maxArgs int, strArgs []int, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ok := len(kwargs) == 0 && len(args) >= minArgs && (maxArgs < 0 || len(args) <= maxArgs)
		for _, i := range strArgs {
			if ok {
				_, ok = args[i].(starlark.String)
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s is internal to the sandbox: wrong arguments", name)
		}
		return fn(thread, b, args, kwargs)
	})
}

// builtinAdd is a + b (+ c ...): strings are concatenated at once.
func builtinAdd(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 2 {
		var n int64
		for _, a := range args {
			s, ok := a.(starlark.String)
			if !ok {
				n = -1
				break
			}
			n += int64(len(s))
		}
		if n >= 0 {
			if n > 64 {
				if err := charge(thread, n, "str concatenation"); err != nil {
					return nil, err
				}
			}
			var b strings.Builder
			b.Grow(int(n))
			for _, a := range args {
				b.WriteString(string(a.(starlark.String)))
			}
			return starlark.String(b.String()), nil
		}
	}
	acc := args[0]
	for _, y := range args[1:] {
		if err := checkBinary(thread, "+", acc, y); err != nil {
			return nil, err
		}
		z, err := starlark.Binary(syntax.PLUS, acc, y)
		if err != nil {
			return nil, err
		}
		acc = z
	}
	return acc, nil
}

func builtinMod(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if err := checkBinary(thread, "%", args[0], args[1]); err != nil {
		return nil, err
	}
	return starlark.Binary(syntax.PERCENT, args[0], args[1])
}

func builtinLsh(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if err := checkBinary(thread, "<<", args[0], args[1]); err != nil {
		return nil, err
	}
	return shiftLeft(args[0], args[1])
}

// shiftLeft is x << y. Starlark refuses shift counts from 512 on; Python
// has no such bound, so an integer shift within the sandbox's integer
// limit (checked first) is computed here.
func shiftLeft(x, y starlark.Value) (starlark.Value, error) {
	if xi, ok := x.(starlark.Int); ok {
		if yi, ok := y.(starlark.Int); ok {
			if n, ok := yi.Int64(); ok && n >= 512 && n <= maxIntBits {
				return starlark.MakeBigInt(new(big.Int).Lsh(xi.BigInt(), uint(n))), nil
			}
		}
	}
	return starlark.Binary(syntax.LTLT, x, y)
}

// builtinMul is `x * y` with a size check before a repetition allocates.
func builtinMul(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if err := checkBinary(thread, "*", args[0], args[1]); err != nil {
		return nil, err
	}
	return starlark.Binary(syntax.STAR, args[0], args[1])
}

// builtinChk implements _gantry_chk(x, op, y), the check of an augmented
// assignment `x op= y`: it charges x op y and returns y, for the native
// operation to apply.
func builtinChk(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	op := string(args[1].(starlark.String))
	if err := checkAug(thread, op, args[0], args[2]); err != nil {
		return nil, err
	}
	return args[2], nil
}

// checkAug checks `x op= y`: list += iterable extends the list in place.
func checkAug(thread *starlark.Thread, op string, x, y starlark.Value) error {
	if l, ok := x.(*starlark.List); ok && op == "+" {
		if n := seqLen(y); n > 0 {
			return charge(thread, mulSize(int64(l.Len())+n, slotBytes), "list +=")
		}
		return nil
	}
	return checkBinary(thread, op, x, y)
}

// checkBinary charges the result of `x op y` for the guarded operators.
func checkBinary(thread *starlark.Thread, op string, x, y starlark.Value) error {
	switch op {
	case "+":
		switch x := x.(type) {
		case starlark.Int:
			if y, ok := y.(starlark.Int); ok {
				if _, small := x.Int64(); small {
					if _, small := y.Int64(); small {
						return nil
					}
				}
				return checkIntBits(max(intBits(x), intBits(y))+1, "integer addition")
			}
		case starlark.String:
			if y, ok := y.(starlark.String); ok && len(x)+len(y) > 64 {
				return charge(thread, int64(len(x))+int64(len(y)), "str concatenation")
			}
		case starlark.Bytes:
			if y, ok := y.(starlark.Bytes); ok {
				return charge(thread, int64(len(x))+int64(len(y)), "bytes concatenation")
			}
		case *starlark.List:
			if y, ok := y.(*starlark.List); ok {
				return charge(thread, mulSize(int64(x.Len())+int64(y.Len()), slotBytes), "list concatenation")
			}
		case starlark.Tuple:
			if y, ok := y.(starlark.Tuple); ok {
				return charge(thread, mulSize(int64(len(x))+int64(len(y)), slotBytes), "tuple concatenation")
			}
		}
	case "*":
		return checkMul(thread, x, y)
	case "%":
		if f, ok := x.(starlark.String); ok {
			n, err := interpolateSize(thread, string(f), y)
			if err != nil {
				return err
			}
			return charge(thread, n, "% formatting")
		}
	case "<<":
		if xi, ok := x.(starlark.Int); ok {
			if yi, ok := y.(starlark.Int); ok && xi.Sign() != 0 {
				n, ok := yi.Int64()
				if !ok {
					n = math.MaxInt64 / 2
				}
				if n > 0 {
					return checkIntBits(addSize(intBits(xi), n), "left shift")
				}
			}
		}
	}
	return nil
}

// checkMul checks a repetition (sequence * int) or an integer product.
func checkMul(thread *starlark.Thread, x, y starlark.Value) error {
	if xi, ok := x.(starlark.Int); ok {
		if yi, ok := y.(starlark.Int); ok {
			_, xs := xi.Int64()
			_, ys := yi.Int64()
			if xs && ys {
				return nil
			}
			if xi.Sign() == 0 || yi.Sign() == 0 {
				return nil
			}
			return checkIntBits(intBits(xi)+intBits(yi), "integer multiplication")
		}
	}
	var seq starlark.Value
	var n starlark.Int
	if i, ok := y.(starlark.Int); ok {
		seq, n = x, i
	} else if i, ok := x.(starlark.Int); ok {
		seq, n = y, i
	}
	if seq == nil {
		return nil
	}
	var elems, size int64
	switch v := seq.(type) {
	case starlark.String:
		elems, size = int64(len(v)), 1
	case starlark.Bytes:
		elems, size = int64(len(v)), 1
	case *starlark.List:
		elems, size = int64(v.Len()), slotBytes
	case starlark.Tuple:
		elems, size = int64(len(v)), slotBytes
	default:
		return nil
	}
	times, ok := n.Int64()
	if !ok && elems > 0 && n.Sign() > 0 {
		return memoryError("repeat count too large")
	}
	if times <= 0 || elems == 0 {
		return nil
	}
	s := sessionOf(thread)
	total := mulSize(mulSize(elems, times), size)
	if s != nil && (times > s.opts.MaxMemory || total > s.opts.MaxMemory) {
		return memoryError(fmt.Sprintf("repeating a %s of length %d %d times exceeds the sandbox memory limit (%d MiB)", pyTypeName(seq), elems, times, s.opts.MaxMemory>>20))
	}
	if total < 4096 {
		return nil
	}
	return charge(thread, total, "repetition")
}

// interpolateSize bounds the size of `format % args`, as Starlark's
// interpolation renders it: the format's text plus each conversion's
// rendering. A key may be used many times: "%(a)s%(a)s" % {"a": s}.
func interpolateSize(thread *starlark.Thread, format string, args starlark.Value) (int64, error) {
	total := int64(len(format))
	if strings.IndexByte(format, '%') < 0 {
		return total, nil
	}
	r := newSizer(thread)
	keySizes := map[string]int64{}
	tuple, isTuple := args.(starlark.Tuple)
	mapping, _ := args.(starlark.Mapping)
	index := 0
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 || i+1 >= len(format) {
			return total, nil
		}
		if err := budgetOf(thread).tick(); err != nil {
			return 0, err
		}
		format = format[i+1:]
		if format[0] == '%' {
			format = format[1:]
			continue
		}
		var arg starlark.Value
		key := ""
		if format[0] == '(' {
			j := strings.IndexByte(format, ')')
			if j < 0 || mapping == nil {
				return total, nil // the interpolation reports the error
			}
			key = format[1:j]
			v, found, _ := mapping.Get(starlark.String(key))
			if !found {
				return total, nil
			}
			arg, format = v, format[j+1:]
		} else {
			switch {
			case isTuple && index < len(tuple):
				arg = tuple[index]
			case !isTuple && index == 0:
				arg = args
			default:
				return total, nil
			}
			index++
		}
		if format == "" {
			return total, nil
		}
		var n int64
		switch c := format[0]; c {
		case 's', 'r':
			if str, ok := arg.(starlark.String); ok && c == 's' {
				n = int64(len(str))
			} else if m, ok := keySizes[key]; ok && key != "" {
				n = m
			} else {
				n = r.size(arg)
				keySizes[key] = n
			}
		case 'd', 'i', 'o', 'x', 'X':
			if v, ok := arg.(starlark.Int); ok {
				n = intBits(v)/3 + 2
			} else {
				n = 32
			}
		case 'e', 'f', 'g', 'E', 'F', 'G':
			n = 330 // %f of 1e308
		default:
			n = 4
		}
		if r.err != nil {
			return 0, r.err
		}
		total = addSize(total, n)
		format = format[1:]
	}
}

// augRef is the target of an augmented assignment on an expression that
// must be evaluated once: obj[key] or obj.name.
type augRef struct {
	obj   starlark.Value
	key   starlark.Value // nil for an attribute
	name  string
	value starlark.Value // the target's value when it was read
}

func (r *augRef) String() string        { return "<augmented assignment>" }
func (r *augRef) Type() string          { return "augref" }
func (r *augRef) Freeze()               {}
func (r *augRef) Truth() starlark.Bool  { return true }
func (r *augRef) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: augref") }

// builtinAugLoad implements _gantry_augload(obj, key): it reads obj[key].
func builtinAugLoad(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	obj, key := args[0], args[1]
	v, err := getIndex(obj, key)
	if err != nil {
		return nil, err
	}
	return &augRef{obj: obj, key: key, value: v}, nil
}

// builtinAugAttr implements _gantry_augattr(obj, name): it reads obj.name.
func builtinAugAttr(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	name := string(args[1].(starlark.String))
	v, err := attr(args[0], name)
	if err != nil {
		return nil, err
	}
	return &augRef{obj: args[0], name: name, value: v}, nil
}

// builtinAugStore implements _gantry_augstore(ref, op, y): it computes
// `ref.value op y` (list += extends in place) and stores it in the target.
func builtinAugStore(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	r, ok := args[0].(*augRef)
	if !ok {
		return nil, fmt.Errorf("_gantry_augstore is internal to the sandbox: wrong arguments")
	}
	op := string(args[1].(starlark.String))
	y := args[2]
	if err := checkAug(thread, op, r.value, y); err != nil {
		return nil, err
	}
	var z starlark.Value
	if l, ok := r.value.(*starlark.List); ok && op == "+" {
		if it, ok := y.(starlark.Iterable); ok {
			ext, err := l.Attr("extend")
			if err != nil {
				return nil, err
			}
			if _, err := starlark.Call(thread, ext, starlark.Tuple{it}, nil); err != nil {
				return nil, fmt.Errorf("cannot apply += to %s", err)
			}
			z = l
		}
	}
	if z == nil {
		tok := map[string]syntax.Token{"+": syntax.PLUS, "*": syntax.STAR, "%": syntax.PERCENT, "<<": syntax.LTLT}[op]
		var err error
		if op == "<<" {
			z, err = shiftLeft(r.value, y)
		} else {
			z, err = starlark.Binary(tok, r.value, y)
		}
		if err != nil {
			return nil, err
		}
	}
	if r.key == nil {
		sf, ok := r.obj.(starlark.HasSetField)
		if !ok {
			return nil, fmt.Errorf("can't assign to .%s field of %s", r.name, r.obj.Type())
		}
		return starlark.None, sf.SetField(r.name, z)
	}
	return starlark.None, setIndex(r.obj, r.key, z)
}

// getIndex reads x[y] as Starlark's indexing does.
func getIndex(x, y starlark.Value) (starlark.Value, error) {
	switch x := x.(type) {
	case starlark.Mapping:
		v, found, err := x.Get(y)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("key %v not in %s", y, x.Type())
		}
		return v, nil
	case starlark.Indexable:
		i, err := index(y, x.Len())
		if err != nil {
			return nil, err
		}
		return x.Index(i), nil
	}
	return nil, fmt.Errorf("unhandled index operation %s[%s]", x.Type(), y.Type())
}

// setIndex stores x[y] = z as Starlark's assignment does.
func setIndex(x, y, z starlark.Value) error {
	switch x := x.(type) {
	case starlark.HasSetKey:
		return x.SetKey(y, z)
	case starlark.HasSetIndex:
		i, err := index(y, x.Len())
		if err != nil {
			return err
		}
		return x.SetIndex(i, z)
	}
	return fmt.Errorf("%s value does not support item assignment", x.Type())
}

func index(y starlark.Value, n int) (int, error) {
	i, err := starlark.AsInt32(y)
	if err != nil {
		return 0, fmt.Errorf("%s index: %s", "sequence", err)
	}
	orig := i
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return 0, fmt.Errorf("index %d out of range [%d:%d]", orig, -n, n-1)
	}
	return i, nil
}
