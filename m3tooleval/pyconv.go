package m3tooleval

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// errConvert is Python's ValueError from int() or float() of a str, or of
// a float that int() cannot take (nan).
var errConvert = errors.New("ValueError")

// errType is a TypeError: int() or float() of a value they do not take.
var errType = errors.New("TypeError")

// errOverflow is an OverflowError (int() of an infinite float).
var errOverflow = errors.New("OverflowError")

// isPySpace is Python's str.isspace for one character.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// decimalDigit returns the value of a Unicode decimal digit (category Nd),
// which int() and float() accept as Python does.
func decimalDigit(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}

// asciiDigits strips s of Python whitespace and rewrites its Unicode decimal
// digits as ASCII; ok is false when s holds other non-ASCII characters.
func asciiDigits(s string) (string, bool) {
	s = strings.TrimFunc(s, isPySpace)
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		d, ok := decimalDigit(r)
		if !ok {
			return "", false
		}
		b.WriteByte(byte('0' + d))
	}
	return b.String(), true
}

// digitsWithUnderscores checks a run of digits with single underscores
// between them and returns it without them.
func digitsWithUnderscores(s string) (string, bool) {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && !isDec(s[i]) {
			return "", false
		}
	}
	return strings.ReplaceAll(s, "_", ""), true
}

// PyIntFromStr is Python's int(s) for a str s (base 10).
func PyIntFromStr(s string) (*big.Int, error) {
	t, ok := asciiDigits(s)
	if !ok {
		return nil, errConvert
	}
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	d, ok := digitsWithUnderscores(t)
	if !ok {
		return nil, errConvert
	}
	if len(strings.TrimLeft(d, "0")) > maxIntDigits {
		return nil, errConvert
	}
	n, _ := new(big.Int).SetString(d, 10)
	if neg {
		n.Neg(n)
	}
	return n, nil
}

// PyFloatFromStr is Python's float(s) for a str s.
func PyFloatFromStr(s string) (float64, error) {
	t, ok := asciiDigits(s)
	if !ok {
		return 0, errConvert
	}
	sign := 1.0
	body := t
	if body != "" && (body[0] == '+' || body[0] == '-') {
		if body[0] == '-' {
			sign = -1
		}
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		return sign * math.Inf(1), nil
	case "nan":
		return math.Copysign(math.NaN(), sign), nil
	}
	mant, exp := body, ""
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		mant, exp = body[:i], body[i+1:]
		e := exp
		if e != "" && (e[0] == '+' || e[0] == '-') {
			e = e[1:]
		}
		d, ok := digitsWithUnderscores(e)
		if !ok {
			return 0, errConvert
		}
		exp = exp[:len(exp)-len(e)] + d
	}
	ip, fp, hasDot := strings.Cut(mant, ".")
	if ip == "" && fp == "" {
		return 0, errConvert
	}
	if ip != "" {
		if ip, ok = digitsWithUnderscores(ip); !ok {
			return 0, errConvert
		}
	}
	if fp != "" {
		if fp, ok = digitsWithUnderscores(fp); !ok {
			return 0, errConvert
		}
	}
	text := ip
	if text == "" {
		text = "0"
	}
	if hasDot && fp != "" {
		text += "." + fp
	}
	if exp != "" {
		text += "e" + exp
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, errConvert
	}
	return sign * f, nil
}

// PyInt is Python's int(v): ints stay, bools become 0 or 1, floats are
// truncated, strs are parsed; errors are errConvert (ValueError), errType
// (TypeError) or errOverflow.
func PyInt(v Value) (Value, error) {
	switch x := v.(type) {
	case Int:
		return x, nil
	case Bool:
		if x {
			return MakeInt(1), nil
		}
		return MakeInt(0), nil
	case Float:
		f := float64(x)
		if math.IsNaN(f) {
			return nil, errConvert
		}
		if math.IsInf(f, 0) {
			return nil, errOverflow
		}
		i, _ := new(big.Float).SetFloat64(math.Trunc(f)).Int(nil)
		return Int{i}, nil
	case Str:
		i, err := PyIntFromStr(string(x))
		if err != nil {
			return nil, err
		}
		return Int{i}, nil
	case Bytes:
		i, err := PyIntFromStr(string(x))
		if err != nil {
			return nil, err
		}
		return Int{i}, nil
	}
	return nil, errType
}

// PyFloat is Python's float(v).
func PyFloat(v Value) (Value, error) {
	switch x := v.(type) {
	case Float:
		return x, nil
	case Int:
		f, ok := intToFloat(x.Int)
		if !ok {
			return nil, errOverflow
		}
		return Float(f), nil
	case Bool:
		if x {
			return Float(1), nil
		}
		return Float(0), nil
	case Str:
		f, err := PyFloatFromStr(string(x))
		if err != nil {
			return nil, err
		}
		return Float(f), nil
	case Bytes:
		f, err := PyFloatFromStr(string(x))
		if err != nil {
			return nil, err
		}
		return Float(f), nil
	}
	return nil, errType
}

// tryConvert is the harness's _try_to_convert_to_correct_type: int(v), else
// float(v), else v, where only a ValueError moves on to the next step; any
// other error escapes (and the caller's try block swallows it).
func tryConvert(v Value) (Value, error) {
	i, err := PyInt(v)
	if err == nil {
		return i, nil
	}
	if !errors.Is(err, errConvert) {
		return nil, err
	}
	f, err := PyFloat(v)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, errConvert) {
		return nil, err
	}
	return v, nil
}

// trimPySpace is Python's str.strip() with no argument.
func trimPySpace(s string) string { return strings.TrimFunc(s, isPySpace) }
