package m3tooleval

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// CalculatorFailure is the text the reference calculator returns for an
// expression its eval() raises on.
func CalculatorFailure(expr string) string { return "Failed to evaluate expression: " + expr }

// maxIntBits bounds the ints the calculator computes (a little above
// Python's 4,300-digit limit on printing an int); a larger result fails.
const maxIntBits = 16_000

// maxSeqLen bounds the length of a str, list or tuple it builds.
const maxSeqLen = 100_000

// maxUnary bounds chains of unary operators and of **, which nest.
const maxUnary = 1_000

// errCalc is any error evaluating an expression (Python's exception).
var errCalc = errors.New("evaluation failed")

func calcErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCalc, fmt.Sprintf(format, args...))
}

// Calculate evaluates an arithmetic expression as Python's eval() does for
// the expressions the calculator tool is meant for: int, float and complex
// numbers with Python's rules (exact big ints, / always a float, // and %
// floored, ** with Python's int/float/complex results), unary + - ~, the
// bitwise operators on ints, comparisons, tuples (1, 2), lists, str
// literals, True/False/None, and the builtins abs, divmod, float, int, max,
// min, pow, round and sum. It never evaluates anything else: any other name
// is a NameError, as in Python.
func Calculate(expr string) (Value, error) {
	s := strings.TrimLeft(expr, " \t")
	toks, err := tokenize(s, true)
	if err != nil {
		return nil, calcErr("%v", err)
	}
	p := &calcParser{cursor: cursor{toks: toks}}
	if p.atLineEnd() {
		return nil, calcErr("empty expression")
	}
	v, err := p.exprList(true)
	if err != nil {
		return nil, err
	}
	if !p.finish() {
		return nil, calcErr("invalid syntax")
	}
	return v, nil
}

// Calculator is the web and trade families' calculator tool: the value of
// the expression, or the reference's failure text.
func Calculator(expr string) Value {
	v, err := Calculate(expr)
	if err != nil {
		return Str(CalculatorFailure(expr))
	}
	return v
}

type calcParser struct {
	cursor
	unary int
}

func (p *calcParser) exprList(topLevel bool) (Value, error) {
	first, err := p.comparison()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	elems := Tuple{first}
	for p.isOp(",") {
		p.next()
		if topLevel && p.atLineEnd() || !topLevel && p.isOp(")") {
			break
		}
		e, err := p.comparison()
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
	}
	return elems, nil
}

func (p *calcParser) comparison() (Value, error) {
	left, err := p.bitOr()
	if err != nil {
		return nil, err
	}
	result := Value(nil)
	for p.isOp("<", ">", "==", "!=", "<=", ">=") {
		op := p.next().text
		right, err := p.bitOr()
		if err != nil {
			return nil, err
		}
		ok, err := compare(op, left, right)
		if err != nil {
			return nil, err
		}
		if result == nil || result == Bool(true) {
			result = Bool(ok)
		}
		left = right
	}
	if result != nil {
		return result, nil
	}
	return left, nil
}

func (p *calcParser) binaryLevel(ops []string, sub func() (Value, error)) (Value, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isOp(ops...) {
		op := p.next().text
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left, err = binaryOp(op, left, right)
		if err != nil {
			return nil, err
		}
	}
	return left, nil
}

func (p *calcParser) bitOr() (Value, error)  { return p.binaryLevel([]string{"|"}, p.bitXor) }
func (p *calcParser) bitXor() (Value, error) { return p.binaryLevel([]string{"^"}, p.bitAnd) }
func (p *calcParser) bitAnd() (Value, error) { return p.binaryLevel([]string{"&"}, p.shift) }
func (p *calcParser) shift() (Value, error)  { return p.binaryLevel([]string{"<<", ">>"}, p.arith) }
func (p *calcParser) arith() (Value, error)  { return p.binaryLevel([]string{"+", "-"}, p.term) }
func (p *calcParser) term() (Value, error) {
	return p.binaryLevel([]string{"*", "/", "//", "%"}, p.factor)
}

func (p *calcParser) factor() (Value, error) {
	if p.isOp("+", "-", "~") {
		p.unary++
		if p.unary > maxUnary {
			return nil, calcErr("too many unary operators")
		}
		op := p.next().text
		v, err := p.factor()
		if err != nil {
			return nil, err
		}
		return unaryOp(op, v)
	}
	return p.power()
}

func (p *calcParser) power() (Value, error) {
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	if p.isOp("**") {
		p.unary++
		if p.unary > maxUnary {
			return nil, calcErr("expression nested too deeply")
		}
		p.next()
		exp, err := p.factor()
		if err != nil {
			return nil, err
		}
		return powOp(base, exp)
	}
	return base, nil
}

func (p *calcParser) primary() (Value, error) {
	t := p.next()
	var v Value
	switch t.kind {
	case tNum:
		v = t.val
	case tStr, tBytes, tFStr:
		kind := t.kind
		var b strings.Builder
		appendLit := func(t token) {
			switch x := t.val.(type) {
			case Str:
				b.WriteString(string(x))
			case Bytes:
				b.WriteString(string(x))
			}
		}
		appendLit(t)
		for {
			nt := p.peek()
			if nt.kind != tStr && nt.kind != tBytes && nt.kind != tFStr {
				break
			}
			p.next()
			if (nt.kind == tBytes) != (kind == tBytes) {
				return nil, calcErr("cannot mix bytes and nonbytes literals")
			}
			if nt.kind == tFStr {
				kind = tFStr
			}
			appendLit(nt)
		}
		switch kind {
		case tFStr:
			return nil, calcErr("f-strings are not supported")
		case tBytes:
			v = Bytes(b.String())
		default:
			v = Str(b.String())
		}
	case tName:
		switch t.text {
		case "True":
			v = Bool(true)
		case "False":
			v = Bool(false)
		case "None":
			v = NoneValue{}
		default:
			if !p.isOp("(") {
				return nil, calcErr("name %q is not defined", shorten(t.text))
			}
			p.next()
			args, kwargs, err := p.callArgs()
			if err != nil {
				return nil, err
			}
			v, err = callBuiltin(t.text, args, kwargs)
			if err != nil {
				return nil, err
			}
		}
	case tOp:
		switch t.text {
		case "(":
			if p.isOp(")") {
				p.next()
				v = Tuple{}
				break
			}
			inner, err := p.exprList(false)
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, calcErr("expected ')'")
			}
			p.next()
			v = inner
		case "[":
			var elems List
			for !p.isOp("]") {
				e, err := p.comparison()
				if err != nil {
					return nil, err
				}
				elems = append(elems, e)
				if p.isOp(",") {
					p.next()
				} else if !p.isOp("]") {
					return nil, calcErr("expected ']'")
				}
			}
			p.next()
			v = elems
		default:
			return nil, calcErr("invalid syntax at %q", t.text)
		}
	default:
		return nil, calcErr("invalid syntax")
	}
	if p.isOp("(", "[", ".") {
		return nil, calcErr("calls, subscripts and attributes are not supported")
	}
	return v, nil
}

func (p *calcParser) callArgs() ([]Value, map[string]Value, error) {
	var args []Value
	kwargs := map[string]Value{}
	for !p.isOp(")") {
		t := p.peek()
		if t.kind == tName && p.toks[p.pos+1].kind == tOp && p.toks[p.pos+1].text == "=" {
			p.next()
			p.next()
			v, err := p.comparison()
			if err != nil {
				return nil, nil, err
			}
			if _, dup := kwargs[t.text]; dup {
				return nil, nil, calcErr("keyword argument repeated")
			}
			kwargs[t.text] = v
		} else {
			if len(kwargs) > 0 {
				return nil, nil, calcErr("positional argument follows keyword argument")
			}
			v, err := p.comparison()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, v)
		}
		if p.isOp(",") {
			p.next()
		} else if !p.isOp(")") {
			return nil, nil, calcErr("expected ')'")
		}
	}
	p.next()
	return args, kwargs, nil
}

// arith kinds of a numeric operand.
const (
	kInt = iota
	kFloat
	kComplex
	kOther
)

func numKind(v Value) int {
	switch v.(type) {
	case Int, Bool:
		return kInt
	case Float:
		return kFloat
	case Complex:
		return kComplex
	}
	return kOther
}

func asBig(v Value) *big.Int {
	switch x := v.(type) {
	case Int:
		return x.Int
	case Bool:
		if x {
			return big.NewInt(1)
		}
		return big.NewInt(0)
	}
	return nil
}

func asFloat(v Value) (float64, error) {
	switch x := v.(type) {
	case Float:
		return float64(x), nil
	case Int, Bool:
		f, ok := intToFloat(asBig(v))
		if !ok {
			return 0, calcErr("int too large to convert to float")
		}
		return f, nil
	}
	return 0, calcErr("not a number")
}

func asComplex(v Value) (complex128, error) {
	if c, ok := v.(Complex); ok {
		return complex128(c), nil
	}
	f, err := asFloat(v)
	return complex(f, 0), err
}

func checkInt(i *big.Int) (Value, error) {
	if i.BitLen() > maxIntBits {
		return nil, calcErr("int result too large")
	}
	return Int{i}, nil
}

func unaryOp(op string, v Value) (Value, error) {
	switch numKind(v) {
	case kInt:
		i := asBig(v)
		switch op {
		case "+":
			return Int{new(big.Int).Set(i)}, nil
		case "-":
			return Int{new(big.Int).Neg(i)}, nil
		}
		return Int{new(big.Int).Not(i)}, nil
	case kFloat:
		f := float64(v.(Float))
		switch op {
		case "+":
			return Float(f), nil
		case "-":
			return Float(-f), nil
		}
	case kComplex:
		c := complex128(v.(Complex))
		switch op {
		case "+":
			return Complex(c), nil
		case "-":
			return Complex(complex(-real(c), -imag(c))), nil
		}
	}
	return nil, calcErr("bad operand type for unary %s: '%s'", op, TypeName(v))
}

func binaryOp(op string, a, b Value) (Value, error) {
	ka, kb := numKind(a), numKind(b)
	if ka == kOther || kb == kOther {
		return seqOp(op, a, b)
	}
	k := max(ka, kb)
	switch k {
	case kInt:
		return intOp(op, asBig(a), asBig(b))
	case kFloat:
		if isBitOp(op) {
			return nil, calcErr("unsupported operand type(s) for %s", op)
		}
		x, err := asFloat(a)
		if err != nil {
			return nil, err
		}
		y, err := asFloat(b)
		if err != nil {
			return nil, err
		}
		return floatOp(op, x, y)
	}
	if isBitOp(op) || op == "//" || op == "%" {
		return nil, calcErr("unsupported operand type(s) for %s: complex", op)
	}
	x, err := asComplex(a)
	if err != nil {
		return nil, err
	}
	y, err := asComplex(b)
	if err != nil {
		return nil, err
	}
	return complexOp(op, x, y)
}

func isBitOp(op string) bool {
	switch op {
	case "&", "|", "^", "<<", ">>":
		return true
	}
	return false
}

// seqOp is + and * on str, list and tuple.
func seqOp(op string, a, b Value) (Value, error) {
	seqLen := func(v Value) (int, bool) {
		switch x := v.(type) {
		case Str:
			return len(x), true
		case Bytes:
			return len(x), true
		case List:
			return len(x), true
		case Tuple:
			return len(x), true
		}
		return 0, false
	}
	switch op {
	case "+":
		la, okA := seqLen(a)
		lb, okB := seqLen(b)
		if !okA || !okB || TypeName(a) != TypeName(b) {
			break
		}
		if la+lb > maxSeqLen {
			return nil, calcErr("result too large")
		}
		switch x := a.(type) {
		case Str:
			return x + b.(Str), nil
		case Bytes:
			return x + b.(Bytes), nil
		case List:
			return append(append(List{}, x...), b.(List)...), nil
		case Tuple:
			return append(append(Tuple{}, x...), b.(Tuple)...), nil
		}
	case "*":
		seq, n := a, b
		if numKind(seq) == kInt {
			seq, n = b, a
		}
		l, ok := seqLen(seq)
		if !ok || numKind(n) != kInt {
			break
		}
		count := asBig(n)
		if count.Sign() <= 0 || l == 0 {
			count = big.NewInt(0)
		}
		if !count.IsInt64() || int64(l)*count.Int64() > maxSeqLen {
			return nil, calcErr("result too large")
		}
		c := int(count.Int64())
		switch x := seq.(type) {
		case Str:
			return Str(strings.Repeat(string(x), c)), nil
		case Bytes:
			return Bytes(strings.Repeat(string(x), c)), nil
		case List:
			out := List{}
			for range c {
				out = append(out, x...)
			}
			return out, nil
		case Tuple:
			out := Tuple{}
			for range c {
				out = append(out, x...)
			}
			return out, nil
		}
	}
	return nil, calcErr("unsupported operand type(s) for %s: '%s' and '%s'", op, TypeName(a), TypeName(b))
}

// floorDivMod returns Python's a // b and a % b for ints (b != 0).
func floorDivMod(a, b *big.Int) (*big.Int, *big.Int) {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if r.Sign() != 0 && (r.Sign() < 0) != (b.Sign() < 0) {
		q.Sub(q, big.NewInt(1))
		r.Add(r, b)
	}
	return q, r
}

func intOp(op string, a, b *big.Int) (Value, error) {
	switch op {
	case "+":
		return checkInt(new(big.Int).Add(a, b))
	case "-":
		return checkInt(new(big.Int).Sub(a, b))
	case "*":
		if a.BitLen()+b.BitLen() > maxIntBits+1 {
			return nil, calcErr("int result too large")
		}
		return checkInt(new(big.Int).Mul(a, b))
	case "/":
		if b.Sign() == 0 {
			return nil, calcErr("division by zero")
		}
		f, _ := new(big.Rat).SetFrac(a, b).Float64()
		if a.Sign() == 0 && b.Sign() < 0 {
			f = math.Copysign(0, -1) // Python: 0 / -16 is -0.0
		}
		if math.IsInf(f, 0) {
			return nil, calcErr("integer division result too large for a float")
		}
		return Float(f), nil
	case "//", "%":
		if b.Sign() == 0 {
			return nil, calcErr("integer division or modulo by zero")
		}
		q, r := floorDivMod(a, b)
		if op == "//" {
			return Int{q}, nil
		}
		return Int{r}, nil
	case "&":
		return Int{new(big.Int).And(a, b)}, nil
	case "|":
		return Int{new(big.Int).Or(a, b)}, nil
	case "^":
		return Int{new(big.Int).Xor(a, b)}, nil
	case "<<", ">>":
		if b.Sign() < 0 {
			return nil, calcErr("negative shift count")
		}
		if op == ">>" {
			if !b.IsInt64() || b.Int64() > int64(a.BitLen()) {
				if a.Sign() < 0 {
					return MakeInt(-1), nil
				}
				return MakeInt(0), nil
			}
			return Int{new(big.Int).Rsh(a, uint(b.Int64()))}, nil
		}
		if a.Sign() == 0 {
			return MakeInt(0), nil
		}
		if !b.IsInt64() || b.Int64()+int64(a.BitLen()) > maxIntBits {
			return nil, calcErr("int result too large")
		}
		return Int{new(big.Int).Lsh(a, uint(b.Int64()))}, nil
	}
	return nil, calcErr("unsupported operator %s", op)
}

// floatDivMod is CPython's float_divmod.
func floatDivMod(vx, wx float64) (float64, float64) {
	mod := math.Mod(vx, wx)
	div := (vx - mod) / wx
	if mod != 0 {
		if (wx < 0) != (mod < 0) {
			mod += wx
			div -= 1.0
		}
	} else {
		mod = math.Copysign(0, wx)
	}
	var floordiv float64
	if div != 0 {
		floordiv = math.Floor(div)
		if div-floordiv > 0.5 {
			floordiv += 1.0
		}
	} else {
		floordiv = math.Copysign(0, vx/wx)
	}
	return floordiv, mod
}

func floatOp(op string, x, y float64) (Value, error) {
	switch op {
	case "+":
		return Float(x + y), nil
	case "-":
		return Float(x - y), nil
	case "*":
		return Float(x * y), nil
	case "/":
		if y == 0 {
			return nil, calcErr("float division by zero")
		}
		return Float(x / y), nil
	case "//", "%":
		if y == 0 {
			return nil, calcErr("float floor division by zero")
		}
		q, r := floatDivMod(x, y)
		if op == "//" {
			return Float(q), nil
		}
		return Float(r), nil
	}
	return nil, calcErr("unsupported operator %s", op)
}

// cProd, cQuot are CPython's _Py_c_prod and _Py_c_quot.
func cProd(a, b complex128) complex128 {
	return complex(float64(real(a)*real(b))-float64(imag(a)*imag(b)), float64(real(a)*imag(b))+float64(imag(a)*real(b)))
}

func cQuot(a, b complex128) (complex128, error) {
	ar, ai, br, bi := real(a), imag(a), real(b), imag(b)
	absBr, absBi := math.Abs(br), math.Abs(bi)
	switch {
	case absBr >= absBi:
		if absBr == 0 {
			return 0, calcErr("complex division by zero")
		}
		ratio := bi / br
		denom := br + float64(bi*ratio)
		return complex((ar+float64(ai*ratio))/denom, (ai-float64(ar*ratio))/denom), nil
	case absBi >= absBr:
		ratio := br / bi
		denom := float64(br*ratio) + bi
		return complex((float64(ar*ratio)+ai)/denom, (float64(ai*ratio)-ar)/denom), nil
	}
	return complex(math.NaN(), math.NaN()), nil
}

func complexOp(op string, x, y complex128) (Value, error) {
	switch op {
	case "+":
		return Complex(complex(real(x)+real(y), imag(x)+imag(y))), nil
	case "-":
		return Complex(complex(real(x)-real(y), imag(x)-imag(y))), nil
	case "*":
		return Complex(cProd(x, y)), nil
	case "/":
		c, err := cQuot(x, y)
		if err != nil {
			return nil, err
		}
		return Complex(c), nil
	}
	return nil, calcErr("unsupported operator %s", op)
}

func compare(op string, a, b Value) (bool, error) {
	ka, kb := numKind(a), numKind(b)
	if ka != kOther && kb != kOther {
		if ka == kComplex || kb == kComplex {
			if op == "==" || op == "!=" {
				return Equal(a, b) == (op == "=="), nil
			}
			return false, calcErr("complex numbers are not ordered")
		}
		c, ok := numCmp(a, b)
		if !ok {
			return op == "!=", nil // nan
		}
		return cmpResult(op, c), nil
	}
	if op == "==" || op == "!=" {
		return Equal(a, b) == (op == "=="), nil
	}
	sa, okA := a.(Str)
	sb, okB := b.(Str)
	if okA && okB {
		return cmpResult(op, strings.Compare(string(sa), string(sb))), nil
	}
	return false, calcErr("'%s' not supported between instances of '%s' and '%s'", op, TypeName(a), TypeName(b))
}

func cmpResult(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	case "==":
		return c == 0
	}
	return c != 0
}

// numCmp compares two real numbers exactly; ok is false for nan.
func numCmp(a, b Value) (int, bool) {
	ka, kb := numKind(a), numKind(b)
	switch {
	case ka == kInt && kb == kInt:
		return asBig(a).Cmp(asBig(b)), true
	case ka == kFloat && kb == kFloat:
		x, y := float64(a.(Float)), float64(b.(Float))
		if math.IsNaN(x) || math.IsNaN(y) {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case ka == kFloat:
		c := floatIntCmp(float64(a.(Float)), asBig(b))
		return c, c != 2
	}
	c := floatIntCmp(float64(b.(Float)), asBig(a))
	return -c, c != 2
}

func isOddInteger(f float64) bool {
	return math.Mod(f, 2) == 1 || math.Mod(f, 2) == -1
}

// floatPow is CPython's float_pow; a negative base with a fractional
// exponent gives a complex, as in Python 3.
func floatPow(iv, iw float64) (Value, error) {
	if iw == 0 {
		return Float(1), nil
	}
	if math.IsNaN(iv) {
		return Float(iv), nil
	}
	if math.IsNaN(iw) {
		if iv == 1 {
			return Float(1), nil
		}
		return Float(iw), nil
	}
	if math.IsInf(iw, 0) {
		av := math.Abs(iv)
		switch {
		case av == 1:
			return Float(1), nil
		case (iw > 0) == (av > 1):
			return Float(math.Abs(iw)), nil
		}
		return Float(0), nil
	}
	if math.IsInf(iv, 0) {
		odd := isOddInteger(iw)
		if iw > 0 {
			if odd {
				return Float(iv), nil
			}
			return Float(math.Abs(iv)), nil
		}
		if odd {
			return Float(math.Copysign(0, iv)), nil
		}
		return Float(0), nil
	}
	if iv == 0 {
		odd := isOddInteger(iw)
		if iw < 0 {
			return nil, calcErr("0.0 cannot be raised to a negative power")
		}
		if odd {
			return Float(iv), nil
		}
		return Float(0), nil
	}
	negate := false
	if iv < 0 {
		if iw != math.Floor(iw) {
			return complexPow(complex(iv, 0), complex(iw, 0))
		}
		iv = -iv
		negate = isOddInteger(iw)
	}
	if iv == 1 {
		if negate {
			return Float(-1), nil
		}
		return Float(1), nil
	}
	ix := accuratePow(iv, iw)
	if math.IsInf(ix, 0) {
		return nil, calcErr("(34, 'Numerical result out of range')")
	}
	if negate {
		ix = -ix
	}
	return Float(ix), nil
}

// accuratePow is pow(x, y) for finite x > 0: for a small integer exponent
// it multiplies exactly and rounds once (as the C library's correctly
// rounded pow does); otherwise it is math.Pow.
func accuratePow(x, y float64) float64 {
	if y == math.Trunc(y) && math.Abs(y) <= 64 {
		n := int(math.Abs(y))
		acc := new(big.Float).SetPrec(4096).SetInt64(1)
		bx := new(big.Float).SetPrec(4096).SetFloat64(x)
		for range n {
			acc.Mul(acc, bx)
		}
		if y < 0 {
			acc.Quo(new(big.Float).SetPrec(4096).SetInt64(1), acc)
		}
		f, _ := acc.Float64()
		return f
	}
	return hpPow(x, y)
}

// complexPow is CPython's complex_pow.
func complexPow(a, b complex128) (Value, error) {
	if imag(b) == 0 && real(b) == math.Floor(real(b)) && math.Abs(real(b)) <= 100 {
		n := int(real(b))
		var r complex128
		if n >= 0 {
			r = cPowu(a, n)
		} else {
			var err error
			r, err = cQuot(1, cPowu(a, -n))
			if err != nil {
				return nil, calcErr("0.0 to a negative or complex power")
			}
		}
		if math.IsInf(real(r), 0) || math.IsInf(imag(r), 0) {
			return nil, calcErr("complex exponentiation")
		}
		return Complex(r), nil
	}
	if b == 0 {
		return Complex(1), nil
	}
	if a == 0 {
		if imag(b) != 0 || real(b) < 0 {
			return nil, calcErr("0.0 to a negative or complex power")
		}
		return Complex(0), nil
	}
	vabs := math.Hypot(real(a), imag(a))
	length, err := floatPow(vabs, real(b))
	if err != nil {
		return nil, err
	}
	l := float64(length.(Float))
	at := hpAtan2F(imag(a), real(a))
	phase := at * real(b)
	if imag(b) != 0 {
		l /= hpExpF(at * imag(b))
		phase += imag(b) * hpLogF(vabs)
	}
	length = Float(l)
	sin, cos := hpSinCosF(phase)
	r := complex(l*cos, l*sin)
	if math.IsInf(real(r), 0) || math.IsInf(imag(r), 0) {
		return nil, calcErr("complex exponentiation")
	}
	return Complex(r), nil
}

func cPowu(x complex128, n int) complex128 {
	r := complex128(1)
	p := x
	for mask := 1; mask > 0 && n >= mask; mask <<= 1 {
		if n&mask != 0 {
			r = cProd(r, p)
		}
		p = cProd(p, p)
	}
	return r
}

func powOp(a, b Value) (Value, error) {
	ka, kb := numKind(a), numKind(b)
	switch {
	case ka == kOther || kb == kOther:
		return nil, calcErr("unsupported operand type(s) for ** or pow(): '%s' and '%s'", TypeName(a), TypeName(b))
	case ka == kComplex || kb == kComplex:
		x, err := asComplex(a)
		if err != nil {
			return nil, err
		}
		y, err := asComplex(b)
		if err != nil {
			return nil, err
		}
		return complexPow(x, y)
	case ka == kInt && kb == kInt:
		x, y := asBig(a), asBig(b)
		if y.Sign() < 0 {
			fx, err := asFloat(a)
			if err != nil {
				return nil, err
			}
			fy, err := asFloat(b)
			if err != nil {
				return nil, err
			}
			return floatPow(fx, fy)
		}
		if x.CmpAbs(big.NewInt(1)) <= 0 {
			if x.Sign() < 0 && y.Bit(0) == 0 {
				return MakeInt(1), nil
			}
			if y.Sign() == 0 {
				return MakeInt(1), nil
			}
			return Int{new(big.Int).Set(x)}, nil
		}
		if !y.IsInt64() || float64(x.BitLen()-1)*float64(y.Int64()) > maxIntBits {
			return nil, calcErr("int result too large")
		}
		return checkInt(new(big.Int).Exp(x, y, nil))
	}
	x, err := asFloat(a)
	if err != nil {
		return nil, err
	}
	y, err := asFloat(b)
	if err != nil {
		return nil, err
	}
	return floatPow(x, y)
}
