package tool

import "encoding/json"

// FromJSON converts the json.Number values of a value decoded with
// UseNumber into int64 (integers) or float64, recursively, so that numbers
// keep the type they had in the code that wrote them.
func FromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
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
