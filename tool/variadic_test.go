package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// variadicRegistry has total(*values: float), join(sep: str, *parts: str),
// and pick(n: int = 1, *tags: str), each returning its Args as a list.
func variadicRegistry(t *testing.T) *Registry {
	t.Helper()
	r := NewRegistry()
	echo := func(names ...string) Func {
		return func(_ context.Context, a Args) (any, error) {
			out := []any{}
			for _, n := range names {
				out = append(out, a[n])
			}
			return out, nil
		}
	}
	r.MustRegister(Tool{
		Name:    "total",
		Doc:     "Add numbers.",
		Params:  []Param{{Name: "values", Type: Float, Variadic: true, Doc: "The numbers.", Min: Bound(0)}},
		Returns: Float,
		Fn:      echo("values"),
	}, Tool{
		Name: "join",
		Params: []Param{
			{Name: "sep", Type: String, Required: true},
			{Name: "parts", Type: String, Variadic: true, Enum: []string{"a", "b"}},
		},
		Returns: String,
		Fn:      echo("sep", "parts"),
	}, Tool{
		Name: "pick",
		Params: []Param{
			{Name: "n", Type: Int, Default: int64(1)},
			{Name: "tags", Type: Any, Variadic: true},
		},
		Fn: echo("n", "tags"),
	})
	return r
}

func TestVariadicCall(t *testing.T) {
	r := variadicRegistry(t)
	many := make([]any, 1000)
	for i := range many {
		many[i] = int64(i)
	}
	tests := []struct {
		name       string
		tool       string
		positional []any
		named      map[string]any
		byName     bool   // CallNamed instead of Call
		want       string // Repr of the result, or the error text
		kind       Kind   // of the error
	}{
		{"none", "total", nil, nil, false, "[[]]", 0},
		{"some, converted", "total", []any{int64(1), 2.5}, nil, false, "[[1.0, 2.5]]", 0},
		{"a thousand", "total", many, nil, false, fmt.Sprintf("[[%s]]", floats(1000)), 0},
		{"wrong type", "total", []any{1.0, "x"}, nil, false, "total: values[1] must be a float, got str", ArgType},
		{"out of bounds", "total", []any{1.0, 2.0, -3.0}, nil, false, "total: values[2] must be >= 0.0, got -3.0", ArgValue},
		{"named in code", "total", nil, map[string]any{"values": []any{1.0}}, false, `total: unexpected argument "values" (parameters: *values)`, ArgType},
		{"after fixed", "join", []any{"-", "a", "b", "a"}, nil, false, "['-', ['a', 'b', 'a']]", 0},
		{"fixed only", "join", []any{"-"}, nil, false, "['-', []]", 0},
		{"fixed missing", "join", nil, nil, false, "join: sep is required", ArgType},
		{"enum per element", "join", []any{"-", "a", "c"}, nil, false, `join: parts[1] must be one of "a", "b", got "c"`, ArgValue},
		{"fixed twice", "join", []any{"-", "a"}, map[string]any{"sep": "+"}, false, "join: sep given twice (by position and by name)", ArgType},
		{"optional before", "pick", []any{int64(3), "x", nil}, nil, false, "[3, ['x', None]]", 0},
		{"optional default", "pick", nil, nil, false, "[1, []]", 0},
		{"by name", "join", nil, map[string]any{"sep": "-", "parts": []any{"b"}}, true, "['-', ['b']]", 0},
		{"by name, strings", "join", nil, map[string]any{"sep": "-", "parts": []string{"a"}}, true, "['-', ['a']]", 0},
		{"by name, absent", "join", nil, map[string]any{"sep": "-"}, true, "['-', []]", 0},
		{"by name, not a list", "join", nil, map[string]any{"sep": "-", "parts": "a"}, true, "join: parts must be a list, got str", ArgType},
		{"by name, bad element", "total", nil, map[string]any{"values": []any{1.0, true}}, true, "total: values[1] must be a float, got bool", ArgType},
		{"by name, unknown", "total", nil, map[string]any{"vals": []any{}}, true, `total: unexpected argument "vals" (parameters: *values)`, ArgType},
		{"by name, no tool", "sum", nil, nil, true, `no tool named "sum"`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got any
			var err error
			if tc.byName {
				got, err = r.CallNamed(context.Background(), tc.tool, tc.named)
			} else {
				got, err = r.Call(context.Background(), tc.tool, tc.positional, tc.named)
			}
			s := Repr(got)
			if err != nil {
				s = err.Error()
			}
			if s != tc.want {
				t.Errorf("got %s\nwant %s", s, tc.want)
			}
			if tc.kind != 0 && !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(err, %s) does not hold for %#v", tc.kind, err)
			}
		})
	}
}

func floats(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%d.0", i)
	}
	return strings.Join(parts, ", ")
}

func TestVariadicRegisterRejects(t *testing.T) {
	fn := func(context.Context, Args) (any, error) { return nil, nil }
	tests := []struct {
		name   string
		params []Param
		want   string
	}{
		{"not last", []Param{{Name: "a", Type: Int, Variadic: true}, {Name: "b", Type: Int}}, `variadic parameter "a" is not the last one`},
		{"required", []Param{{Name: "a", Type: Int, Variadic: true, Required: true}}, `variadic parameter "a" cannot be required`},
		{"default", []Param{{Name: "a", Type: Int, Variadic: true, Default: int64(1)}}, `variadic parameter "a" cannot have a default`},
		{"two", []Param{{Name: "a", Type: Int, Variadic: true}, {Name: "b", Type: Int, Variadic: true}}, `variadic parameter "a" is not the last one`},
		{"bad type", []Param{{Name: "a", Type: "set", Variadic: true}}, "unknown type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := NewRegistry().Register(Tool{Name: "x", Fn: fn, Params: tc.params})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestVariadicRendering(t *testing.T) {
	r := variadicRegistry(t)
	want := `total(*values: float) -> float
    Add numbers.
    *values: The numbers. (>= 0.0)

join(sep: str, *parts: str) -> str
    *parts: (one of "a", "b")

pick(n: int = 1, *tags: any) -> None`
	if got := r.PromptDocs(); got != want {
		t.Errorf("PromptDocs:\n%s\nwant:\n%s", got, want)
	}
	fns := r.Functions()
	got, err := json.Marshal(fns[0].Parameters)
	if err != nil {
		t.Fatal(err)
	}
	wantSchema := `{"additionalProperties":false,"properties":{"values":{"description":"The numbers.","items":{"minimum":0,"type":"number"},"type":"array"}},"required":[],"type":"object"}`
	if string(got) != wantSchema {
		t.Errorf("schema:\n%s\nwant:\n%s", got, wantSchema)
	}
	got, _ = json.Marshal(fns[1].Parameters)
	wantSchema = `{"additionalProperties":false,"properties":{"parts":{"items":{"enum":["a","b"],"type":"string"},"type":"array"},"sep":{"type":"string"}},"required":["sep"],"type":"object"}`
	if string(got) != wantSchema {
		t.Errorf("schema:\n%s\nwant:\n%s", got, wantSchema)
	}
}

func TestVariadicGiven(t *testing.T) {
	r := variadicRegistry(t)
	var given map[string]any
	var refusal error
	jt, _ := r.Lookup("join")
	j := *jt
	j.Refused = func(_ context.Context, g map[string]any, err error) { given, refusal = g, err }
	if _, err := j.Call(context.Background(), []any{"-", "a", "z"}, nil); err == nil {
		t.Fatal("no error")
	}
	if got := Repr(given); got != "{'parts': ['a', 'z'], 'sep': '-'}" || refusal == nil {
		t.Errorf("Refused heard %s, %v", got, refusal)
	}
}
