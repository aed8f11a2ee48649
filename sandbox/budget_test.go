package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/gantry-dev/gantry/tool"
)

// TestGuardedSemantics checks that the guarded operators, methods and
// builtins compute what Python computes: in-place list +=, augmented
// assignment evaluating its target once and in Python's order, bound
// methods, sorting stability.
func TestGuardedSemantics(t *testing.T) {
	tests := []struct{ name, code, want string }{
		{"list += keeps aliases", "a = [1]\nb = a\nb += [2]\nprint(a)", "[1, 2]"},
		{"dict value += keeps aliases", "d = {'k': [1]}\ne = d['k']\nd['k'] += [2]\nprint(e)", "[1, 2]"},
		{"+= on a call's result evaluates it once", "calls = []\nd = {'k': [1]}\ne = d['k']\ndef f():\n    calls.append(1)\n    return d\nf()['k'] += [3]\nprint(e, len(calls))", "[1, 3] 1"},
		{"augmented order", "log = []\nd = {'x': 1}\ndef g():\n    log.append('d')\n    return d\ndef k():\n    log.append('k')\n    return 'x'\ndef v():\n    log.append('v')\n    return 1\ng()[k()] += v()\nprint(d, log)", "{'x': 2} ['d', 'k', 'v']"},
		{"augmented list element", "l = [[1, 2]]\nl[0] *= 2\nl[-1] += [9]\nprint(l)", "[[1, 2, 1, 2, 9]]"},
		{"augmented operators", "s = 'ab'\ns *= 3\nx = 'a%sb'\nx %= 'Z'\nn = 1\nn <<= 10\nt = (1,)\nt += (2,)\nf = 5\nf += 1.5\nprint(s, x, n, t, f)", "ababab aZb 1024 (1, 2) 6.5"},
		{"missing key in augmented assignment", "d = {}\nd['k'] += 'x'", "KeyError: 'k'"},
		{"formatting", "print('%s-%d' % ('a', 3), '%(k)s' % {'k': 'v'}, '{}-{x}'.format(1, x=2), '{0}{0}'.format('ab'))", "a-3 v 1-2 abab"},
		{"string methods", "print(','.join(['a', 'b']), 'a,b'.split(','), 'a b'.rsplit(), 'aXa'.replace('X', 'yy'), 'a\\nb'.splitlines(), 'Ab'.upper(), 'Ab'.lower())", "a,b ['a', 'b'] ['a', 'b'] ayya ['a', 'b'] AB ab"},
		{"bound methods and getattr", "f = ', '.join\nprint(f(['x', 'y']), getattr('q', 'upper')(), getattr(1, 'nope', 'dflt'))", "x, y Q dflt"},
		{"collections", "d = {'a': 1}\nd.update({'b': 2}, c=3)\nl = [1]\nl.extend((2, 3))\ns = set([1]).union([2])\nprint(sorted(d.items()), list(d.keys()), list(d.values()), l, sorted(s))", "[('a', 1), ('b', 2), ('c', 3)] ['a', 'b', 'c'] [1, 2, 3] [1, 2, 3] [1, 2]"},
		{"integers", "print(pow(2, 100), pow(-1, pow(10, 20)), pow(3, 0), pow(0, 0), pow(-2, 3), pow(2, -1), 1 << 100, 7 * 6, 2 + 3)", "1267650600228229401496703205376 1 1 1 -8 0.5 1267650600228229401496703205376 42 5"},
		{"big integers within the limit", "x = pow(3, 300000)\ny = x * x\nprint(len(str(y)) > 280000, int('1' * 1000) % 7)", "True 5"},
		{"sorting", "l = [3, 1, 2]\nl.sort()\nm = [3, 1, 2]\nm.sort(reverse=True)\nprint(l, m, sorted([(1, 'b'), (0, 'a'), (1, 'a')], key=lambda t: t[0], reverse=True), sorted('bca'.elems()))", "[1, 2, 3] [3, 2, 1] [(1, 'b'), (1, 'a'), (0, 'a')] ['a', 'b', 'c']"},
		{"iterating builtins", "print(max([1, 5, 2]), min(3, 1, 2), max(['aa', 'b'], key=len), any([0, 1]), all([]), sum([1, 2, 3]), sum([[1], [2]], []))", "5 1 aa True True 6 [1, 2]"},
		{"constructors", "print(list(range(3)), tuple([1]), dict(a=1), sorted(set([3, 1])), enumerate(['a']), zip([1], [2]), reversed([1, 2]))", "[0, 1, 2] (1,) {'a': 1} [1, 3] [(0, 'a')] [(1, 2)] [2, 1]"},
		{"empty max", "max([])", "max: argument is an empty sequence"},
		{"attribute error", "x = 1\nx.join([])", "AttributeError: 'int' object has no attribute 'join'"},
		{"re", "import re\nprint(re.findall(r'(\\w)(\\d)', 'a1 b2'), re.split(r'\\s+', 'a b  c'), re.sub(r'(\\d)', r'<\\1>', 'a1b2', count=1), re.sub('x*', '-', 'abxd'), [m.group() for m in re.finditer(r'\\d', 'a1b2')], re.split(',', 'a,b,c', 1))", "[('a', '1'), ('b', '2')] ['a', 'b', 'c'] a<1>b2 -a-b-d- ['1', '2'] ['a', 'b,c']"},
		{"json", "import json\nprint(json.encode({'a': [1, 2.5, None, True, 'x\"']}), json.decode('[1, {\"b\": 2}]'), json.encode_indent([1]))", "{\"a\":[1,2.5,null,true,\"x\\\"\"]} [1, {'b': 2}] [\n\t1\n]"},
		{"garbage does not count", "for i in range(40):\n    s = 'a' * 10000000\nprint('done')", "done"},
		{"internal builtins misused", "print(_gantry_chk(1, 2, 3))", "NameError: name '_gantry_chk' is reserved by the sandbox"},
		{"internal builtins misused 2", "print(_gantry_augstore(1, '+', 2))", "NameError: name '_gantry_augstore' is reserved by the sandbox"},
		{"f-strings", "x = [1, 'a']\nprint(f'{x} {x!r} {3:>4} {\"s\"}')", "[1, 'a'] [1, 'a']    3 s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, Options{MaxMemory: 64 << 20})
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

// TestRegexpReaderScan checks that matching one match at a time through
// the polling reader finds what regexp's FindAll finds.
func TestRegexpReaderScan(t *testing.T) {
	inputs := []string{"", "abxd", "aaa bbb 123 a1b2c3", "héllo wörld ééé", strings.Repeat("ab12 cd ", 50)}
	patterns := []string{"", "a*", "x*", `\d+`, "[a-c]{2}", "(a)|(b)", `\w+`, "é*", "(?s).", "b*?"}
	b := newBudget(context.Background(), Options{MaxMemory: 1 << 30, Timeout: time.Minute})
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for _, in := range inputs {
			for _, n := range []int{-1, 0, 1, 3} {
				want := re.FindAllStringSubmatchIndex(in, n)
				var got [][]int
				err := readerMatches(re, in, n, b, func(locs []int) error {
					got = append(got, locs)
					return nil
				})
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("%q in %q, n=%d: got %v, want %v (%v)", p, in, n, got, want, err)
				}
			}
		}
	}
}

// TestSortValues checks the abortable merge sort against Starlark's sort:
// same order, same stability, with and without key and reverse.
func TestSortValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	thread := &starlark.Thread{}
	key := starlark.NewBuiltin("key", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return args[0].(starlark.Tuple)[0], nil
	})
	for _, n := range []int{0, 1, 2, 15, 16, 17, 33, 100, 1000} {
		for _, reverse := range []bool{false, true} {
			vals := make([]starlark.Value, n)
			for i := range vals {
				vals[i] = starlark.Tuple{starlark.MakeInt(r.IntN(10)), starlark.MakeInt(i)}
			}
			kwargs := []starlark.Tuple{{starlark.String("key"), key}, {starlark.String("reverse"), starlark.Bool(reverse)}}
			want, err := starlark.Call(thread, starlark.Universe["sorted"], starlark.Tuple{starlark.NewList(vals)}, kwargs)
			if err != nil {
				t.Fatal(err)
			}
			got := append([]starlark.Value(nil), vals...)
			if err := sortValues(thread, got, key, reverse); err != nil {
				t.Fatal(err)
			}
			if starlark.NewList(got).String() != want.String() {
				t.Fatalf("n=%d reverse=%v:\ngot  %v\nwant %v", n, reverse, got, want)
			}
		}
	}
}

// TestMeasuredRepr checks that measuring a rendering gives its exact size,
// shared and cyclic structures included, and that quotedLen agrees with
// tool.PyQuote.
func TestMeasuredRepr(t *testing.T) {
	for _, s := range []string{"", "a", "it's", `"q" 'q'`, "tab\tnl\n\x00\x7f", "é\xff\xfe", "\u200b\u0085\U000e0001", strings.Repeat("x'", 600)} {
		if got, want := quotedLen(s), int64(len(tool.PyQuote(s))); got != want {
			t.Errorf("quotedLen(%q) = %d, want %d", s, got, want)
		}
	}
	inner := starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.String("a'b"), starlark.Float(0.5), starlark.None})
	mid := starlark.NewList(nil)
	for i := 0; i < 50; i++ {
		mid.Append(inner)
	}
	cyc := starlark.NewList([]starlark.Value{starlark.MakeInt(0)})
	cyc.Append(cyc)
	d := starlark.NewDict(1)
	d.SetKey(starlark.String("self"), d)
	d.SetKey(starlark.String("l"), mid)
	vals := []starlark.Value{
		inner, mid, starlark.Tuple{mid, mid, cyc}, cyc, d,
		starlark.NewList([]starlark.Value{d, d, cyc, starlark.Tuple{cyc}}),
	}
	for _, v := range vals {
		n, err := sizeOf(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if r := pyRepr(v); int64(len(r)) != n {
			t.Errorf("size %d, rendering %d: %s", n, len(r), r)
		}
	}
	big := starlark.String(strings.Repeat("ab", reprLimit))
	if got := pyRepr(starlark.NewList([]starlark.Value{big})); len(got) != reprLimit+4 || !strings.HasPrefix(got, "['abab") || !strings.HasSuffix(got, "ab ...") {
		t.Errorf("a value past reprLimit: %d bytes, %.10q...%q", len(got), got, got[len(got)-10:])
	}
	if got := pyRepr(cyc); got != "[0, [...]]" {
		t.Errorf("cyclic list: %s", got)
	}
}

// TestJSONMeasure checks that the measure of json.encode bounds the
// encoding, and the nesting check of documents.
func TestJSONMeasure(t *testing.T) {
	shared := starlark.NewList([]starlark.Value{starlark.String("<&>\"\\\n é"), starlark.MakeInt(-12345), starlark.Float(1e300), starlark.True})
	d := starlark.NewDict(2)
	d.SetKey(starlark.String("a"), shared)
	d.SetKey(starlark.String("b"), starlark.Tuple{shared, shared, starlark.None})
	thread := &starlark.Thread{}
	for _, v := range []starlark.Value{shared, d, starlark.NewList([]starlark.Value{d, d, d})} {
		m, err := jsonSize(thread, v)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := starlark.Call(thread, json.Module.Members["encode"], starlark.Tuple{v}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(enc.(starlark.String))) > m.n {
			t.Errorf("measured %d < encoded %d: %s", m.n, len(enc.(starlark.String)), enc)
		}
	}
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{strings.Repeat("[", 1000) + strings.Repeat("]", 1000), true},
		{strings.Repeat("[", 1001), false},
		{`"` + strings.Repeat("[", 5000) + `"`, true},
		{`["\"` + strings.Repeat("{", 5000) + `"]`, true},
	} {
		if _, _, err := jsonScan(tc.doc, "decoding"); (err == nil) != tc.ok {
			t.Errorf("jsonScan(%.20q...): %v", tc.doc, err)
		}
	}
}
