package tool

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func roverRegistry(t *testing.T) *Registry {
	t.Helper()
	r := NewRegistry()
	r.MustRegister(Tool{
		Name: "rover.drive",
		Doc:  "Drive the rover straight.",
		Params: []Param{
			{Name: "speed", Type: Float, Required: true, Doc: "Wheel speed.", Unit: "m/s", Min: Bound(-1), Max: Bound(1)},
			{Name: "ms", Type: Int, Default: int64(500), Doc: "Duration.", Unit: "ms", Min: Bound(0), Max: Bound(10000)},
		},
		Returns:   Dict,
		ReturnDoc: "the odometry after the move",
		Example:   "rover.drive(speed=0.4, ms=800)",
		Fn: func(ctx context.Context, a Args) (any, error) {
			return map[string]any{"speed": a.Float("speed"), "ms": a.Int("ms")}, nil
		},
	}, Tool{
		Name: "put", Doc: "Put an object in or on a receptacle.",
		Params: []Param{
			{Name: "object", Type: String, Required: true},
			{Name: "receptacle", Type: String, Required: true},
		},
		Returns: String,
		Fn: func(ctx context.Context, a Args) (any, error) {
			return "You put the " + a.String("object") + " in/on the " + a.String("receptacle") + ".", nil
		},
	})
	return r
}

func TestCallChecksArguments(t *testing.T) {
	r := roverRegistry(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		tool       string
		positional []any
		named      map[string]any
		want       string // Repr of the result, or the error text
	}{
		{"named", "rover.drive", nil, map[string]any{"speed": 0.5, "ms": int64(800)}, "{'ms': 800, 'speed': 0.5}"},
		{"positional with default", "rover.drive", []any{int64(1)}, nil, "{'ms': 500, 'speed': 1.0}"},
		{"above max", "rover.drive", nil, map[string]any{"speed": int64(3)}, "rover.drive: speed must be <= 1.0, got 3"},
		{"below min int", "rover.drive", []any{0.1, int64(-5)}, nil, "rover.drive: ms must be >= 0, got -5"},
		{"wrong type", "rover.drive", []any{"fast"}, nil, "rover.drive: speed must be a float, got str"},
		{"float for int", "rover.drive", []any{0.1, 2.5}, nil, "rover.drive: ms must be an int, got 2.5"},
		{"missing", "put", []any{"apple 1"}, nil, "put: receptacle is required"},
		{"too many", "put", []any{"a", "b", "c"}, nil, "put: takes 2 arguments but 3 were given"},
		{"unknown kwarg", "put", []any{"a", "b"}, map[string]any{"force": true}, `put: unexpected argument "force" (parameters: object, receptacle)`},
		{"twice", "put", []any{"a", "b"}, map[string]any{"object": "c"}, "put: object given twice (by position and by name)"},
		{"no such tool", "fly", nil, nil, `no tool named "fly"`},
		{"ok", "put", []any{"apple 1", "fridge 1"}, nil, "'You put the apple 1 in/on the fridge 1.'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Call(ctx, tc.tool, tc.positional, tc.named)
			var s string
			if err != nil {
				s = err.Error()
			} else {
				s = Repr(got)
			}
			if s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}

func TestToolErrorKeepsIdentity(t *testing.T) {
	sentinel := errors.New("motor stalled")
	r := NewRegistry()
	r.MustRegister(Tool{Name: "arm.lift", Fn: func(context.Context, Args) (any, error) { return nil, sentinel }})
	_, err := r.Call(context.Background(), "arm.lift", nil, nil)
	if !errors.Is(err, sentinel) {
		t.Fatalf("errors.Is lost the tool's error: %v", err)
	}
	var nf *NotFoundError
	if _, err := r.Call(context.Background(), "arm.drop", nil, nil); !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError, got %v", err)
	}
}

func TestRegisterRejects(t *testing.T) {
	fn := func(context.Context, Args) (any, error) { return nil, nil }
	tests := []struct {
		name string
		tool Tool
		want string
	}{
		{"bad name", Tool{Name: "rover-1.drive", Fn: fn}, "not an identifier"},
		{"no fn", Tool{Name: "x"}, "no function"},
		{"dup param", Tool{Name: "x", Fn: fn, Params: []Param{{Name: "a", Type: Int}, {Name: "a", Type: Int}}}, "declared twice"},
		{"bad type", Tool{Name: "x", Fn: fn, Params: []Param{{Name: "a", Type: "complex"}}}, "unknown type"},
		{"required after optional", Tool{Name: "x", Fn: fn, Params: []Param{{Name: "a", Type: Int}, {Name: "b", Type: Int, Required: true}}}, "follows an optional"},
		{"bad default", Tool{Name: "x", Fn: fn, Params: []Param{{Name: "a", Type: Int, Default: "3"}}}, "default"},
		{"namespace collision", Tool{Name: "rover", Fn: fn}, "collides"},
		{"taken", Tool{Name: "put", Fn: fn}, "already registered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := roverRegistry(t)
			err := r.Register(tc.tool)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestRendering(t *testing.T) {
	r := roverRegistry(t)
	want := `rover.drive(speed: float, ms: int = 500) -> dict
    Drive the rover straight.
    speed: Wheel speed. (unit m/s; -1.0 to 1.0)
    ms: Duration. (unit ms; 0 to 10000)
    Returns: the odometry after the move
    Example: rover.drive(speed=0.4, ms=800)

put(object: str, receptacle: str) -> str
    Put an object in or on a receptacle.`
	if got := r.PromptDocs(); got != want {
		t.Errorf("PromptDocs:\n%s\nwant:\n%s", got, want)
	}
	fns := r.Functions()
	if len(fns) != 2 || fns[0].Name != "rover__drive" || FromFunctionName(fns[0].Name) != "rover.drive" {
		t.Fatalf("Functions: %+v", fns)
	}
	props := fns[0].Parameters["properties"].(map[string]any)
	speed := props["speed"].(map[string]any)
	if speed["type"] != "number" || speed["maximum"] != 1.0 {
		t.Errorf("speed schema: %v", speed)
	}
	if got := r.Namespaces(); len(got) != 1 || got[0] != "rover" {
		t.Errorf("Namespaces: %v", got)
	}
}

func TestReprAndTruncate(t *testing.T) {
	reprs := []struct {
		v    any
		want string
	}{
		{"it's", `"it's"`},
		{"a\nb", `'a\nb'`},
		{[]any{int64(1), 2.0, nil, true}, "[1, 2.0, None, True]"},
		{map[string]any{"b": "x", "a": []string{"y"}}, "{'a': ['y'], 'b': 'x'}"},
		{1e20, "1e+20"},
	}
	for _, tc := range reprs {
		if got := Repr(tc.v); got != tc.want {
			t.Errorf("Repr(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	s := strings.Repeat("a", 500) + strings.Repeat("é", 500) + strings.Repeat("z", 500)
	out, cut := Truncate(s, 300)
	if !cut || len(out) > 300 || !strings.HasPrefix(out, "aaa") || !strings.HasSuffix(out, "zzz") || !strings.Contains(out, "bytes truncated") {
		t.Fatalf("Truncate: cut=%v len=%d %q", cut, len(out), out)
	}
	if out, cut := Truncate("short", 300); cut || out != "short" {
		t.Fatalf("Truncate short: %q %v", out, cut)
	}
}

func TestObservation(t *testing.T) {
	if got := (Result{}).Observation(); got != NoOutput {
		t.Errorf("empty: %q", got)
	}
	r := Result{Stdout: "hi\n", Value: "3", Err: &CodeError{Type: "NameError", Message: "x", Traceback: "Traceback (most recent call last):\n  line 1\nNameError: x"}}
	want := "hi\n3\nTraceback (most recent call last):\n  line 1\nNameError: x"
	if got := r.Observation(); got != want {
		t.Errorf("got %q", got)
	}
}
