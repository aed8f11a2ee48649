package protocol

import (
	"encoding/json"
	"math"
	"math/big"
	"testing"
)

func bound(f float64) *float64 { return &f }

// TestValidateArgs: the protocol's words for each problem the shared
// checker (internal/argcheck) finds, and the conversions.
func TestValidateArgs(t *testing.T) {
	a := ActionDesc{Params: map[string]Param{
		"speed": {Type: "number", Minimum: bound(-1), Maximum: bound(1), Required: true},
		"ms":    {Type: "integer", Minimum: bound(0), Maximum: bound(5000), Default: 500},
		"mode":  {Type: "string", Enum: []any{"fast", "slow"}},
		"on":    {Type: "boolean"},
		"path":  {Type: "array"},
		"opts":  {Type: "object"},
	}}
	huge, _ := new(big.Int).SetString("100000000000000000000", 10)
	tests := []struct {
		name string
		args map[string]any
		code string
		msg  string
		want map[string]any // on success
	}{
		{"defaults", map[string]any{"speed": json.Number("0.5")}, "", "", map[string]any{"speed": 0.5, "ms": int64(500)}},
		{"integral float for an integer", map[string]any{"speed": 0.5, "ms": json.Number("20.0")}, "", "", map[string]any{"speed": 0.5, "ms": int64(20)}},
		{"go ints", map[string]any{"speed": int64(1), "ms": 7}, "", "", map[string]any{"speed": 1.0, "ms": int64(7)}},
		{"missing", nil, CodeInvalidArgs, `drive needs argument "speed"`, nil},
		{"unknown", map[string]any{"speed": 0.1, "boost": true}, CodeInvalidArgs, `drive takes no argument "boost" (arguments: mode, ms, on, opts, path, speed)`, nil},
		{"string for a number", map[string]any{"speed": "fast"}, CodeInvalidArgs, "speed must be a number, got string", nil},
		{"string for an integer", map[string]any{"speed": 0.1, "ms": "x"}, CodeInvalidArgs, "ms must be an integer, got string", nil},
		{"fraction", map[string]any{"speed": 0.1, "ms": json.Number("1.5")}, CodeInvalidArgs, "ms must be an integer, got 1.5", nil},
		{"above", map[string]any{"speed": json.Number("3")}, CodeOutOfRange, "speed must be <= 1, got 3", nil},
		{"below", map[string]any{"speed": 0.1, "ms": json.Number("-1")}, CodeOutOfRange, "ms must be >= 0, got -1", nil},
		{"beyond int64", map[string]any{"speed": 0.1, "ms": json.Number("100000000000000000000")}, CodeOutOfRange, "ms is out of range for an integer, got 100000000000000000000", nil},
		{"big.Int", map[string]any{"speed": 0.1, "ms": huge}, CodeOutOfRange, "ms is out of range for an integer, got 100000000000000000000", nil},
		{"beyond float64", map[string]any{"speed": json.Number("1e400")}, CodeOutOfRange, "speed is out of range for a number, got 1e400", nil},
		{"nan", map[string]any{"speed": math.NaN()}, CodeInvalidArgs, "speed must be a finite number, got NaN", nil},
		{"enum", map[string]any{"speed": 0.1, "mode": "warp"}, CodeInvalidArgs, `mode must be one of "fast", "slow"; got "warp"`, nil},
		{"boolean", map[string]any{"speed": 0.1, "on": "yes"}, CodeInvalidArgs, "on must be a boolean, got string", nil},
		{"array", map[string]any{"speed": 0.1, "path": map[string]any{}}, CodeInvalidArgs, "path must be an array, got object", nil},
		{"object", map[string]any{"speed": 0.1, "opts": []any{}}, CodeInvalidArgs, "opts must be an object, got array", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ValidateArgs("drive", a, tc.args)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.want {
					if got[k] != v {
						t.Errorf("%s = %#v, want %#v", k, got[k], v)
					}
				}
				return
			}
			if err == nil || err.Code != tc.code || err.Message != tc.msg {
				t.Fatalf("got %v, want %s: %s", err, tc.code, tc.msg)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"action":"ping"}`, `{"id":2,"action":"drive","args":{"speed":0.5,"ms":800}}`,
		`{"id":1e2,"action":"x"}`, `{"id":9223372036854775808,"action":"x"}`, `{`, `{"id":1,"action":"a","args":null}`,
		`{"id":3,"action":"drive","args":{"ms":1e400}}`, "\x00", `{"id":1,"action":"a"}garbage`,
	} {
		f.Add([]byte(s))
	}
	drive := ActionDesc{Params: map[string]Param{
		"speed": {Type: "number", Minimum: bound(-1), Maximum: bound(1), Required: true},
		"ms":    {Type: "integer", Minimum: bound(0), Default: 500},
	}}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := ParseRequest(line)
		if err != nil {
			if err.Code != CodeBadRequest && err.Code != CodeInvalidArgs {
				t.Fatalf("parse error code %q", err.Code)
			}
			return
		}
		if req.ID <= 0 || req.Action == "" {
			t.Fatalf("accepted %q as %+v", line, req)
		}
		args, verr := ValidateArgs(req.Action, drive, req.Args)
		if verr != nil {
			if verr.Code != CodeInvalidArgs && verr.Code != CodeOutOfRange {
				t.Fatalf("validate code %q", verr.Code)
			}
			return
		}
		if s, ok := args["speed"].(float64); !ok || s < -1 || s > 1 {
			t.Fatalf("speed %#v accepted", args["speed"])
		}
		if ms, ok := args["ms"].(int64); !ok || ms < 0 {
			t.Fatalf("ms %#v accepted", args["ms"])
		}
	})
}
