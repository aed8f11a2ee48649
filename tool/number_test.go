package tool

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"
)

// TestHostileNumbers: non-finite and huge numbers, as the runtimes and the
// JSON decoders hand them over, are refused at once with a clear message;
// huge integers are printed exactly (never as floats) and never wrap.
func TestHostileNumbers(t *testing.T) {
	r := roverRegistry(t)
	huge, _ := new(big.Int).SetString("10000000000000000000", 10)
	tests := []struct {
		name  string
		named map[string]any
		want  string
	}{
		{"nan speed", map[string]any{"speed": math.NaN()}, "rover.drive: speed must be a finite number, got nan"},
		{"inf speed", map[string]any{"speed": math.Inf(1)}, "rover.drive: speed must be a finite number, got inf"},
		{"-inf speed", map[string]any{"speed": math.Inf(-1)}, "rover.drive: speed must be a finite number, got -inf"},
		{"nan ms", map[string]any{"speed": 0.1, "ms": math.NaN()}, "rover.drive: ms must be a finite number, got nan"},
		{"inf ms", map[string]any{"speed": 0.1, "ms": math.Inf(1)}, "rover.drive: ms must be a finite number, got inf"},
		{"json 10**19 ms", map[string]any{"speed": 0.1, "ms": json.Number("10000000000000000000")}, "rover.drive: ms is out of range (0..10000), got 10000000000000000000"},
		{"json -10**19 ms", map[string]any{"speed": 0.1, "ms": json.Number("-10000000000000000000")}, "rover.drive: ms is out of range (0..10000), got -10000000000000000000"},
		{"big.Int ms", map[string]any{"speed": 0.1, "ms": huge}, "rover.drive: ms is out of range (0..10000), got 10000000000000000000"},
		{"uint64 ms", map[string]any{"speed": 0.1, "ms": uint64(1 << 63)}, "rover.drive: ms is out of range (0..10000), got 9223372036854775808"},
		{"float 1e19 ms", map[string]any{"speed": 0.1, "ms": 1e19}, "rover.drive: ms is out of range (0..10000), got 1e+19"},
		{"2**63 as float ms", map[string]any{"speed": 0.1, "ms": math.Pow(2, 63)}, "rover.drive: ms is out of range (0..10000), got 9.223372036854776e+18"},
		{"10**400 speed", map[string]any{"speed": json.Number("1" + strings.Repeat("0", 400))}, "rover.drive: speed is out of range (-1.0..1.0), got 10000000000000000000...0000000000 (401 digits)"},
		{"10**30 speed", map[string]any{"speed": json.Number("1" + strings.Repeat("0", 30))}, "rover.drive: speed must be <= 1.0, got 1000000000000000000000000000000"},
		{"1e400 speed", map[string]any{"speed": json.Number("1e400")}, "rover.drive: speed is out of range (-1.0..1.0), got 1e400"},
		{"int64 max ms", map[string]any{"speed": 0.1, "ms": int64(math.MaxInt64)}, "rover.drive: ms must be <= 10000, got 9223372036854775807"},
		{"json small ms ok", map[string]any{"speed": json.Number("0.5"), "ms": json.Number("800")}, "{'ms': 800, 'speed': 0.5}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Call(context.Background(), "rover.drive", nil, tc.named)
			s := Repr(got)
			if err != nil {
				s = err.Error()
			}
			if s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestFromJSONKeepsHugeIntegers(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"a": 10000000000000000000, "b": 3, "c": 1.5, "d": [-99999999999999999999]}`))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	m := FromJSON(v).(map[string]any)
	if m["a"] != json.Number("10000000000000000000") || m["b"] != int64(3) || m["c"] != 1.5 || m["d"].([]any)[0] != json.Number("-99999999999999999999") {
		t.Fatalf("FromJSON: %#v", m)
	}
	if TypeName(m["a"]) != "int" || Repr(m["a"]) != "10000000000000000000" {
		t.Errorf("TypeName %s Repr %s", TypeName(m["a"]), Repr(m["a"]))
	}
}

// TestRefusalsAreReported: every call refused by argument checking reaches
// the tool's Refused hook exactly once, with the arguments as given, and a
// call to a missing tool in a watched namespace reaches OnUnknown.
func TestRefusalsAreReported(t *testing.T) {
	type heard struct {
		name  string
		given map[string]any
		err   string
	}
	var got []heard
	r := roverRegistry(t)
	drive, _ := r.Lookup("rover.drive")
	drive.Refused = func(_ context.Context, given map[string]any, err error) {
		got = append(got, heard{"rover.drive", given, err.Error()})
	}
	r.OnUnknown("rover", func(_ context.Context, name string, pos []any, named map[string]any, err error) {
		got = append(got, heard{name, named, err.Error()})
	})
	ctx := context.Background()
	calls := []struct {
		name  string
		pos   []any
		named map[string]any
		want  string // "" when the call passes
	}{
		{"rover.drive", nil, map[string]any{"speed": math.NaN()}, "speed must be a finite number"},
		{"rover.drive", []any{0.1, int64(1), true}, nil, "takes 2 arguments but 3 were given"},
		{"rover.drive", nil, map[string]any{"speed": 0.1, "boost": true}, `unexpected argument "boost"`},
		{"rover.drive", nil, map[string]any{"speed": "fast"}, "must be a float, got str"},
		{"rover.drive", nil, nil, "speed is required"},
		{"rover.drive", nil, map[string]any{"speed": 0.1}, ""},
		{"rover.reset", nil, map[string]any{"x": int64(1)}, `no tool named "rover.reset"`},
		{"put", []any{"a"}, nil, "receptacle is required"}, // no hook: not heard
		{"arm.fly", nil, nil, `no tool named "arm.fly"`},   // namespace not watched
	}
	want := 0
	for _, c := range calls {
		before := len(got)
		_, err := r.Call(ctx, c.name, c.pos, c.named)
		if c.want == "" {
			if err != nil || len(got) != before {
				t.Errorf("%s %v: err %v, heard %d", c.name, c.named, err, len(got)-before)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if c.name == "put" || c.name == "arm.fly" {
			continue
		}
		want++
		if len(got) != before+1 || got[before].err != err.Error() {
			t.Errorf("%s %v: heard %d reports, want 1 with the caller's error", c.name, c.named, len(got)-before)
		}
	}
	if len(got) != want {
		t.Errorf("heard %d reports, want %d", len(got), want)
	}
	if g := got[1].given; g["speed"] != 0.1 || g["ms"] != int64(1) || g["arg3"] != true {
		t.Errorf("positional arguments as given: %v", g)
	}
	other := NewRegistry()
	if err := other.Merge(r); err != nil {
		t.Fatal(err)
	}
	before := len(got)
	other.Call(ctx, "rover.fly", nil, nil)
	if len(got) != before+1 {
		t.Error("Merge lost the OnUnknown hook")
	}
}
