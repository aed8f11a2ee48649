package m3tooleval

import (
	"fmt"
	"strings"
)

// PyError is an exception a tool raised, as Python names it ("TypeError",
// "ValueError", ...).
type PyError struct {
	Type string
	Msg  string
}

func (e *PyError) Error() string { return e.Type + ": " + e.Msg }

func typeError(format string, args ...any) error {
	return &PyError{Type: "TypeError", Msg: fmt.Sprintf(format, args...)}
}

func valueError(format string, args ...any) error {
	return &PyError{Type: "ValueError", Msg: fmt.Sprintf(format, args...)}
}

// pyLess is Python's a < b for the values tools compare: real numbers,
// strs, bytes, and lists or tuples (lexicographically).
func pyLess(a, b Value) (bool, error) {
	ka, kb := numKind(a), numKind(b)
	if ka != kOther && kb != kOther && ka != kComplex && kb != kComplex {
		c, ok := numCmp(a, b)
		return ok && c < 0, nil
	}
	switch x := a.(type) {
	case Str:
		if y, ok := b.(Str); ok {
			return x < y, nil
		}
	case Bytes:
		if y, ok := b.(Bytes); ok {
			return x < y, nil
		}
	case List:
		if y, ok := b.(List); ok {
			return seqLess(x, y)
		}
	case Tuple:
		if y, ok := b.(Tuple); ok {
			return seqLess(x, y)
		}
	}
	return false, typeError("'<' not supported between instances of '%s' and '%s'", TypeName(a), TypeName(b))
}

func seqLess(x, y []Value) (bool, error) {
	for i := 0; i < len(x) && i < len(y); i++ {
		if Equal(x[i], y[i]) {
			continue
		}
		return pyLess(x[i], y[i])
	}
	return len(x) < len(y), nil
}

// pyMinMax is Python's min(items) or max(items) over a sequence already
// unpacked: the first of the smallest (largest) items.
func pyMinMax(name string, items []Value) (Value, error) {
	if len(items) == 0 {
		return nil, valueError("%s() arg is an empty sequence", name)
	}
	best := items[0]
	for _, it := range items[1:] {
		var better bool
		var err error
		if name == "min" {
			better, err = pyLess(it, best)
		} else {
			better, err = pyLess(best, it)
		}
		if err != nil {
			return nil, err
		}
		if better {
			best = it
		}
	}
	return best, nil
}

// pyIter lists the items Python's iteration over v yields.
func pyIter(v Value) ([]Value, error) {
	switch x := v.(type) {
	case Bytes:
		out := make([]Value, len(x))
		for i := range len(x) {
			out[i] = MakeInt(int64(x[i]))
		}
		return out, nil
	}
	if items, ok := iterItems(v); ok {
		return items, nil
	}
	return nil, typeError("'%s' object is not iterable", TypeName(v))
}

// pyLen is Python's len(v).
func pyLen(v Value) (int, error) {
	switch x := v.(type) {
	case Str:
		return len([]rune(string(x))), nil
	case Bytes:
		return len(x), nil
	case List:
		return len(x), nil
	case Tuple:
		return len(x), nil
	case Set:
		return len(x), nil
	case *Dict:
		return len(x.Keys), nil
	}
	return 0, typeError("object of type '%s' has no len()", TypeName(v))
}

// pyAdd and pyMul are Python's + and * (numbers, and sequences).
func pyAdd(a, b Value) (Value, error) { return arith("+", a, b) }
func pyMul(a, b Value) (Value, error) { return arith("*", a, b) }

func arith(op string, a, b Value) (Value, error) {
	v, err := binaryOp(op, a, b)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), errCalc.Error()+": ")
		if strings.Contains(msg, "division by zero") || strings.Contains(msg, "by zero") {
			return nil, &PyError{Type: "ZeroDivisionError", Msg: msg}
		}
		if strings.Contains(msg, "too large") {
			return nil, &PyError{Type: "OverflowError", Msg: msg}
		}
		return nil, &PyError{Type: "TypeError", Msg: msg}
	}
	return v, nil
}

// pyContains is Python's x in seq for a list.
func pyContains(seq []Value, x Value) bool { return contains(seq, x) }
