// Package repr writes values into messages, once for every package, in the
// two vocabularies gateway messages use: Python's (Float, PyType), for what
// model-written code sees from the tool registry, the runtimes and
// M3ToolEval; and JSON's (Number, JSONType: JSON Schema's type names), for
// what a device says in the gantry/1 protocol. It also holds the one
// truncation of long text (Head, Tail, Shorten: cut.go).
//
// It is a leaf (it imports only internal/argcheck): the protocol package,
// which the reference firmware imports, must not import the tool registry,
// and the registry must not import the protocol.
package repr

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/argcheck"
)

// Float returns Python's repr of a float: "1.0", "0.25", "1000000.0",
// "1e+16", "1.5e-05", "nan", "inf", "-inf".
func Float(f float64) string {
	s := FloatShort(f)
	if strings.ContainsAny(s, ".en") { // "e", "inf", "nan"
		return s
	}
	return s + ".0"
}

// FloatShort is Python's float formatting with the 'r' code and no ".0"
// added to a whole number (as complex's repr writes its parts): the
// shortest text that reads back as f, in exponent form below 1e-4 and from
// 1e16 on, with at least two exponent digits.
func FloatShort(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[:1]
		digits := strings.TrimLeft(exp[1:], "0")
		for len(digits) < 2 {
			digits = "0" + digits
		}
		return mant + "e" + sign + digits
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Number writes a number as JSON and JSON Schema bounds do: the shortest
// text that reads back as f, whole numbers without a point ("1", "0.5",
// "1e+20").
func Number(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// class is what a Go value is, as arguments and results hold it (from a
// runtime or a JSON decoder), before either vocabulary names it.
type class int

const (
	other class = iota
	null
	boolean
	integer
	float
	text
	list
	dict
)

func classify(v any) class {
	switch x := v.(type) {
	case nil:
		return null
	case bool:
		return boolean
	case int, int64, int32, uint64, *big.Int:
		return integer
	case float64, float32:
		return float
	case json.Number:
		if argcheck.IsIntLiteral(string(x)) {
			return integer
		}
		return float
	case string:
		return text
	case []any, []string:
		return list
	case map[string]any:
		return dict
	}
	return other
}

var (
	pyNames   = map[class]string{null: "None", boolean: "bool", integer: "int", float: "float", text: "str", list: "list", dict: "dict"}
	jsonNames = map[class]string{null: "null", boolean: "boolean", integer: "number", float: "number", text: "string", list: "array", dict: "object"}
)

// PyType names the Python type of a value: "None", "bool", "int",
// "float", "str", "list", "dict"; a Go type it does not know by its Go
// name.
func PyType(v any) string { return name(pyNames, v) }

// JSONType names the JSON type of a value as JSON Schema does: "null",
// "boolean", "number", "string", "array", "object"; a Go type it does not
// know by its Go name.
func JSONType(v any) string { return name(jsonNames, v) }

func name(names map[class]string, v any) string {
	if n, ok := names[classify(v)]; ok {
		return n
	}
	return fmt.Sprintf("%T", v)
}
