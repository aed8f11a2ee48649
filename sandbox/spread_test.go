package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestManyArguments: a call with more positional arguments than
// Starlark's compiler takes (255) runs as in Python, its arguments
// evaluated in order; a call that spreads as well, or repeats a keyword,
// keeps the resolver's error.
func TestManyArguments(t *testing.T) {
	nums := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprint(i)
		}
		return strings.Join(parts, ", ")
	}
	adds := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "x"
		}
		return strings.Join(parts, " + ")
	}
	tests := []struct {
		name, code, want string
	}{
		{"def", "def f(*a):\n    return len(a), sum(a)\nprint(f(" + nums(1000) + "))", "(1000, 499500)"},
		{"builtin", "print(max(" + nums(256) + "))", "255"},
		{"255 as written", "print(max(" + nums(255) + "))", "254"},
		{"named after", "def f(*a, sep=''):\n    return sep.join([str(x) for x in a[:3]])\nprint(f(" + nums(300) + ", sep='-'))", "0-1-2"},
		{"order", "seen = []\ndef g(x):\n    seen.append(x)\n    return x\ndef f(*a, **k):\n    return len(a)\n" +
			"print(f(" + strings.Repeat("g(1), ", 256) + "k=g(2)), seen[-2:], len(seen))", "256 [1, 2] 257"},
		{"operator chain", "x = 'a'\nprint(len(" + adds(300) + "))", "300"},
		{"with a spread", "print(max(" + nums(256) + ", *[1]))", "SyntaxError: 256 positional arguments in call, limit is 255"},
		{"keyword repeated", "print(max(" + nums(256) + ", k=1, k=2))", `SyntaxError: keyword argument "k" is repeated`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{})
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(res.Observation())
			isErr := strings.HasPrefix(tc.want, "SyntaxError:")
			if isErr != (res.Err != nil) || isErr && !strings.Contains(got, tc.want) || !isErr && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
