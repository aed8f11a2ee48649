package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"
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
		{"float overflow", "print(float(pow(10, 400)))", "OverflowError:"},
		{"empty dict popitem", "{}.popitem()", "KeyError:"},
		{"float of junk", "float('x')", "ValueError:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{MaxMemory: 64 << 20, Timeout: 2 * time.Second})
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
