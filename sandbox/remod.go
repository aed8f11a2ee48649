package sandbox

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/gantry-dev/gantry/tool"
)

// The re module, on Go's regexp (RE2 syntax: no backreferences or
// lookaround): search, match, fullmatch, findall, finditer, sub, split,
// escape, the flags IGNORECASE (I), MULTILINE (M) and DOTALL (S), and the
// match object (group, groups, start, end, span). Functions that return many matches (findall, finditer,
// split, sub) charge each match before building its result, and collect
// no more matches than the budget allows, so re.findall('', 'a'*50000000)
// or re.sub('', s, big) end with a MemoryError instead of GiBs. When the
// input times the pattern's size is large (slowRegexpWork), matching goes
// through a reader that polls the action, so the action's deadline holds
// during the scan (for patterns with context assertions, ^ \b ..., only
// the first match of search/match/fullmatch).

// slowRegexpWork is the work (input bytes times compiled program size)
// above which matching goes through a polling reader: about a second of
// the engine's time at most below it.
const slowRegexpWork = 400_000_000

// reAbort carries an error out of a scan.
type reAbort struct{ err error }

// pollReader reads a string for the regexp engine, polling the action's
// budget every 64 Ki runes.
type pollReader struct {
	s string
	i int
	n int
	b *budget
}

func (r *pollReader) ReadRune() (rune, int, error) {
	if r.i >= len(r.s) {
		return 0, 0, io.EOF
	}
	r.n++
	if r.n&0xffff == 0 {
		if err := r.b.poll(); err != nil {
			panic(reAbort{err})
		}
	}
	c, size := utf8.DecodeRuneInString(r.s[r.i:])
	r.i += size
	return c, size, nil
}

// slowMatch reports whether matching re on s may take long enough that it
// must poll the action (and so go through a reader).
func slowMatch(re *regexp.Regexp, s string) bool {
	if len(s) < 1<<16 {
		return false
	}
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return true
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return true
	}
	return int64(len(s))*int64(len(prog.Inst)) > slowRegexpWork
}

// contextFree reports whether re has no assertion that looks at the text
// around a position (^, $ in multiline mode, \A, \b, \B): matching it from
// a position on the rest of the text is then matching it on the text.
func contextFree(re *regexp.Regexp) bool {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return false
	}
	var walk func(*syntax.Regexp) bool
	walk = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			return false
		}
		for _, sub := range r.Sub {
			if !walk(sub) {
				return false
			}
		}
		return true
	}
	return walk(parsed)
}

// findOne returns the submatch indices of re's leftmost match in s, or nil.
func findOne(thread *starlark.Thread, re *regexp.Regexp, s string) (locs []int, err error) {
	b := budgetOf(thread)
	if b == nil || !slowMatch(re, s) {
		return re.FindStringSubmatchIndex(s), nil
	}
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(reAbort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	return re.FindReaderSubmatchIndex(&pollReader{s: s, b: b}), nil
}

// eachMatch calls fn with the submatch indices of each successive match of
// re in s, as regexp's FindAll functions find them, at most n (n < 0: all).
// fn charges each match; an error from it ends the scan. Slow matching
// (slowMatch) goes one match at a time through a polling reader when the
// pattern allows it; otherwise regexp collects the matches at once, no
// more than the remaining budget allows at perMatch bytes each.
func eachMatch(thread *starlark.Thread, re *regexp.Regexp, s string, n int, perMatch int64, what string, fn func(locs []int) error) error {
	b := budgetOf(thread)
	if b == nil || !slowMatch(re, s) || !contextFree(re) {
		if b != nil {
			most := b.remaining() / max(perMatch, 1)
			if n < 0 || int64(n) > most+1 {
				n = int(most + 1)
			}
		}
		all := re.FindAllStringSubmatchIndex(s, n)
		if b != nil && int64(len(all)) > b.remaining()/max(perMatch, 1) {
			return b.refuse(mulSize(int64(len(all)), perMatch), b.limit-b.remaining(), what)
		}
		for _, locs := range all {
			if err := fn(locs); err != nil {
				return err
			}
		}
		return nil
	}
	return readerMatches(re, s, n, b, fn)
}

// readerMatches calls fn with each successive match of re in s, at most n
// (n < 0: all), matching one at a time through a reader that polls b. re
// must be contextFree.
func readerMatches(re *regexp.Regexp, s string, n int, b *budget, fn func(locs []int) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(reAbort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	// regexp's rules for successive matches: after an empty match move on
	// one rune, and ignore an empty match right after a previous match.
	prevEnd := -1
	rd := &pollReader{b: b}
	for pos, found := 0, 0; (n < 0 || found < n) && pos <= len(s); {
		rd.s, rd.i = s[pos:], 0
		locs := re.FindReaderSubmatchIndex(rd)
		if locs == nil {
			break
		}
		for i := range locs {
			if locs[i] >= 0 {
				locs[i] += pos
			}
		}
		accept := true
		if locs[1] == locs[0] {
			if locs[0] == prevEnd {
				accept = false
			}
			if locs[1] < len(s) {
				_, w := utf8.DecodeRuneInString(s[locs[1]:])
				pos = locs[1] + w
			} else {
				pos = len(s) + 1
			}
		} else {
			pos = locs[1]
		}
		prevEnd = locs[1]
		if accept {
			found++
			if err := fn(locs); err != nil {
				return err
			}
		}
	}
	return nil
}

// matchCharger returns fn for eachMatch: it charges per bytes a match and
// polls the action.
func matchCharger(thread *starlark.Thread, per int64, what string) func() error {
	b := budgetOf(thread)
	return func() error {
		if err := b.tick(); err != nil {
			return err
		}
		return charge(thread, per, what)
	}
}

func reModule() *starlarkstruct.Module {
	compile := func(pattern string, flags int) (*regexp.Regexp, error) {
		prefix := ""
		if flags&2 != 0 {
			prefix += "i"
		}
		if flags&8 != 0 {
			prefix += "m"
		}
		if flags&16 != 0 {
			prefix += "s"
		}
		if prefix != "" {
			pattern = "(?" + prefix + ")" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, &pyError{typ: "re.error", msg: err.Error()}
		}
		return re, nil
	}
	matcher := func(name string, mode int) *starlark.Builtin {
		return starlark.NewBuiltin("re."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			flags := 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "flags?", &flags); err != nil {
				return nil, err
			}
			switch mode {
			case 1:
				pattern = `\A(?:` + pattern + `)`
			case 2:
				pattern = `\A(?:` + pattern + `)\z`
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			locs, err := findOne(thread, re, s)
			if err != nil {
				return nil, err
			}
			if locs == nil {
				return starlark.None, nil
			}
			return &matchValue{s: s, locs: locs, re: re}, nil
		})
	}
	return &starlarkstruct.Module{Name: "re", Members: starlark.StringDict{
		"IGNORECASE": starlark.MakeInt(2), "I": starlark.MakeInt(2),
		"MULTILINE": starlark.MakeInt(8), "M": starlark.MakeInt(8),
		"DOTALL": starlark.MakeInt(16), "S": starlark.MakeInt(16),
		"search":    matcher("search", 0),
		"match":     matcher("match", 1),
		"fullmatch": matcher("fullmatch", 2),
		"findall": starlark.NewBuiltin("re.findall", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			flags := 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			groups := re.NumSubexp()
			// The match's indices, a list slot, a boxed string or a tuple.
			per := int64(24+16*(groups+1)) + 2*slotBytes + int64(24+slotBytes*groups)
			step := matchCharger(thread, per, "re.findall")
			var out []starlark.Value
			err = eachMatch(thread, re, s, -1, per, b.Name(), func(m []int) error {
				if err := step(); err != nil {
					return err
				}
				group := func(i int) starlark.Value {
					if m[2*i] < 0 {
						return starlark.String("")
					}
					return starlark.String(s[m[2*i]:m[2*i+1]])
				}
				switch groups {
				case 0:
					out = append(out, group(0))
				case 1:
					out = append(out, group(1))
				default:
					t := make(starlark.Tuple, groups)
					for i := range t {
						t[i] = group(i + 1)
					}
					out = append(out, t)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			return starlark.NewList(out), nil
		}),
		"finditer": starlark.NewBuiltin("re.finditer", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			flags := 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			per := int64(24+16*(re.NumSubexp()+1)) + slotBytes + 64
			step := matchCharger(thread, per, "re.finditer")
			var out []starlark.Value
			err = eachMatch(thread, re, s, -1, per, b.Name(), func(m []int) error {
				if err := step(); err != nil {
					return err
				}
				out = append(out, &matchValue{s: s, locs: m, re: re})
				return nil
			})
			if err != nil {
				return nil, err
			}
			return starlark.NewList(out), nil
		}),
		"sub": starlark.NewBuiltin("re.sub", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, repl, s string
			count, flags := 0, 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "repl", &repl, "string", &s, "count?", &count, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			// Python writes groups as \1; Go as ${1}.
			groupRef := regexp.MustCompile(`\\(\d+)`)
			goRepl := groupRef.ReplaceAllString(strings.ReplaceAll(repl, "$", "$$"), "$${$1}")
			refs := int64(len(groupRef.FindAllStringIndex(repl, -1)))
			n := -1
			if count > 0 {
				n = count
			}
			// Measure the result before building it: each match is
			// replaced by repl with its group references expanded.
			size := int64(len(s))
			var out []byte
			b2 := budgetOf(thread)
			last := 0
			err = eachMatch(thread, re, s, n, 16*int64(re.NumSubexp()+1)+24+int64(len(repl)), b.Name(), func(m []int) error {
				if err := b2.tick(); err != nil {
					return err
				}
				grow := int64(len(repl)) + refs*int64(m[1]-m[0])
				size = addSize(size, grow)
				if err := charge(thread, grow, "re.sub"); err != nil {
					return err
				}
				out = append(out, s[last:m[0]]...)
				out = re.ExpandString(out, goRepl, s, m)
				last = m[1]
				return nil
			})
			if err != nil {
				return nil, err
			}
			out = append(out, s[last:]...)
			return starlark.String(out), nil
		}),
		"split": starlark.NewBuiltin("re.split", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, s string
			maxsplit, flags := 0, 0
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "string", &s, "maxsplit?", &maxsplit, "flags?", &flags); err != nil {
				return nil, err
			}
			re, err := compile(pattern, flags)
			if err != nil {
				return nil, err
			}
			n := -1
			if maxsplit > 0 {
				n = maxsplit + 1
			}
			per := int64(40 + 2*slotBytes)
			// regexp.Split's rules, charging each piece.
			if len(re.String()) > 0 && len(s) == 0 {
				return starlark.NewList([]starlark.Value{starlark.String("")}), nil
			}
			step := matchCharger(thread, per, "re.split")
			out := []starlark.Value{}
			beg, end := 0, 0
			err = eachMatch(thread, re, s, n, per, b.Name(), func(m []int) error {
				if n > 0 && len(out) == n-1 {
					return errStopScan
				}
				if err := step(); err != nil {
					return err
				}
				end = m[0]
				if m[1] != 0 {
					out = append(out, starlark.String(s[beg:end]))
				}
				beg = m[1]
				return nil
			})
			if err != nil && err != errStopScan {
				return nil, err
			}
			if end != len(s) {
				out = append(out, starlark.String(s[beg:]))
			}
			return starlark.NewList(out), nil
		}),
		"escape": starlark.NewBuiltin("re.escape", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var s string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
				return nil, err
			}
			return starlark.String(regexp.QuoteMeta(s)), nil
		}),
	}}
}

// errStopScan ends a scan early without an error.
var errStopScan = fmt.Errorf("stop")

// matchValue is the result of a successful re match.
type matchValue struct {
	s    string
	locs []int
	re   *regexp.Regexp
}

func (m *matchValue) String() string {
	return fmt.Sprintf("<re.Match object; span=(%d, %d), match=%s>", m.locs[0], m.locs[1], tool.PyQuote(m.s[m.locs[0]:m.locs[1]]))
}
func (m *matchValue) Type() string          { return "re.Match" }
func (m *matchValue) Freeze()               {}
func (m *matchValue) Truth() starlark.Bool  { return true }
func (m *matchValue) Hash() (uint32, error) { return 0, errors.New("unhashable: re.Match") }
func (m *matchValue) AttrNames() []string   { return []string{"group", "groups", "start", "end", "span"} }

func (m *matchValue) group(i int) starlark.Value {
	if 2*i+1 >= len(m.locs) || m.locs[2*i] < 0 {
		return starlark.None
	}
	return starlark.String(m.s[m.locs[2*i]:m.locs[2*i+1]])
}

func (m *matchValue) index(v starlark.Value) (int, error) {
	if s, ok := v.(starlark.String); ok {
		i := m.re.SubexpIndex(string(s))
		if i < 0 {
			return 0, &pyError{typ: "IndexError", msg: "no such group"}
		}
		return i, nil
	}
	i, err := starlark.AsInt32(v)
	if err != nil || i < 0 || 2*i+1 >= len(m.locs) {
		return 0, &pyError{typ: "IndexError", msg: "no such group"}
	}
	return i, nil
}

func (m *matchValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "group":
		return starlark.NewBuiltin("group", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			if len(args) == 0 {
				return m.group(0), nil
			}
			var out starlark.Tuple
			for _, a := range args {
				i, err := m.index(a)
				if err != nil {
					return nil, err
				}
				out = append(out, m.group(i))
			}
			if len(out) == 1 {
				return out[0], nil
			}
			return out, nil
		}), nil
	case "groups":
		return starlark.NewBuiltin("groups", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			var out starlark.Tuple
			for i := 1; 2*i < len(m.locs); i++ {
				out = append(out, m.group(i))
			}
			return out, nil
		}), nil
	case "start", "end", "span":
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			i := 0
			if len(args) > 0 {
				var err error
				if i, err = m.index(args[0]); err != nil {
					return nil, err
				}
			}
			st, en := starlark.MakeInt(m.locs[2*i]), starlark.MakeInt(m.locs[2*i+1])
			switch name {
			case "start":
				return st, nil
			case "end":
				return en, nil
			}
			return starlark.Tuple{st, en}, nil
		}), nil
	}
	return nil, nil
}
