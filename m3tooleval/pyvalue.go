package m3tooleval

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/gantry-dev/gantry/internal/repr"
)

// Value is a Python value of the kinds the harness handles: what
// ast.literal_eval returns (None, bool, int, float, complex, str, bytes,
// tuple, list, dict, set, Ellipsis) and what the tools return. Repr and Str
// render a Value as Python's repr() and str() do.
type Value interface{ pyType() string }

// The Python value kinds.
type (
	// NoneValue is None.
	NoneValue struct{}
	// EllipsisValue is Ellipsis (the literal ...).
	EllipsisValue struct{}
	// Bool is True or False.
	Bool bool
	// Int is an int of any size. It is never nil.
	Int struct{ *big.Int }
	// Float is a float.
	Float float64
	// Complex is a complex number.
	Complex complex128
	// Str is a str.
	Str string
	// Bytes is a bytes value.
	Bytes string
	// Tuple is a tuple.
	Tuple []Value
	// List is a list.
	List []Value
	// Set is a set, in insertion order (Python's own order is its hash
	// table's, which for str depends on the process's hash seed).
	Set []Value
	// Dict is a dict in insertion order.
	Dict struct {
		Keys   []Value
		Values []Value
	}
)

func (NoneValue) pyType() string     { return "NoneType" }
func (EllipsisValue) pyType() string { return "ellipsis" }
func (Bool) pyType() string          { return "bool" }
func (Int) pyType() string           { return "int" }
func (Float) pyType() string         { return "float" }
func (Complex) pyType() string       { return "complex" }
func (Str) pyType() string           { return "str" }
func (Bytes) pyType() string         { return "bytes" }
func (Tuple) pyType() string         { return "tuple" }
func (List) pyType() string          { return "list" }
func (Set) pyType() string           { return "set" }
func (*Dict) pyType() string         { return "dict" }

// TypeName is the Python type name of v ("int", "str", ...).
func TypeName(v Value) string { return v.pyType() }

// MakeInt returns the int n.
func MakeInt(n int64) Int { return Int{big.NewInt(n)} }

// Get returns the value of key k and whether the dict holds it.
func (d *Dict) Get(k Value) (Value, bool) {
	for i, key := range d.Keys {
		if Equal(key, k) {
			return d.Values[i], true
		}
	}
	return nil, false
}

// Set sets key k to v, keeping the position of an existing equal key (as
// Python does: {1: 'a', 1.0: 'b'} is {1: 'b'}).
func (d *Dict) Set(k, v Value) {
	for i, key := range d.Keys {
		if Equal(key, k) {
			d.Values[i] = v
			return
		}
	}
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
}

// ErrUnhashable is the TypeError of a list, dict or set used as a dict key
// or set element.
var ErrUnhashable = errors.New("unhashable type")

// hashable reports whether v can be a dict key or set element.
func hashable(v Value) bool {
	switch x := v.(type) {
	case List, Set, *Dict:
		return false
	case Tuple:
		for _, e := range x {
			if !hashable(e) {
				return false
			}
		}
	}
	return true
}

// Repr renders v as Python's repr() does.
func Repr(v Value) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

// StrOf renders v as Python's str() does: a str is itself, everything else
// its repr.
func StrOf(v Value) string {
	if s, ok := v.(Str); ok {
		return string(s)
	}
	return Repr(v)
}

func writeRepr(b *strings.Builder, v Value) {
	switch x := v.(type) {
	case nil, NoneValue:
		b.WriteString("None")
	case EllipsisValue:
		b.WriteString("Ellipsis")
	case Bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case Int:
		b.WriteString(x.String())
	case Float:
		b.WriteString(FloatRepr(float64(x)))
	case Complex:
		b.WriteString(complexRepr(complex128(x)))
	case Str:
		b.WriteString(StrRepr(string(x)))
	case Bytes:
		b.WriteString(bytesRepr(string(x)))
	case Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case List:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case Set:
		if len(x) == 0 {
			b.WriteString("set()")
			return
		}
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte('}')
	case *Dict:
		b.WriteByte('{')
		for i, k := range x.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k)
			b.WriteString(": ")
			writeRepr(b, x.Values[i])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "<%T>", v)
	}
}

// FloatRepr renders f as Python's repr(float) does: the shortest text that
// reads back as f, in exponent form below 1e-4 and from 1e16 on
// (internal/repr, shared with the tool registry).
func FloatRepr(f float64) string { return repr.Float(f) }

// floatShort is Python's float formatting with the 'r' code and no ".0"
// added (as complex's repr uses for its parts).
func floatShort(f float64) string { return repr.FloatShort(f) }

func complexRepr(c complex128) string {
	re, im := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		return floatShort(im) + "j"
	}
	ims := floatShort(im)
	if !strings.HasPrefix(ims, "-") {
		ims = "+" + ims
	}
	return "(" + floatShort(re) + ims + "j)"
}

// StrRepr renders s as Python's repr(str) does (repr.Str).
func StrRepr(s string) string { return repr.Str(s) }

func bytesRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(quote)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// Equal is Python's == for these values: numbers of different types compare
// by value (True == 1 == 1.0), tuples and lists never equal each other,
// dicts compare regardless of order.
func Equal(a, b Value) bool {
	if na, ok := numeric(a); ok {
		nb, ok := numeric(b)
		return ok && numEqual(na, nb)
	}
	switch x := a.(type) {
	case nil, NoneValue:
		switch b.(type) {
		case nil, NoneValue:
			return true
		}
		return false
	case EllipsisValue:
		_, ok := b.(EllipsisValue)
		return ok
	case Str:
		y, ok := b.(Str)
		return ok && x == y
	case Bytes:
		y, ok := b.(Bytes)
		return ok && x == y
	case Tuple:
		y, ok := b.(Tuple)
		return ok && seqEqual(x, y)
	case List:
		y, ok := b.(List)
		return ok && seqEqual(x, y)
	case Set:
		y, ok := b.(Set)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, e := range x {
			if !contains(y, e) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || len(x.Keys) != len(y.Keys) {
			return false
		}
		for i, k := range x.Keys {
			v, ok := y.Get(k)
			if !ok || !Equal(x.Values[i], v) {
				return false
			}
		}
		return true
	}
	return false
}

func contains(xs []Value, v Value) bool {
	for _, x := range xs {
		if Equal(x, v) {
			return true
		}
	}
	return false
}

func seqEqual(x, y []Value) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		// Python's list == checks identity first, so a nan element equals
		// itself; values here are never shared, so compare by value.
		if !Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// num is a number for comparisons: an exact int, a float or a complex.
type num struct {
	kind int // 0 int, 1 float, 2 complex
	i    *big.Int
	f    float64
	c    complex128
}

func numeric(v Value) (num, bool) {
	switch x := v.(type) {
	case Bool:
		if x {
			return num{i: big.NewInt(1)}, true
		}
		return num{i: big.NewInt(0)}, true
	case Int:
		return num{i: x.Int}, true
	case Float:
		return num{kind: 1, f: float64(x)}, true
	case Complex:
		return num{kind: 2, c: complex128(x)}, true
	}
	return num{}, false
}

func numEqual(a, b num) bool {
	if a.kind < b.kind {
		a, b = b, a
	}
	switch a.kind {
	case 0:
		return a.i.Cmp(b.i) == 0
	case 1:
		if b.kind == 1 {
			return a.f == b.f
		}
		return floatIntCmp(a.f, b.i) == 0
	default:
		switch b.kind {
		case 2:
			return a.c == b.c
		case 1:
			return imag(a.c) == 0 && real(a.c) == b.f
		}
		return imag(a.c) == 0 && floatIntCmp(real(a.c), b.i) == 0
	}
}

// floatIntCmp compares a float with an int exactly, as Python does; nan
// compares unequal (returns 2).
func floatIntCmp(f float64, i *big.Int) int {
	if math.IsNaN(f) {
		return 2
	}
	if math.IsInf(f, 1) {
		return 1
	}
	if math.IsInf(f, -1) {
		return -1
	}
	return new(big.Rat).SetFloat64(f).Cmp(new(big.Rat).SetInt(i))
}
