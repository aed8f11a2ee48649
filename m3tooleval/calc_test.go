package m3tooleval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

type calcCase struct {
	Expression string `json:"expression"`
	Result     string `json:"result"`
	Type       string `json:"type"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "m3tooleval", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestCalculatorRecorded: every expression the reference calculator was
// given reproduces its recorded result (the repr of what it returned).
func TestCalculatorRecorded(t *testing.T) {
	for _, file := range []string{"calculator_cases.json", "calc_golden.json"} {
		var cases []calcCase
		loadJSON(t, file, &cases)
		bad := 0
		for _, c := range cases {
			got := Calculator(c.Expression)
			if Repr(got) != c.Result || TypeName(got) != c.Type {
				bad++
				if bad <= 30 {
					t.Errorf("%s: calculator(%q) = %s (%s), want %s (%s)", file, c.Expression, Repr(got), TypeName(got), c.Result, c.Type)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d cases differ", file, bad, len(cases))
		}
	}
}

type literalCase struct {
	Text string  `json:"text"`
	Str  *string `json:"str"`
	Set  bool    `json:"set"`
}

// TestLiteralEvalGolden: str(ast.literal_eval(text.strip())) as CPython
// computes it, or a refusal, for hand-written and random texts.
func TestLiteralEvalGolden(t *testing.T) {
	var cases []literalCase
	loadJSON(t, "literal_golden.json", &cases)
	bad := 0
	for _, c := range cases {
		if c.Set {
			continue // a set of several elements: CPython's order is its hash table's
		}
		v, err := LiteralEval(trimPySpace(c.Text))
		switch {
		case c.Str == nil && err == nil:
			bad++
			t.Errorf("LiteralEval(%q) = %s, want a refusal", c.Text, StrOf(v))
		case c.Str != nil && err != nil:
			bad++
			t.Errorf("LiteralEval(%q): %v, want %q", c.Text, err, *c.Str)
		case c.Str != nil && StrOf(v) != *c.Str:
			bad++
			t.Errorf("LiteralEval(%q) = %q, want %q", c.Text, StrOf(v), *c.Str)
		}
		if bad > 30 {
			t.Fatal("too many differences")
		}
	}
}
