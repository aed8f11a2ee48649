package repr

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"testing"
)

func TestFloat(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables: constant arithmetic would be exact
	tests := []struct {
		f           float64
		repr, short string
	}{
		{1, "1.0", "1"},
		{0.25, "0.25", "0.25"},
		{math.Copysign(0, -1), "-0.0", "-0"},
		{1e6, "1000000.0", "1000000"},
		{1e16, "1e+16", "1e+16"},
		{1.5e-5, "1.5e-05", "1.5e-05"},
		{1e-4, "0.0001", "0.0001"},
		{123456789012345678, "1.2345678901234568e+17", "1.2345678901234568e+17"},
		{1e300, "1e+300", "1e+300"},
		{tenth + fifth, "0.30000000000000004", "0.30000000000000004"},
		{math.NaN(), "nan", "nan"},
		{math.Inf(1), "inf", "inf"},
		{math.Inf(-1), "-inf", "-inf"},
	}
	for _, tc := range tests {
		if got := Float(tc.f); got != tc.repr {
			t.Errorf("Float(%v) = %q, want %q", tc.f, got, tc.repr)
		}
		if got := FloatShort(tc.f); got != tc.short {
			t.Errorf("FloatShort(%v) = %q, want %q", tc.f, got, tc.short)
		}
		if !math.IsNaN(tc.f) && !math.IsInf(tc.f, 0) {
			if back, err := strconv.ParseFloat(Float(tc.f), 64); err != nil || back != tc.f {
				t.Errorf("Float(%v) = %q reads back as %v (%v)", tc.f, Float(tc.f), back, err)
			}
		}
	}
}

func TestNumber(t *testing.T) {
	for f, want := range map[float64]string{1: "1", 0.5: "0.5", -0.5: "-0.5", 3000: "3000", 1e20: "1e+20", 1e-7: "1e-07"} {
		if got := Number(f); got != want {
			t.Errorf("Number(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestTypeNames(t *testing.T) {
	tests := []struct {
		v          any
		py, asJSON string
	}{
		{nil, "None", "null"},
		{true, "bool", "boolean"},
		{int64(3), "int", "number"},
		{3, "int", "number"},
		{big.NewInt(3), "int", "number"},
		{2.5, "float", "number"},
		{float32(2.5), "float", "number"},
		{json.Number("10"), "int", "number"},
		{json.Number("-10"), "int", "number"},
		{json.Number("1.5"), "float", "number"},
		{json.Number("1e3"), "float", "number"},
		{"x", "str", "string"},
		{[]any{1}, "list", "array"},
		{[]string{"a"}, "list", "array"},
		{map[string]any{}, "dict", "object"},
		{struct{}{}, "struct {}", "struct {}"},
		{[]byte("x"), "[]uint8", "[]uint8"},
	}
	for _, tc := range tests {
		if got := PyType(tc.v); got != tc.py {
			t.Errorf("PyType(%#v) = %q, want %q", tc.v, got, tc.py)
		}
		if got := JSONType(tc.v); got != tc.asJSON {
			t.Errorf("JSONType(%#v) = %q, want %q", tc.v, got, tc.asJSON)
		}
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven cha..."},
		{"aé", 2, "a..."}, // é is two bytes: not split
		{"ééé", 3, "é..."},
		{"é", 0, "..."},
	}
	for _, tc := range tests {
		if got := Shorten(tc.s, tc.max); got != tc.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}
