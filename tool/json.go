package tool

import (
	"encoding/json"

	"github.com/gantry-dev/gantry/internal/argcheck"
)

// FromJSON converts the json.Number values of a value decoded with
// UseNumber into int64 (integers) or float64, recursively, so that numbers
// keep the type they had in the code that wrote them. An integer too large
// for int64 stays a json.Number, exact: it must never wrap or turn into a
// float (tool arguments refuse it as out of range, and it goes back to
// JSON as written).
func FromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		if argcheck.IsIntLiteral(string(x)) {
			return x
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = FromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = FromJSON(x[k])
		}
	}
	return v
}
