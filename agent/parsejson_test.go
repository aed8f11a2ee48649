package agent

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/tool"
)

// referenceJSONAction is the plain definition of the json format's parse:
// decode from every '{' in turn, take the first object that decodes into a
// jsonCall with a tool or a solution. parseJSONAction must agree with it.
func referenceJSONAction(msg string) Action {
	body := thoughtRE.ReplaceAllString(msg, "")
	if m := solutionRE.FindStringSubmatch(body); m != nil {
		return Action{Kind: ActSolution, Solution: strings.TrimSpace(m[1])}
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '{' {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(body[i:]))
		dec.UseNumber()
		var call jsonCall
		if err := dec.Decode(&call); err != nil {
			continue
		}
		if call.Solution != nil {
			return Action{Kind: ActSolution, Solution: *call.Solution}
		}
		if call.Tool == "" {
			continue
		}
		args, _ := tool.FromJSON(call.Args).(map[string]any)
		return Action{Kind: ActExecute, Tool: call.Tool, Args: args, Code: renderCall(call.Tool, args)}
	}
	return Action{Kind: ActNone, Problem: `no JSON object of the form {"tool": "...", "args": {...}}`}
}

func checkJSONAgrees(t *testing.T, msg string) {
	t.Helper()
	got, want := parseJSONAction(msg), referenceJSONAction(msg)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%.300q:\ngot  %+v\nwant %+v", msg, got, want)
	}
}

// nestedDepth is n objects, each the value of "a" in the last, closed.
func nestedDepth(n int, inner string) string {
	return strings.Repeat(`{"a":`, n) + inner + strings.Repeat("}", n)
}

func TestParseJSONAgreesWithDecoder(t *testing.T) {
	cases := []string{
		`{"tool": "look", "args": {}}`,
		`{"Tool": "look"}`,
		`{"TOOL": "look", "ARGS": {"x": 1}}`,
		`{"\u0074ool": "look"}`,
		`{"ſolution": "s"}`,
		`{"tool": "", "tool": "look"}`,
		`{"tool": "look", "tool": null}`,
		`{"tool": "look", "tool": ""}`,
		`{"tool": 5} {"tool": "b"}`,
		`{"tool": "a", "args": 5} {"tool": "b"}`,
		`{"tool": "a", "args": [1]} {"tool": "b"}`,
		`{"tool": "a", "args": null}`,
		`{"solution": null} {"solution": "x"}`,
		`{"solution": "x", "solution": null} {"tool": "t"}`,
		`{"solution": ""}`,
		`{"solution": {"a": 1}} {"tool": "t"}`,
		`{"a": {"tool": "inner"}`,
		`{"a": {"tool": "inner"}, "tool": 1}`,
		`{"a": "{\"tool\": \"s\"}"}`,
		`{"a": "{"tool": "x"}"}`,
		`{"tool": "x", "args": {"n": 01}}`,
		`{"tool": "x", "args": {"n": -0.5e+3, "m": [true, false, null, "\u00e9"]}}`,
		`{"tool": "x", "args": {"n": 1.}} {"tool": "y"}`,
		`{"tool": "x\q"} {"tool": "y"}`,
		`{"tool": "x",} {"tool": "y"}`,
		`{"tool": "x"` + "\n",
		"{\"tool\": \"a\tb\"} {\"tool\": \"c\"}",
		`[{"tool": "in array"}]`,
		`{"a": [{"tool": "in array"}, 1,]}`,
		`{} {"tool": "t"}`,
		`{{{"tool": "t"}`,
		nestedDepth(20, `{"tool": "deep"}`),
		strings.Repeat(`{"a":`, 3000),
		strings.Repeat(`{"a":`, 3000) + `{"tool": "t"}`,
		strings.Repeat(`{"tool":"x","args":`, 500) + "{}" + strings.Repeat(`,"args":5}`, 500),
	}
	for _, c := range cases {
		checkJSONAgrees(t, c)
	}
}

// TestParseJSONAgreesRandom compares the two on random messages built of
// JSON fragments.
func TestParseJSONAgreesRandom(t *testing.T) {
	frags := []string{`{`, `}`, `[`, `]`, `"`, `,`, `:`, ` `, `\`, `"tool"`, `"args"`, `"solution"`, `"TooL"`, `"\u0074ool"`,
		`"x"`, `""`, `1`, `-0.5`, `01`, `null`, `true`, `{}`, `[]`, "\n", `a`, `é`, `"{"`, `"}"`, `\"`}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := r.IntN(40); k >= 0; k-- {
			b.WriteString(frags[r.IntN(len(frags))])
		}
		checkJSONAgrees(t, b.String())
	}
}

// TestParseJSONHostile checks messages on which decoding from every '{'
// takes quadratic time: they give what decoding gives.
func TestParseJSONHostile(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want Action
	}{
		{"unclosed nesting", strings.Repeat(`{"a":`, 200_000), Action{Kind: ActNone}},
		{"nesting then a call", strings.Repeat(`{"a":`, 150_000) + `{"tool": "look", "args": {}}`, Action{Kind: ActExecute, Tool: "look"}},
		{"closed nesting blocks", strings.Repeat(nestedDepth(9000, "1"), 15) + `{"tool": "look"}`, Action{Kind: ActExecute, Tool: "look"}},
		// At encoding/json's depth limit (10000): these agree with
		// referenceJSONAction, which takes tens of seconds on them.
		{"depth 10000", nestedDepth(9999, `{"tool": "deep"}`), Action{Kind: ActExecute, Tool: "deep"}},
		{"depth 10001", nestedDepth(10000, `{"tool": "deep"}`), Action{Kind: ActExecute, Tool: "deep"}},
		{"outer object too deep", `{"x": ` + nestedDepth(10000, `1`) + `, "tool": "outer"}`, Action{Kind: ActNone}},
		{"after an object too deep", nestedDepth(10001, `1`) + ` {"tool": "after"}`, Action{Kind: ActExecute, Tool: "after"}},
		{"type errors at every level", strings.Repeat(`{"tool":"x","args":`, 50_000) + "{}" + strings.Repeat(`,"args":5}`, 50_000), Action{Kind: ActNone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseAction(tc.msg, JSON)
			if got.Kind != tc.want.Kind || got.Tool != tc.want.Tool {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func FuzzParseJSONAgrees(f *testing.F) {
	for _, s := range []string{`{"tool": "a", "args": {"b": [1, {"c": 2.5}]}}`, `{"a": {"tool": "x"}`, `{"\u0074ool": "x"}`, `{"solution": null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		checkJSONAgrees(t, msg)
	})
}

// BenchmarkParseJSONNested parses unclosed nesting of two sizes: the time
// per byte stays the same (decoding from every '{' took time quadratic in
// the size).
func BenchmarkParseJSONNested(b *testing.B) {
	for _, n := range []int{20_000, 200_000} {
		msg := strings.Repeat(`{"a":`, n)
		b.Run(fmt.Sprint(len(msg)), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if a := ParseAction(msg, JSON); a.Kind != ActNone {
					b.Fatal(a)
				}
			}
		})
	}
}
