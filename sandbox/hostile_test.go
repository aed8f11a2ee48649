//go:build linux

package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileMemory is the memory limit the hostile cases run under.
const hostileMemory = 64 << 20

// hostileAddressSpace caps the address space the process running a
// hostile case may add: a bomb that escapes the budget dies there (the
// test fails) instead of taking the machine.
const hostileAddressSpace = 2 << 30

// hostileCases are code a hostile model could write: each must end with a
// clear Python-style error (or, for the cyclic prints, the output Python
// gives), charged before it allocates.
var hostileCases = []struct {
	name    string
	code    string
	errType string // "" when the code must succeed
	errHas  string // in the error message, or in the output on success
}{
	// Memory bombs that bypassed the limit.
	{"str.join of a repeated string", "s = 'a' * 1000000\nx = ''.join([s] * 2000)", "MemoryError", "str.join() would allocate"},
	{"str.join bound method", "s = 'a' * 1000000\nj = ''.join\nx = j([s] * 2000)", "MemoryError", "str.join() would allocate"},
	{"getattr str.join", "s = 'a' * 1000000\nj = getattr('-', 'join')\nx = j([s] * 2000)", "MemoryError", "str.join() would allocate"},
	{"str.format repeated field", "s = 'a' * 1000000\nx = ('{0}' * 2000).format(s)", "MemoryError", "str.format() would allocate"},
	{"str.format of a shared structure", "x = '{}'.format([[[1] * 1000] * 1000] * 1000)", "MemoryError", "memory limit"},
	{"str.replace", "s = 'a' * 100000\nx = s.replace('a', s)", "MemoryError", "str.replace() would allocate"},
	{"str.split", "x = ('a,' * 20000000).split(',')", "MemoryError", "str.split() would allocate"},
	{"str.rsplit", "x = ('a ' * 20000000).rsplit()", "MemoryError", "str.rsplit() would allocate"},
	{"str.splitlines", "x = ('a\\n' * 20000000).splitlines()", "MemoryError", "str.splitlines() would allocate"},
	{"percent format keyed", "s = 'a' * 1000000\nx = ('%(a)s' * 2000) % {'a': s}", "MemoryError", "% formatting would allocate"},
	{"percent format of a shared structure", "x = '%s' % ([[[1] * 1000] * 1000] * 1000,)", "MemoryError", "memory limit"},
	{"re.sub empty pattern", "import re\nx = re.sub('', 'x' * 1000, 'a' * 1500000)", "MemoryError", "re.sub would allocate"},
	{"re.findall empty pattern", "import re\nx = re.findall('', 'a' * 50000000)", "MemoryError", "re.findall would allocate"},
	{"re.finditer empty pattern", "import re\nx = re.finditer('', 'a' * 20000000)", "MemoryError", "re.finditer would allocate"},
	{"re.split", "import re\nx = re.split(',', 'a,' * 20000000)", "MemoryError", "re.split would allocate"},
	{"re.findall anchored", "import re\nx = re.findall('(?m)^', '\\n' * 50000000)", "MemoryError", "re.findall would allocate"},
	{"print of a shared structure", "print([[[1] * 1000] * 1000] * 1000)", "MemoryError", "memory limit"},
	{"str of a shared structure", "x = str([[[1] * 1000] * 1000] * 1000)", "MemoryError", "memory limit"},
	{"repr of a shared structure", "x = repr([[[1] * 1000] * 1000] * 1000)", "MemoryError", "memory limit"},
	{"f-string of a shared structure", "x = f'{[[[1] * 1000] * 1000] * 1000}'", "MemoryError", "memory limit"},
	{"trailing value of a shared structure", "[[['a'] * 1000] * 1000] * 1000", "", "..."},
	{"json.encode of a shared structure", "import json\nx = json.encode([[[1] * 1000] * 1000] * 1000)", "MemoryError", "json.encode would produce"},
	{"json.encode_indent of a shared structure", "import json\nx = json.encode_indent([[[1] * 1000] * 1000] * 1000)", "MemoryError", "json.encode would produce"},
	{"json.encode of a cyclic value", "import json\na = [0]\na.append(a)\nx = json.encode(a)", "ValueError", "Circular reference detected"},
	{"json.encode of deep nesting", "import json\nx = []\nfor i in range(5000):\n    x = [x]\ny = json.encode(x)", "RecursionError", "nesting deeper than 1000"},
	{"json.decode of deep nesting", "import json\nprint(json.decode('[' * 5000000))", "RecursionError", "nesting deeper than 1000"},
	{"json.indent of deep nesting", "import json\nprint(json.indent('[' * 5000000))", "RecursionError", "nesting deeper than 1000"},
	{"augmented repeat of an element", "l = ['a']\nl[0] *= 1000000000", "MemoryError", "exceeds the sandbox memory limit"},
	{"augmented concat of a dict value", "d = {'k': 'a' * 1000000}\nfor i in range(100):\n    d['k'] += d['k']", "MemoryError", "str concatenation would allocate"},
	{"augmented concat through a call", "d = {'k': [0] * 100000}\ndef get():\n    return d\nfor i in range(100):\n    get()['k'] += get()['k']", "MemoryError", "list += would allocate"},
	{"list doubling", "l = [0] * 1000000\nwhile True:\n    l = l + l", "MemoryError", "list concatenation would allocate"},
	{"tuple doubling", "t = (0,) * 1000000\nwhile True:\n    t = t + t", "MemoryError", "tuple concatenation would allocate"},
	{"f-string doubling", "s = 'ab'\nwhile True:\n    s = f'{s}{s}'", "MemoryError", "memory limit"},
	{"list.extend doubling", "l = [0] * 1000000\nwhile True:\n    l.extend(l)", "MemoryError", "list.extend() would allocate"},
	{"keeping many strings", "keep = []\nfor i in range(100):\n    keep.append('a' * 10000000)", "MemoryError", "memory limit"},
	{"list comprehension over a huge range", "x = [i for i in range(100000000)]", "MemoryError", "list comprehension would allocate"},
	{"dict comprehension over a huge range", "x = {i: i for i in range(10000000)}", "MemoryError", "dict comprehension would allocate"},
	{"nested comprehension", "x = [j for i in range(100000) for j in range(100000)]", "MemoryError", "memory limit"},
	{"list of a huge range", "x = list(range(1000000000))", "MemoryError", "list() would allocate"},
	{"tuple of a huge range", "x = tuple(range(1000000000))", "MemoryError", "tuple() would allocate"},
	{"set of a huge range", "x = set(range(100000000))", "MemoryError", "set() would allocate"},
	{"enumerate of a huge range", "x = enumerate(range(100000000))", "MemoryError", "enumerate() would allocate"},
	{"zip of huge ranges", "x = zip(range(100000000), range(100000000))", "MemoryError", "zip() would allocate"},
	{"reversed of a huge range", "x = reversed(range(1000000000))", "MemoryError", "reversed() would allocate"},
	{"sorted of a huge range", "x = sorted(range(1000000000))", "MemoryError", "sorted() would allocate"},
	{"dict.items of a big dict", "d = {i: i for i in range(100000)}\nkeep = []\nfor i in range(1000):\n    keep.append(d.items())", "MemoryError", "memory limit"},
	{"map over a huge range", "x = map(lambda i: 'x' * 1000, range(1000000000))", "MemoryError", "memory limit"},
	{"tool argument cyclic", "a = []\na.append(a)\ngreet(a)", "ValueError", "Circular reference detected"},
	{"tool argument shared", "greet([[[1] * 1000] * 1000] * 1000)", "MemoryError", "memory limit"},
	// Integers.
	{"pow 10**500 ** 10000", "x = pow(pow(10, 500), 10000)", "OverflowError", "1048576 bits"},
	{"pow 10**1000 ** 10000", "x = pow(pow(10, 1000), 10000)", "OverflowError", "1048576 bits"},
	{"squaring in a loop", "x = 3\nwhile True:\n    x = x * x", "OverflowError", "integer multiplication"},
	{"augmented squaring", "x = 3\nwhile True:\n    x *= x", "OverflowError", "integer multiplication"},
	{"shifting in a loop", "x = pow(2, 1048000)\nwhile True:\n    x = x << 500", "OverflowError", "left shift"},
	{"adding to a huge integer", "x = pow(2, 1048575)\nx += x", "OverflowError", "integer addition"},
	{"int of a huge decimal string", "x = int('9' * 1000000)", "ValueError", "integer string conversion"},
	// Deadline inside one builtin call.
	{"sum over a huge range", "x = sum(range(1000000000000))", "TimeoutError", "time limit"},
	{"max over a huge range", "x = max(range(1000000000000))", "TimeoutError", "time limit"},
	{"min with key over a huge range", "x = min(range(1000000000000), key=abs)", "TimeoutError", "time limit"},
	{"all over a huge range", "x = all(range(1, 1000000000000))", "TimeoutError", "time limit"},
	{"sorting slow comparisons", "p = [0] * 10000\nl = [(p, i) for i in range(200000)]\nl.sort()", "TimeoutError", "time limit"},
	{"sorted with reverse, slow comparisons", "p = [0] * 10000\nl = [(p, i) for i in range(200000)]\nx = sorted(l, reverse=True)", "TimeoutError", "time limit"},
	{"regexp over a big input", "import re\ns = 'a' * 60000000\nx = re.search('(?:a|b){0,1000}c', s)", "TimeoutError", "time limit"},
	{"regexp findall over a big input", "import re\ns = 'a' * 60000000\nx = re.findall('(?:a|b){0,1000}c', s)", "TimeoutError", "time limit"},
	// Cycles print as Python prints them.
	{"cyclic list", "a = [0]\na.append(a)\na.append(a)\nprint(a)", "", "[0, [...], [...]]"},
	{"cyclic dict", "d = {}\nd['self'] = d\nprint(d, str(d), repr([d]))", "", "{'self': {...}} {'self': {...}} [{'self': {...}}]"},
	{"cyclic through a tuple", "a = []\na.append((a, 1))\nprint(a, f'{a}')", "", "[([...], 1)] [([...], 1)]"},
}

// TestHostile runs each hostile case in a child process whose address
// space is capped, and checks the error, that the session runs another
// action afterwards, and the child's peak memory.
func TestHostile(t *testing.T) {
	if os.Getenv("GANTRY_HOSTILE_CASE") != "" {
		t.Skip("child process")
	}
	for i, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.v")
			cmd.Env = append(os.Environ(), "GANTRY_HOSTILE_CASE="+strconv.Itoa(i))
			out, err := cmd.CombinedOutput()
			var rep hostileReport
			line := ""
			for _, l := range strings.Split(string(out), "\n") {
				if rest, ok := strings.CutPrefix(l, "HOSTILE "); ok {
					line = rest
				}
			}
			if line == "" || json.Unmarshal([]byte(line), &rep) != nil {
				t.Fatalf("child failed (%v):\n%s", err, tail(string(out), 3000))
			}
			if tc.errType == "" {
				if rep.ErrType != "" || !strings.Contains(rep.Output, tc.errHas) {
					t.Fatalf("got %s: %s / output %q, want output containing %q", rep.ErrType, rep.ErrMsg, tail(rep.Output, 300), tc.errHas)
				}
			} else if rep.ErrType != tc.errType || !strings.Contains(rep.ErrMsg, tc.errHas) {
				t.Fatalf("got %s: %s, want %s containing %q", rep.ErrType, rep.ErrMsg, tc.errType, tc.errHas)
			}
			if rep.After != "still here" {
				t.Fatalf("session unusable afterwards: %q", rep.After)
			}
			if rep.PeakRSS > 512<<20 {
				t.Fatalf("peak RSS %d MiB, want under 512 MiB (memory limit %d MiB)", rep.PeakRSS>>20, hostileMemory>>20)
			}
			t.Logf("%s: %s (peak RSS %d MiB)", rep.ErrType, rep.ErrMsg, rep.PeakRSS>>20)
		})
	}
}

type hostileReport struct {
	ErrType, ErrMsg, Output, After string
	PeakRSS                        int64
}

// TestHostileChild runs one hostile case (GANTRY_HOSTILE_CASE) for
// TestHostile and prints its report.
func TestHostileChild(t *testing.T) {
	env := os.Getenv("GANTRY_HOSTILE_CASE")
	if env == "" {
		t.Skip("run by TestHostile")
	}
	i, err := strconv.Atoi(env)
	if err != nil || i < 0 || i >= len(hostileCases) {
		t.Fatalf("bad case %q", env)
	}
	// The Go runtime reserves address space up front: allow growth by
	// hostileAddressSpace beyond what is mapped now.
	as := uint64(procStatus("VmSize")) + hostileAddressSpace
	lim := syscall.Rlimit{Cur: as, Max: as}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
		t.Fatal(err)
	}
	tc := hostileCases[i]
	// The cases that must end by the deadline run under a short time limit;
	// the others under a long one, so that only their own limit stops them.
	timeout := time.Minute
	if tc.errType == "TimeoutError" {
		timeout = time.Second
	}
	s := newSession(t, Options{MaxMemory: hostileMemory, Timeout: timeout, MaxSteps: 1 << 40, MaxOutput: 4096})
	res, err := s.Exec(context.Background(), tc.code)
	if err != nil {
		t.Fatal(err)
	}
	rep := hostileReport{Output: res.Stdout + res.Value}
	if res.Err != nil {
		rep.ErrType, rep.ErrMsg = res.Err.Type, res.Err.Message
	}
	after, err := s.Exec(context.Background(), "print('still here')")
	if err != nil {
		t.Fatal(err)
	}
	rep.After = after.Observation()
	rep.PeakRSS = procStatus("VmHWM")
	data, _ := json.Marshal(rep)
	fmt.Printf("HOSTILE %s\n", data)
	runtime.KeepAlive(s)
}

// procStatus reads a size in bytes from /proc/self/status: VmHWM (the
// peak resident set size), VmSize.
func procStatus(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, key+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
