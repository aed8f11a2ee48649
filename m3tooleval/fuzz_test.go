package m3tooleval

import (
	"strings"
	"testing"
)

func FuzzLiteralEval(f *testing.F) {
	for _, s := range []string{"1", "'a'", "(1, [2.5, {'k': b'x'}], {3}, set())", "-1-2j", "1e400", "r'\\d' 'x'", "{1: 2, 1.0: 3}", "0x_ff", "'''a\nb'''", "[[[]]]", "...", "-0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := LiteralEval(s)
		if err != nil {
			return
		}
		r := Repr(v)
		if strings.Contains(r, "inf") || strings.Contains(r, "nan") || strings.Contains(r, "Ellipsis") || strings.Contains(r, `\udc`) || strings.Contains(r, "-0") || strings.Contains(r, "j") {
			return // reprs that are not literals, or complexes (whose repr does not round-trip in Python either: -1j is (-0-1j))
		}
		back, err := LiteralEval(r)
		if err != nil {
			t.Fatalf("LiteralEval(%q) = %s, whose repr does not parse: %v", s, r, err)
		}
		if Repr(back) != r {
			t.Fatalf("LiteralEval(%q): repr %s reads back as %s", s, r, Repr(back))
		}
	})
}

func FuzzCalculate(f *testing.F) {
	for _, s := range []string{"2 + (3 * 4)", "7//-2", "-7.5 % 2", "2**-1", "(-8)**(1/3)", "round(2.675, 2)", "max([1, 2.0])", "1,2", "10**400 / 1", "~5 << 3", "int('٣')", "9**9**9", "'a' * 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1000 {
			return
		}
		a := Calculator(s)
		b := Calculator(s)
		if Repr(a) != Repr(b) {
			t.Fatalf("calculator(%q) is not deterministic: %s then %s", s, Repr(a), Repr(b))
		}
		if str, ok := a.(Str); ok && strings.HasPrefix(string(str), "Failed to evaluate expression: ") {
			if string(str) != CalculatorFailure(s) {
				t.Fatalf("calculator(%q) failed with %q", s, str)
			}
		}
	})
}

func FuzzPyJSONLoads(f *testing.F) {
	for _, s := range []string{`{"tool": "view", "args": []}`, `[1, 2.5, "x", null, true]`, `{"a": {"b": [NaN]}}`, `"\ud83d\ude00"`, `[1,`, `{"a" 1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := PyJSONLoads(s)
		if err != nil {
			return
		}
		text, err := jsonText(v)
		if err != nil {
			return
		}
		back, err := PyJSONLoads(text)
		if err != nil {
			t.Fatalf("json.loads(%q) = %s, written as %s, does not read back: %v", s, Repr(v), text, err)
		}
		if Repr(back) != Repr(v) {
			t.Fatalf("json.loads(%q) = %s, reads back as %s", s, Repr(v), Repr(back))
		}
	})
}

func FuzzPostprocessParse(f *testing.F) {
	for _, s := range []string{"Thought: x Action: a End Action Thought: y", "Answer: 1\nAnswer: 2", "Action: x\nAction: y", "é Answer: 3 End Action"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Postprocess(s)
		if Postprocess(p) != p {
			t.Fatalf("Postprocess is not idempotent on %q: %q then %q", s, p, Postprocess(p))
		}
		parsed := Parse(p)
		if parsed.Kind == KindAction && strings.Contains(parsed.Content, "End Action") {
			t.Fatalf("action %q keeps End Action", parsed.Content)
		}
	})
}
