// Package argcheck is the one implementation of argument checking shared
// by the tool registry (package tool: what model-written code passes) and
// the gantry/1 device protocol (package protocol: what a device accepts):
// reading a number exactly, whatever Go type a runtime or a JSON decoder
// hands over, and checking it as an integer or a float against inclusive
// bounds.
//
// It decides; it does not word. Each caller turns a Problem into a message
// in its own vocabulary (Python's "int" and "float" for tools, JSON
// Schema's "integer" and "number" for devices).
package argcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Kind tells apart the numbers ReadNumber reads.
type Kind int

// The kinds of numbers.
const (
	KindInt   Kind = iota // fits an int64: Number.I
	KindBig               // an integer beyond int64: Number.Big
	KindFloat             // Number.F
)

// Number is a numeric argument as given, read exactly: integers never
// become floats, so a huge one is neither wrapped nor rounded.
type Number struct {
	Kind Kind
	I    int64
	Big  *big.Int
	F    float64
	// RangeErr marks a float literal beyond float64 (F is ±Inf).
	RangeErr bool
	// Text is the integer as written (shortened when huge), or a float
	// literal beyond float64 as written; empty for other floats, which each
	// caller prints in its own style.
	Text string
}

// ReadNumber reads the numeric Go values runtimes and decoders hand over:
// Go ints and floats, json.Number (from JSON decoded with UseNumber;
// integers of any size stay exact) and *big.Int. It reports false for
// anything else, a json.Number that is no number included.
func ReadNumber(v any) (Number, bool) {
	switch x := v.(type) {
	case int:
		return Number{Kind: KindInt, I: int64(x), Text: strconv.Itoa(x)}, true
	case int64:
		return Number{Kind: KindInt, I: x, Text: strconv.FormatInt(x, 10)}, true
	case int32:
		return Number{Kind: KindInt, I: int64(x), Text: strconv.FormatInt(int64(x), 10)}, true
	case uint64:
		if x <= math.MaxInt64 {
			return Number{Kind: KindInt, I: int64(x), Text: strconv.FormatUint(x, 10)}, true
		}
		b := new(big.Int).SetUint64(x)
		return Number{Kind: KindBig, Big: b, Text: ShortDigits(b.String())}, true
	case *big.Int:
		if x == nil {
			return Number{}, false
		}
		if x.IsInt64() {
			return Number{Kind: KindInt, I: x.Int64(), Text: x.String()}, true
		}
		return Number{Kind: KindBig, Big: x, Text: ShortDigits(x.String())}, true
	case float64:
		return Number{Kind: KindFloat, F: x}, true
	case float32:
		return Number{Kind: KindFloat, F: float64(x)}, true
	case json.Number:
		s := string(x)
		if IsIntLiteral(s) {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return Number{Kind: KindInt, I: n, Text: s}, true
			}
			if b, ok := new(big.Int).SetString(s, 10); ok {
				return Number{Kind: KindBig, Big: b, Text: ShortDigits(b.String())}, true
			}
			return Number{}, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return Number{}, false
		}
		if err != nil {
			return Number{Kind: KindFloat, F: f, RangeErr: true, Text: ShortDigits(s)}, true
		}
		return Number{Kind: KindFloat, F: f}, true
	}
	return Number{}, false
}

// Float64 returns the number as a float64 (±Inf for an integer or literal
// beyond float64).
func (n Number) Float64() float64 {
	switch n.Kind {
	case KindInt:
		return float64(n.I)
	case KindBig:
		f, _ := new(big.Float).SetInt(n.Big).Float64()
		return f
	}
	return n.F
}

// Problem is why a value does not fit a numeric parameter.
type Problem int

// The problems, from the value's type to its bounds.
const (
	OK         Problem = iota
	NotNumber          // not a number at all
	NotInteger         // a float with a fractional part, for an integer
	NotFinite          // NaN or ±Inf
	BeyondType         // no value of the parameter's type can hold it (beyond int64 or float64)
	BelowMin           // below the minimum
	AboveMax           // above the maximum
)

// Integer checks v as an integer parameter bounded by min and max
// (inclusive, when non-nil). A float with no fractional part is an
// integer. On OK it returns the value; n is the number as read (for
// messages) whenever v is a number.
func Integer(v any, min, max *float64) (i int64, n Number, p Problem) {
	n, ok := ReadNumber(v)
	switch {
	case !ok:
		return 0, n, NotNumber
	case n.Kind == KindFloat && (math.IsNaN(n.F) || math.IsInf(n.F, 0)):
		return 0, n, NotFinite
	case n.Kind == KindFloat && n.F != math.Trunc(n.F):
		return 0, n, NotInteger
	case n.Kind == KindFloat && (n.F >= 1<<63 || n.F < -(1<<63)):
		return 0, n, BeyondType
	case n.Kind == KindFloat:
		n.I = int64(n.F)
	case n.Kind == KindBig:
		return 0, n, BeyondType
	}
	if p := Bounds(float64(n.I), min, max); p != OK {
		return 0, n, p
	}
	return n.I, n, OK
}

// Float checks v as a float parameter bounded by min and max (inclusive,
// when non-nil). Integers are accepted and converted.
func Float(v any, min, max *float64) (f float64, n Number, p Problem) {
	n, ok := ReadNumber(v)
	if !ok {
		return 0, n, NotNumber
	}
	f = n.Float64()
	switch {
	case n.Kind == KindBig && math.IsInf(f, 0), n.RangeErr:
		return 0, n, BeyondType
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, n, NotFinite
	}
	if p := Bounds(f, min, max); p != OK {
		return 0, n, p
	}
	return f, n, OK
}

// Bounds checks f against inclusive bounds (nil: none).
func Bounds(f float64, min, max *float64) Problem {
	if min != nil && f < *min {
		return BelowMin
	}
	if max != nil && f > *max {
		return AboveMax
	}
	return OK
}

// IsIntLiteral reports whether s is an optionally signed run of digits.
func IsIntLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ShortDigits shortens the text of a huge number for a message.
func ShortDigits(s string) string {
	if len(s) <= 40 {
		return s
	}
	return fmt.Sprintf("%s...%s (%d digits)", s[:20], s[len(s)-10:], len(strings.TrimPrefix(s, "-")))
}
