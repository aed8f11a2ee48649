package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// nestedIfs is n blocks, each indented one column more than the last,
// around a pass.
func nestedIfs(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%sif 1:\n", strings.Repeat(" ", i))
	}
	b.WriteString(strings.Repeat(" ", n) + "pass\n")
	return b.String()
}

// elifs is an if statement with n elif branches.
func elifs(n int) string {
	return "x = 1\nif x == 0:\n    pass\n" + strings.Repeat("elif x == 2:\n    pass\n", n) + "else:\n    print('else')"
}

// TestHostileSource runs source built to exhaust the translator, the
// parser or the stack: each gives a Python-style error (or runs), and the
// session runs another action afterwards.
func TestHostileSource(t *testing.T) {
	tests := []struct {
		name    string
		code    string
		errType string // "" means the code runs and prints want
		want    string // the message (an error's) or the observation
		line    int    // the error's line, when not 0
	}{
		{"code size limit", "#" + strings.Repeat("x", 1<<20), "ValueError",
			"the action's code is 1 MiB (1048577 bytes), more than the limit of 1 MiB (1048576 bytes) for one action; send less code per action", 0},
		{"code at the size limit", strings.Repeat("\n", 1<<20-10) + "print(1)", "", "1", 0},
		{"blank lines", strings.Repeat("\n", 1_000_000) + "print('end')", "", "end", 0},
		{"blank lines after a continuation", "x = 1 + \\\n" + strings.Repeat("\n", 500_000) + "2\nprint(x)", "SyntaxError", "expected primary expression", 1},
		{"open brackets", strings.Repeat("[", 100_000), "SyntaxError", "too many nested parentheses", 1},
		{"million parentheses", "x = " + strings.Repeat("(", 500_000) + "1" + strings.Repeat(")", 500_000), "SyntaxError", "too many nested parentheses", 1},
		{"64 parentheses", "print(" + strings.Repeat("(", 63) + "1" + strings.Repeat(")", 63) + ")", "", "1", 0},
		{"65 parentheses", "x = 1\ny = " + strings.Repeat("[", 65) + strings.Repeat("]", 65), "SyntaxError", "too many nested parentheses", 2},
		{"99 indentation levels", nestedIfs(99) + "print('deep')", "", "deep", 0},
		{"100 indentation levels", nestedIfs(100), "SyntaxError", "too many levels of indentation", 101},
		{"200 unary minus", "print(" + strings.Repeat("- ", 200) + "1)", "", "1", 0},
		{"unary minus chain", "x = " + strings.Repeat("-", 300_000) + "1", "RecursionError", msgRecursionCompile, 1},
		{"not chain", "x = " + strings.Repeat("not ", 201) + "1", "RecursionError", msgRecursionCompile, 1},
		{"2000 terms", "print(1" + strings.Repeat("+1", 1999) + ")", "", "2000", 0},
		{"500k terms", "x = 1" + strings.Repeat("+1", 500_000), "RecursionError", msgRecursionCompile, 1},
		{"attribute chain", "x = a" + strings.Repeat(".b", 100_000), "RecursionError", msgRecursionCompile, 1},
		{"call chain", "x = a" + strings.Repeat("()", 100_000), "RecursionError", msgRecursionCompile, 1},
		{"long elif chain", elifs(5000), "RecursionError", msgRecursionCompile, 0},
		{"short elif chain", elifs(100), "", "else", 0},
		{"lambda chain", "f = " + strings.Repeat("lambda: ", 5000) + "1", "RecursionError", msgRecursionCompile, 1},
		{"conditional chain", "x = " + strings.Repeat("1 if x else ", 5000) + "1", "RecursionError", msgRecursionCompile, 1},
		{"reserved name", "x = 1\n_gantry_depth_ = lambda: None", "NameError", "name '_gantry_depth_' is reserved by the sandbox", 2},
		{"reserved guard name", "def _gantry_mul(a, b):\n    return a\nx = [0] * 10", "NameError", "name '_gantry_mul' is reserved by the sandbox", 1},
		{"reserved name read", "f = _gantry_attr", "NameError", "name '_gantry_attr' is reserved by the sandbox", 1},
		{"format spec nested too deeply", "a = 1\nprint(f'{a:{a:{a}}}')", "SyntaxError", "f-string: expressions nested too deeply", 2},
		{"many f-strings", "a = 1\nx = [" + strings.Repeat("f'{a}{a!r:>3}', ", 50_000) + "]\nprint(len(x), x[-1])", "", "50000 1  1", 0},
		{"f-string of many fields", "a = 1\nx = f'" + strings.Repeat("{a}.", 100_000) + "'\nprint(len(x), x[:6])", "", "200000 1.1.1.", 0},
		{"many unpacking lists", "a = [1]\nx = [" + strings.Repeat("[*a, 2], ", 50_000) + "]\nprint(len(x), x[-1])", "", "50000 [1, 2]", 0},
		{"many statements", strings.Repeat("x = 1\n", 150_000) + "print(x)", "", "1", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{})
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if tc.errType == "" {
				if res.Err != nil || res.Observation() != tc.want {
					t.Fatalf("got %.300q, want %q", res.Observation(), tc.want)
				}
			} else {
				if res.Err == nil || res.Err.Type != tc.errType || res.Err.Message != tc.want {
					t.Fatalf("got %.300q, want %s: %s", res.Observation(), tc.errType, tc.want)
				}
				if tc.line != 0 && res.Err.Line != tc.line {
					t.Errorf("error on line %d, want %d", res.Err.Line, tc.line)
				}
				if obs := res.Observation(); len(obs) > 2<<10 {
					t.Errorf("observation of %d bytes:\n%.3000s", len(obs), obs)
				}
			}
			res, err = s.Exec(context.Background(), "print('still here')")
			if err != nil || res.Observation() != "still here" {
				t.Fatalf("session unusable afterwards: %q %v", res.Observation(), err)
			}
		})
	}
}

// TestCodeSizeOption checks that MaxCodeSize sets the limit.
func TestCodeSizeOption(t *testing.T) {
	s := newSession(t, Options{MaxCodeSize: 1000})
	res, err := s.Exec(context.Background(), "print(1)"+strings.Repeat(" ", 1000))
	if err != nil {
		t.Fatal(err)
	}
	want := "ValueError: the action's code is 1008 bytes (1008 bytes), more than the limit of 1000 bytes (1000 bytes) for one action; send less code per action"
	if got := res.Observation(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestDeadlineBeforeExecution checks that an action whose deadline passes
// before its code runs (while it is translated or parsed) stops with a
// TimeoutError, and a cancelled one with KeyboardInterrupt.
func TestDeadlineBeforeExecution(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	tests := []struct {
		name    string
		ctx     context.Context
		code    string
		errType string
	}{
		{"expired, small code", expired, "print(1)", "TimeoutError"},
		{"expired, large code", expired, strings.Repeat("x = [1, f'{2}']\n", 60_000), "TimeoutError"},
		{"cancelled", cancelled, strings.Repeat("\n", 500_000) + "print(1)", "KeyboardInterrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{})
			res, err := s.Exec(tc.ctx, tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil || res.Err.Type != tc.errType || res.Stdout != "" {
				t.Fatalf("got %q, want %s", res.Observation(), tc.errType)
			}
			res, err = s.Exec(context.Background(), "print('still here')")
			if err != nil || res.Observation() != "still here" {
				t.Fatalf("session unusable afterwards: %q %v", res.Observation(), err)
			}
		})
	}
}

// TestSourcePassesStopOnContext checks that the passes over the source
// look at their context while they run, not only between passes.
func TestSourcePassesStopOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := strings.Repeat("x = [*a, f'{b}']\n", 20_000)
	if _, err := scanSource(ctx, src); !errors.Is(err, context.Canceled) {
		t.Errorf("scanSource: %v", err)
	}
	if _, err := translate(ctx, src, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("translate: %v", err)
	}
}

// TestRecursion checks that recursion ends with Python's RecursionError at
// Python's depth, however it recurses, with a short traceback.
func TestRecursion(t *testing.T) {
	tests := []struct {
		name string
		code string
		want string // the whole observation, or "" to check only the error
	}{
		{"def", "def f(n):\n    return f(n + 1)\nf(0)", `Traceback (most recent call last):
  File "<action>", line 3, in <module>
    f(0)
  File "<action>", line 2, in f
    return f(n + 1)
  File "<action>", line 2, in f
    return f(n + 1)
  File "<action>", line 2, in f
    return f(n + 1)
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded`},
		{"docstring kept", "def f(n):\n    \"doc\"\n    return f(n + 1)\nf(0)", ""},
		{"lambda", "f = lambda n: f(n + 1)\nf(0)", ""},
		{"mutual", "def f(n):\n    return g(n)\ndef g(n):\n    return f(n + 1)\nf(0)", ""},
		{"through sorted", "def k(x):\n    return sorted([1, 2], key=k)[0]\nk(0)", ""},
		{"through a nested def", "def outer():\n    def inner(n):\n        return inner(n + 1)\n    return inner(0)\nouter()", ""},
		{"on a long line", "def f(n):\n    return f(n + 1) + " + strings.Repeat("1 + ", 500) + "1\nf(0)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{MaxSteps: 1 << 40, Timeout: time.Minute})
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			obs := res.Observation()
			if res.Err == nil || res.Err.Type != "RecursionError" || res.Err.Message != "maximum recursion depth exceeded" {
				t.Fatalf("got %.2000s", obs)
			}
			if tc.want != "" && obs != tc.want {
				t.Errorf("got\n%s\nwant\n%s", obs, tc.want)
			}
			if len(obs) > 4<<10 {
				t.Errorf("traceback of %d bytes:\n%.6000s", len(obs), obs)
			}
			res, err = s.Exec(context.Background(), "def ok(n):\n    return n if n == 0 else ok(n - 1)\nprint(ok(900))")
			if err != nil || res.Observation() != "0" {
				t.Fatalf("session unusable afterwards: %q %v", res.Observation(), err)
			}
		})
	}
}

// TestLongLineErrors checks that errors on very long lines show a window
// of the line, not all of it.
func TestLongLineErrors(t *testing.T) {
	tests := []struct{ name, code string }{
		{"syntax", "x = [" + strings.Repeat("1, ", 100_000) + "1 1]"},
		{"runtime", "x = [" + strings.Repeat("1, ", 100_000) + "1][5] + 1/0"},
		{"message", "fail('" + strings.Repeat("x", 100_000) + "')"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{})
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil {
				t.Fatalf("no error: %.300q", res.Observation())
			}
			if obs := res.Observation(); len(obs) > 3<<10 || len(res.Err.Source) > 200 || len(res.Err.Message) > 3<<10 {
				t.Fatalf("observation of %d bytes:\n%.3000s", len(obs), obs)
			}
		})
	}
}

// TestTranslateUnpacking checks list displays with unpacked elements
// against the values Python gives.
func TestTranslateUnpacking(t *testing.T) {
	tests := []struct{ code, want string }{
		{"a = [1, 2]\nprint([*a])", "[1, 2]"},
		{"a = [1, 2]\nprint([*a, 3, *a, 4, 5])", "[1, 2, 3, 1, 2, 4, 5]"},
		{"a = [1, 2]\nprint([0, *a, ])", "[0, 1, 2]"},
		{"a = [1, 2]\nprint([*a,])", "[1, 2]"},
		{"a = [1]\nprint([*[*a, *[*a, 2]], [*a]])", "[1, 1, 2, [1]]"},
		{"a = (1, 2)\nprint([*a, *range(2)])", "[1, 2, 0, 1]"},
		{"a = [1]\nx = [\n    0,  # first\n    # unpacked next\n    *a,\n    2 ** 3,\n]\nprint(x)\ny = 1/0", "[0, 1, 8]\nTraceback (most recent call last):\n  File \"<action>\", line 9, in <module>\n    y = 1/0\nZeroDivisionError: division by zero"},
		{"a = [3, 1]\nprint([*sorted(a), f'{a[0]}', {'k': [*a]}['k']])", "[1, 3, '3', [3, 1]]"},
		{"print([2 ** 2, [1] * 2])", "[4, [1, 1]]"},
		{"print([x for x in [*[1], 2] if x > 1])", "[2]"},
	}
	for _, tc := range tests {
		s := newSession(t, Options{})
		res, err := s.Exec(context.Background(), tc.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.code, got, tc.want)
		}
	}
}

// TestTranslateKeepsLineCount checks that translation keeps every line on
// its line, including newlines inside the fields of triple-quoted
// f-strings.
func TestTranslateKeepsLineCount(t *testing.T) {
	for _, src := range []string{
		"a = 1\nb = f\"\"\"{a +\n 1}\n\"\"\"\nc = 1/0",
		"x = [*a,\n  *b,\n\n  c]\n",
		"import math\nfrom json import encode as e\nx = 1 \\\n  + 2\n",
	} {
		stars, err := scanSource(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		out, err := translate(context.Background(), src, stars)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Count(out, "\n"), strings.Count(src, "\n"); got != want {
			t.Errorf("%q: %d lines became %d:\n%s", src, want, got, out)
		}
	}
}

// FuzzSource checks that the source passes never fail other than with a
// Python-style error, and that translation keeps the line count.
func FuzzSource(f *testing.F) {
	for _, s := range []string{"[*a, 1]", "f'{a:{b}}'", "((((", "if 1:\n  if 2:\n    x", "- - not 1", "x = 1 \\\n\n2", "[*a, # c\n *b,]", "'''\n'''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		ctx := context.Background()
		stars, err := scanSource(ctx, src)
		var se *syntaxError
		if err != nil {
			if !errors.As(err, &se) {
				t.Fatalf("scanSource: %v", err)
			}
			return
		}
		out, err := translate(ctx, src, stars)
		if err != nil {
			if !errors.As(err, &se) {
				t.Fatalf("translate: %v", err)
			}
			return
		}
		if got, want := strings.Count(out, "\n"), strings.Count(src, "\n"); got != want {
			t.Fatalf("%q: %d lines became %d: %q", src, want, got, out)
		}
	})
}

// translateInputs are source shapes that made translation quadratic, or
// could: each is built to a given size in bytes.
var translateInputs = []struct {
	name string
	unit string // repeated to the size
	pre  string
	post string
}{
	{"BlankLines", "\n", "", "print(1)"},
	{"ContinuedBlankLines", "\n", "x = 1 + \\\n", "2"},
	{"Brackets", "[", "", ""},
	{"Statements", "x = 1\n", "", ""},
	{"LongLine", "1, ", "x = [", "1]"},
	{"Strings", "'ab', \"cd\", ", "x = [", "1]"},
	{"FStrings", "f'{a}{b!r:>4}', ", "x = [", "1]"},
	{"Unpacking", "[*a, 1], ", "x = [", "1]"},
	{"IsNone", "x is None\n", "", ""},
	{"Comments", "# a comment\n", "", ""},
}

// BenchmarkTranslate measures the passes before execution (prescan,
// translation, parse with its depth walk) on inputs of two sizes: the
// bytes per second stay the same from 100 KB to 1 MB when the passes are
// linear.
func BenchmarkTranslate(b *testing.B) {
	s := newSession(b, Options{})
	ctx := context.Background()
	for _, in := range translateInputs {
		for _, size := range []int{100_000, 1_000_000} {
			code := in.pre + strings.Repeat(in.unit, (size-len(in.pre)-len(in.post))/len(in.unit)) + in.post
			lines := strings.Split(code, "\n")
			b.Run(fmt.Sprintf("%s/%d", in.name, size), func(b *testing.B) {
				b.SetBytes(int64(len(code)))
				for b.Loop() {
					stars, err := scanSource(ctx, code)
					if err != nil {
						continue // refused by the prescan: that is its work
					}
					src, err := translate(ctx, code, stars)
					if err != nil {
						b.Fatal(err)
					}
					s.parse(ctx, src, lines)
				}
			})
		}
	}
}
