package m3tooleval

import (
	"math"
	"math/big"
	"strconv"
)

// callBuiltin calls one of the Python builtins the calculator knows.
func callBuiltin(name string, args []Value, kwargs map[string]Value) (Value, error) {
	noKw := func() error {
		if len(kwargs) > 0 {
			return calcErr("%s() takes no keyword arguments", name)
		}
		return nil
	}
	nargs := func(lo, hi int) error {
		if len(args) < lo || len(args) > hi {
			return calcErr("%s() takes from %d to %d arguments (%d given)", name, lo, hi, len(args))
		}
		return nil
	}
	switch name {
	case "abs":
		if err := firstErr(noKw(), nargs(1, 1)); err != nil {
			return nil, err
		}
		return absValue(args[0])
	case "int":
		if err := firstErr(noKw(), nargs(0, 1)); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return MakeInt(0), nil
		}
		if _, ok := args[0].(Complex); ok {
			return nil, calcErr("int() argument must be a string or a real number")
		}
		v, err := PyInt(args[0])
		if err != nil {
			return nil, calcErr("int(): %v", err)
		}
		return v, nil
	case "float":
		if err := firstErr(noKw(), nargs(0, 1)); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return Float(0), nil
		}
		v, err := PyFloat(args[0])
		if err != nil {
			return nil, calcErr("float(): %v", err)
		}
		return v, nil
	case "pow":
		if err := firstErr(noKw(), nargs(2, 2)); err != nil {
			return nil, err
		}
		return powOp(args[0], args[1])
	case "divmod":
		if err := firstErr(noKw(), nargs(2, 2)); err != nil {
			return nil, err
		}
		q, err := binaryOp("//", args[0], args[1])
		if err != nil {
			return nil, err
		}
		r, err := binaryOp("%", args[0], args[1])
		if err != nil {
			return nil, err
		}
		return Tuple{q, r}, nil
	case "round":
		nd, hasNd := kwargs["ndigits"]
		if len(kwargs) > 1 || len(kwargs) == 1 && !hasNd {
			return nil, calcErr("round() got an unexpected keyword argument")
		}
		if hasNd {
			args = append(args, nd)
		}
		if err := nargs(1, 2); err != nil {
			return nil, err
		}
		if len(args) == 1 || args[1] == (NoneValue{}) {
			return roundToInt(args[0])
		}
		return roundDigits(args[0], args[1])
	case "sum":
		start := Value(MakeInt(0))
		if s, ok := kwargs["start"]; ok {
			start = s
			if len(kwargs) > 1 {
				return nil, calcErr("sum() got an unexpected keyword argument")
			}
		} else if len(kwargs) > 0 {
			return nil, calcErr("sum() got an unexpected keyword argument")
		}
		if len(args) == 2 && len(kwargs) == 0 {
			start = args[1]
			args = args[:1]
		}
		if len(args) != 1 {
			return nil, calcErr("sum() takes at least 1 positional argument")
		}
		items, ok := iterItems(args[0])
		if !ok {
			return nil, calcErr("'%s' object is not iterable", TypeName(args[0]))
		}
		if _, isStr := start.(Str); isStr {
			return nil, calcErr("sum() can't sum strings [use ''.join(seq) instead]")
		}
		acc := start
		for _, it := range items {
			var err error
			acc, err = binaryOp("+", acc, it)
			if err != nil {
				return nil, err
			}
		}
		return acc, nil
	case "max", "min":
		var deflt Value
		for k, v := range kwargs {
			if k != "default" {
				return nil, calcErr("%s() got an unexpected keyword argument '%s'", name, k)
			}
			deflt = v
		}
		items := args
		if len(args) == 1 {
			var ok bool
			items, ok = iterItems(args[0])
			if !ok {
				return nil, calcErr("'%s' object is not iterable", TypeName(args[0]))
			}
		} else if deflt != nil {
			return nil, calcErr("Cannot specify a default for %s() with multiple positional arguments", name)
		}
		if len(items) == 0 {
			if deflt != nil {
				return deflt, nil
			}
			return nil, calcErr("%s() arg is an empty sequence", name)
		}
		best := items[0]
		op := ">"
		if name == "min" {
			op = "<"
		}
		for _, it := range items[1:] {
			better, err := compare(op, it, best)
			if err != nil {
				return nil, err
			}
			if better {
				best = it
			}
		}
		return best, nil
	}
	return nil, calcErr("name %q is not defined", shorten(name))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// iterItems lists the elements of an iterable the calculator can build.
func iterItems(v Value) ([]Value, bool) {
	switch x := v.(type) {
	case List:
		return x, true
	case Tuple:
		return x, true
	case Set:
		return x, true
	case Str:
		out := []Value{}
		for _, r := range string(x) {
			out = append(out, Str(string(r)))
		}
		return out, true
	case *Dict:
		return x.Keys, true
	}
	return nil, false
}

func absValue(v Value) (Value, error) {
	switch x := v.(type) {
	case Int:
		return Int{new(big.Int).Abs(x.Int)}, nil
	case Bool:
		return asIntValue(x), nil
	case Float:
		return Float(math.Abs(float64(x))), nil
	case Complex:
		r := math.Hypot(real(x), imag(x))
		if math.IsInf(r, 0) && !math.IsInf(real(x), 0) && !math.IsInf(imag(x), 0) {
			return nil, calcErr("absolute value too large")
		}
		return Float(r), nil
	}
	return nil, calcErr("bad operand type for abs(): '%s'", TypeName(v))
}

func asIntValue(b Bool) Value {
	if b {
		return MakeInt(1)
	}
	return MakeInt(0)
}

// roundToInt is round(x) with no ndigits: half to even, an int.
func roundToInt(v Value) (Value, error) {
	switch x := v.(type) {
	case Int:
		return x, nil
	case Bool:
		return asIntValue(x), nil
	case Float:
		f := float64(x)
		if math.IsNaN(f) {
			return nil, calcErr("cannot convert float NaN to integer")
		}
		if math.IsInf(f, 0) {
			return nil, calcErr("cannot convert float infinity to integer")
		}
		r := math.RoundToEven(f)
		i, _ := new(big.Float).SetFloat64(r).Int(nil)
		return Int{i}, nil
	}
	return nil, calcErr("type %s doesn't define __round__ method", TypeName(v))
}

// roundDigits is round(x, n): for a float the correctly rounded decimal
// (CPython rounds the exact binary value half to even, so round(2.675, 2)
// is 2.67), for an int an int.
func roundDigits(v, nd Value) (Value, error) {
	if numKind(nd) != kInt {
		return nil, calcErr("'%s' object cannot be interpreted as an integer", TypeName(nd))
	}
	n := asBig(nd)
	switch x := v.(type) {
	case Int, Bool:
		i := asBig(x)
		if n.Sign() >= 0 {
			return Int{new(big.Int).Set(i)}, nil
		}
		if n.CmpAbs(big.NewInt(int64(maxIntBits))) > 0 {
			return MakeInt(0), nil
		}
		pow := new(big.Int).Exp(big.NewInt(10), new(big.Int).Neg(n), nil)
		q := new(big.Rat).SetFrac(i, pow)
		r := ratRoundHalfEven(q)
		return Int{r.Mul(r, pow)}, nil
	case Float:
		f := float64(x)
		if !n.IsInt64() || n.Int64() > 323 {
			return x, nil
		}
		if n.Int64() < -308 {
			return Float(0 * f), nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
			return x, nil
		}
		k := n.Int64()
		var r float64
		if k >= 0 {
			s := strconv.FormatFloat(f, 'f', int(k), 64)
			r, _ = strconv.ParseFloat(s, 64)
		} else {
			pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(-k), nil)
			q := new(big.Rat).SetFloat64(f)
			q.Quo(q, new(big.Rat).SetInt(pow))
			i := ratRoundHalfEven(q)
			r, _ = new(big.Rat).SetInt(i.Mul(i, pow)).Float64()
		}
		if math.IsInf(r, 0) {
			return nil, calcErr("rounded value too large to represent")
		}
		if r == 0 {
			r = math.Copysign(0, f)
		}
		return Float(r), nil
	}
	return nil, calcErr("type %s doesn't define __round__ method", TypeName(v))
}

// ratRoundHalfEven rounds q to the nearest int, ties to even.
func ratRoundHalfEven(q *big.Rat) *big.Int {
	num, den := q.Num(), q.Denom()
	fl, rem := floorDivMod(num, den)
	twice := new(big.Int).Mul(rem, big.NewInt(2))
	switch twice.Cmp(den) {
	case 1:
		fl.Add(fl, big.NewInt(1))
	case 0:
		if fl.Bit(0) == 1 {
			fl.Add(fl, big.NewInt(1))
		}
	}
	return fl
}
