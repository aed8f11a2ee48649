package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// TestContained runs code that once escaped the sandbox's limits or
// surfaced without a Python exception type: each must end with the
// Python-style error (or the output) given.
func TestContained(t *testing.T) {
	tests := []struct{ name, code, want string }{
		{"sleep NaN", "import time\ntime.sleep(float('nan'))", "ValueError: Invalid value NaN (not a number)"},
		{"sleep huge", "import time\ntime.sleep(1e300)", "OverflowError: timestamp too large to convert to C _PyTime_t"},
		{"sleep inf", "import time\ntime.sleep(float('inf'))", "OverflowError: timestamp too large"},
		{"sleep negative", "import time\ntime.sleep(-1)", "ValueError: sleep length must be non-negative"},
		{"sleep not a number", "import time\ntime.sleep('1')", "TypeError: 'str' object cannot be interpreted as an integer"},
		{"shift loop", "x = 2\nwhile True:\n    x = x << x", "OverflowError: left shift"},
		{"shift past 511", "print((1 << 600) == pow(2, 600))", "True"},
		{"augmented shift past 511", "x = 3\nx <<= 600\nl = [1]\nl[0] <<= 700\nprint(x == 3 * pow(2, 600), l[0] == pow(2, 700))", "True True"},
		{"cyclic lists compared", "a = [0]\na.append(a)\nb = [0]\nb.append(b)\nprint(a == b)", "RecursionError: maximum recursion depth exceeded in comparison"},
		{"cyclic dicts compared", "a = {}\na['k'] = a\nb = {}\nb['k'] = b\nprint(a != b)", "RecursionError: maximum recursion depth exceeded in comparison"},
		{"f-string of 100 fields (a join)", "s = 'a' * 1000000\nt = f\"" + strings.Repeat("{s}", 100) + "\"", "MemoryError: str.join() would allocate"},
		{"f-string of 60 fields (a chain)", "s = 'a' * 2000000\nt = f\"" + strings.Repeat("{s}", 60) + "\"", "MemoryError: str concatenation would allocate"},
		{"random.sample of a billion", "import random\nprint(len(random.sample(range(1000000000), 1000000000)))", "MemoryError: random.sample() would allocate"},
		{"random.sample of a few from a billion", "import random\nx = random.sample(range(1000000000), 5)\nprint(len(x), len(set(x)), all([0 <= v and v < 1000000000 for v in x]))", "5 5 True"},
		{"random.sample of all", "import random\nprint(sorted(random.sample(range(50), 50)) == list(range(50)))", "True"},
		{"bytes of a huge range", "print(len(bytes(range(1000000000))))", "MemoryError: bytes() would allocate"},
		{"bytes of ints", "print(bytes([104, 105]), bytes('hi'))", `b"hi" b"hi"`},
		{"bytes out of range", "bytes([256])", "ValueError: bytes must be in range(0, 256)"},
		{"fail of a shared structure", "fail([[[1] * 1000] * 1000] * 1000)", "MemoryError"},
		{"fail renders as str", "fail('x', [1, 'a'])", "Exception: x [1, 'a']"},
		{"json.decode of a 5 M-digit number", "import json\nx = json.decode('7' * 5000000)", "ValueError: Exceeds the limit (315653 digits) for integer string conversion: value has 5000000 digits"},
		{"json.decode of a long number in a list", "import json\nx = json.decode('[1, -' + '7' * 400000 + ']')", "ValueError: Exceeds the limit"},
		{"json.decode of numbers within the limit", "import json\nx = json.decode('[1, -2.5e3, ' + '7' * 1000 + ', \"1234\", 1e5]')\nprint(x[0], x[1], x[2] % 10, x[3], x[4])", "1 -2500.0 7 1234 100000.0"},
		{"json.decode of many long numbers", "import json\nx = json.decode('[' + ','.join(['7' * 300000] * 10) + ']')", "ValueError: the JSON document's big integers have more than 631306 digits"},
		{"random.randint over all of int64", "import random\nx = random.randint(-9223372036854775808, 9223372036854775807)\ny = random.randint(-5000000000000000000, 5000000000000000000)\nprint(type(x), -5000000000000000000 <= y and y <= 5000000000000000000)", "int True"},
		{"random.randint empty", "import random\nrandom.randint(2, 1)", "ValueError: empty range in randint(2, 1)"},
		{"float overflow", "print(float(pow(10, 400)))", "OverflowError:"},
		{"empty dict popitem", "{}.popitem()", "KeyError:"},
		{"float of junk", "float('x')", "ValueError:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No case here expects the deadline: it is a backstop, long
			// enough that a busy machine never reaches it before the limit
			// under test (a MemoryError is reached after a fixed amount of
			// work, which a loaded core takes seconds to do).
			s := newSession(t, Options{MaxMemory: 64 << 20, Timeout: time.Minute})
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Observation(); !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAbandonedAction checks that an action stuck in one operation the
// interpreter cannot interrupt (hashing a tuple that shares itself 2^27
// times) ends at its time limit and a grace: it is abandoned, the session
// restarts with its state lost, and the next action runs.
func TestAbandonedAction(t *testing.T) {
	s := newSession(t, Options{MaxMemory: 64 << 20, Timeout: 100 * time.Millisecond, stuckGrace: 50 * time.Millisecond})
	ctx := context.Background()
	if _, err := s.Exec(ctx, "x = 1"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Exec(ctx, "t = (1,)\nfor i in range(27):\n    t = (t, t)\nd = {t: 1}")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Observation(); !res.Restarted || !strings.Contains(got, "TimeoutError: the action exceeded its time limit of 100ms inside one operation that could not be interrupted") {
		t.Fatalf("restarted %v, observation %q", res.Restarted, got)
	}
	<-s.abandoned // the abandoned goroutine ends by itself
	for code, want := range map[string]string{"print(x)": "NameError: name 'x' is not defined", "print(1 + 1)": "2"} {
		res, err := s.Exec(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); res.Restarted || !strings.Contains(got, want) {
			t.Fatalf("%s: restarted %v, observation %q, want %q", code, res.Restarted, got, want)
		}
	}
}

// TestPanicInBuiltin checks that a Go panic in a builtin or tool ends the
// action with a SystemError, not the process, and the session goes on.
func TestPanicInBuiltin(t *testing.T) {
	reg := testTools()
	reg.MustRegister(tool.Tool{Name: "explode", Doc: "Panic.", Fn: func(context.Context, tool.Args) (any, error) { panic("boom") }})
	s, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, step := range [][2]string{{"x = 1", ""}, {"explode()", "SystemError: internal error in the sandbox: boom"}, {"print(x + 1)", "2"}} {
		code, want := step[0], step[1]
		res, err := s.Exec(context.Background(), code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Observation(); !strings.Contains(got, want) {
			t.Fatalf("%s: got %q, want %q", code, got, want)
		}
	}
}

// TestClassifyStarlarkMessages checks that Starlark's own runtime messages
// surface with a Python exception type, never the bare "Error".
func TestClassifyStarlarkMessages(t *testing.T) {
	tests := []struct{ msg, typ string }{
		{"comparison exceeded maximum recursion depth", "RecursionError"},
		{"shift count too large: 2048", "OverflowError"},
		{"repeat count 1000000000000000000000 too large", "MemoryError"},
		{"excessive repeat (10 * 10 elements)", "MemoryError"},
		{"floating-point number too large", "OverflowError"},
		{"int too large to convert to float", "OverflowError"},
		{"cannot convert float infinity to integer", "OverflowError"},
		{"cannot convert float NaN to integer", "ValueError"},
		{"invalid float literal: x", "ValueError"},
		{"split: empty separator", "ValueError"},
		{"zero is not a valid slice step", "ValueError"},
		{"remove: element not found", "ValueError"},
		{"unknown conversion %9", "ValueError"},
		{"format: keyword x not found", "KeyError"},
		{"popitem: empty dict", "KeyError"},
		{"pop: empty set", "KeyError"},
		{"cannot insert into hash table during iteration", "RuntimeError"},
		{"can't assign to .x field of struct", "AttributeError"},
		{"list < dict not implemented", "TypeError"},
		{"not enough arguments for format string", "TypeError"},
		{"join: in list, want string, got int", "TypeError"},
		{"len: value of type int has no len", "TypeError"},
		{"function f accepts 1 positional argument (2 given)", "TypeError"},
		{"x value does not support item assignment", "TypeError"},
		{"unimplemented: x", "NotImplementedError"},
		{"sleep: context canceled", "KeyboardInterrupt"},
		{"a message no rule knows", "RuntimeError"},
	}
	s := &Session{}
	for _, tc := range tests {
		if typ, _ := s.classify(tc.msg); typ != tc.typ {
			t.Errorf("%q: %s, want %s", tc.msg, typ, tc.typ)
		}
	}
}
