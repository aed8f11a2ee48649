package m3tooleval

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// JSONDecodeError is Python's json.JSONDecodeError: a message and the
// position (in characters) where decoding failed.
type JSONDecodeError struct {
	Msg  string
	Doc  []rune
	Pos  int
	Line int
	Col  int
}

func (e *JSONDecodeError) Error() string {
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.Msg, e.Line, e.Col, e.Pos)
}

func jsonErr(msg string, doc []rune, pos int) error {
	line := 1
	last := -1
	for i := 0; i < pos && i < len(doc); i++ {
		if doc[i] == '\n' {
			line++
			last = i
		}
	}
	return &JSONDecodeError{Msg: msg, Doc: doc, Pos: pos, Line: line, Col: pos - last}
}

func isJSONSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// PyJSONLoads is Python's json.loads(s) (with CPython's C scanner's error
// messages): objects keep key order (a repeated key keeps its first place
// and last value), integers of any size stay ints, NaN, Infinity and
// -Infinity are accepted.
func PyJSONLoads(s string) (Value, error) {
	doc := []rune(s)
	p := &pyJSON{s: doc}
	i := p.ws(0)
	v, end, err := p.scan(i)
	if err != nil {
		return nil, err
	}
	end = p.ws(end)
	if end != len(doc) {
		return nil, jsonErr("Extra data", doc, end)
	}
	return v, nil
}

type pyJSON struct {
	s     []rune
	depth int
}

// stopIteration is the scanner's "no value here" (StopIteration(idx)).
type stopIteration struct{ idx int }

func (e *stopIteration) Error() string { return "StopIteration" }

func (p *pyJSON) ws(i int) int {
	for i < len(p.s) && isJSONSpace(p.s[i]) {
		i++
	}
	return i
}

func (p *pyJSON) has(i int, lit string) bool {
	r := []rune(lit)
	if i+len(r) > len(p.s) {
		return false
	}
	return string(p.s[i:i+len(r)]) == lit
}

// scan is scan_once: a value at i, or a *stopIteration.
func (p *pyJSON) scan(i int) (Value, int, error) {
	if i >= len(p.s) {
		return nil, 0, jsonErr("Expecting value", p.s, i)
	}
	v, end, err := p.scanOnce(i)
	if si, ok := err.(*stopIteration); ok {
		return nil, 0, jsonErr("Expecting value", p.s, si.idx)
	}
	return v, end, err
}

func (p *pyJSON) scanOnce(i int) (Value, int, error) {
	if i >= len(p.s) {
		return nil, 0, &stopIteration{i}
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 1000 {
		return nil, 0, &PyError{Type: "RecursionError", Msg: "maximum recursion depth exceeded while decoding a JSON document"}
	}
	switch c := p.s[i]; {
	case c == '"':
		str, end, err := p.str(i + 1)
		return Str(str), end, err
	case c == '{':
		return p.object(i + 1)
	case c == '[':
		return p.array(i + 1)
	case c == 'n' && p.has(i, "null"):
		return NoneValue{}, i + 4, nil
	case c == 't' && p.has(i, "true"):
		return Bool(true), i + 4, nil
	case c == 'f' && p.has(i, "false"):
		return Bool(false), i + 5, nil
	case c == 'N' && p.has(i, "NaN"):
		return Float(math.NaN()), i + 3, nil
	case c == 'I' && p.has(i, "Infinity"):
		return Float(math.Inf(1)), i + 8, nil
	case c == '-' && p.has(i, "-Infinity"):
		return Float(math.Inf(-1)), i + 9, nil
	}
	return p.number(i)
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

func (p *pyJSON) number(i int) (Value, int, error) {
	j := i
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	switch {
	case j < len(p.s) && p.s[j] == '0':
		j++
	case j < len(p.s) && p.s[j] >= '1' && p.s[j] <= '9':
		for j < len(p.s) && isASCIIDigit(p.s[j]) {
			j++
		}
	default:
		return nil, 0, &stopIteration{i}
	}
	intEnd := j
	isFloat := false
	if j+1 < len(p.s) && p.s[j] == '.' && isASCIIDigit(p.s[j+1]) {
		j += 2
		for j < len(p.s) && isASCIIDigit(p.s[j]) {
			j++
		}
		isFloat = true
	}
	if j < len(p.s) && (p.s[j] == 'e' || p.s[j] == 'E') {
		k := j + 1
		if k < len(p.s) && (p.s[k] == '+' || p.s[k] == '-') {
			k++
		}
		if k < len(p.s) && isASCIIDigit(p.s[k]) {
			for k < len(p.s) && isASCIIDigit(p.s[k]) {
				k++
			}
			j = k
			isFloat = true
		}
	}
	text := string(p.s[i:j])
	if !isFloat {
		n, err := PyIntFromStr(string(p.s[i:intEnd]))
		if err != nil {
			return nil, 0, &PyError{Type: "ValueError", Msg: "Exceeds the limit (4300 digits) for integer string conversion"}
		}
		return Int{n}, j, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return nil, 0, &stopIteration{i}
	}
	return Float(f), j, nil
}

func (p *pyJSON) str(end int) (string, int, error) {
	begin := end - 1
	var b strings.Builder
	for {
		if end >= len(p.s) {
			return "", 0, jsonErr("Unterminated string starting at", p.s, begin)
		}
		c := p.s[end]
		switch {
		case c == '"':
			return b.String(), end + 1, nil
		case c < 0x20:
			return "", 0, jsonErr("Invalid control character at", p.s, end)
		case c != '\\':
			b.WriteRune(c)
			end++
			continue
		}
		end++
		if end >= len(p.s) {
			return "", 0, jsonErr("Unterminated string starting at", p.s, begin)
		}
		esc := p.s[end]
		simple := map[rune]string{'"': "\"", '\\': "\\", '/': "/", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}
		if r, ok := simple[esc]; ok {
			b.WriteString(r)
			end++
			continue
		}
		if esc != 'u' {
			return "", 0, jsonErr("Invalid \\escape", p.s, end-1)
		}
		u, ok := p.hex4(end + 1)
		if !ok {
			return "", 0, jsonErr("Invalid \\uXXXX escape", p.s, end)
		}
		end += 5
		if u >= 0xd800 && u <= 0xdbff && end+1 < len(p.s) && p.s[end] == '\\' && p.s[end+1] == 'u' {
			if u2, ok := p.hex4(end + 2); ok && u2 >= 0xdc00 && u2 <= 0xdfff {
				u = 0x10000 + (u-0xd800)<<10 + (u2 - 0xdc00)
				end += 6
			}
		}
		if u >= 0xd800 && u <= 0xdfff {
			// A lone surrogate: Python keeps it; Go strings cannot.
			b.WriteRune(0xfffd)
			continue
		}
		b.WriteRune(rune(u))
	}
}

func (p *pyJSON) hex4(i int) (int, bool) {
	if i+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.s[i:i+4]), 16, 32)
	if err != nil || strings.ContainsAny(string(p.s[i:i+4]), "+-_xX") {
		return 0, false
	}
	return int(n), true
}

func (p *pyJSON) object(end int) (Value, int, error) {
	d := &Dict{}
	end = p.ws(end)
	if end < len(p.s) && p.s[end] == '}' {
		return d, end + 1, nil
	}
	if end >= len(p.s) || p.s[end] != '"' {
		return nil, 0, jsonErr("Expecting property name enclosed in double quotes", p.s, end)
	}
	end++
	for {
		key, e, err := p.str(end)
		if err != nil {
			return nil, 0, err
		}
		end = p.ws(e)
		if end >= len(p.s) || p.s[end] != ':' {
			return nil, 0, jsonErr("Expecting ':' delimiter", p.s, end)
		}
		end = p.ws(end + 1)
		v, e, err := p.scanOnce(end)
		if si, ok := err.(*stopIteration); ok {
			return nil, 0, jsonErr("Expecting value", p.s, si.idx)
		} else if err != nil {
			return nil, 0, err
		}
		d.Set(Str(key), v)
		end = p.ws(e)
		if end < len(p.s) && p.s[end] == '}' {
			return d, end + 1, nil
		}
		if end >= len(p.s) || p.s[end] != ',' {
			return nil, 0, jsonErr("Expecting ',' delimiter", p.s, end)
		}
		end = p.ws(end + 1)
		if end >= len(p.s) || p.s[end] != '"' {
			return nil, 0, jsonErr("Expecting property name enclosed in double quotes", p.s, end)
		}
		end++
	}
}

func (p *pyJSON) array(end int) (Value, int, error) {
	out := List{}
	end = p.ws(end)
	if end < len(p.s) && p.s[end] == ']' {
		return out, end + 1, nil
	}
	for {
		v, e, err := p.scanOnce(end)
		if si, ok := err.(*stopIteration); ok {
			return nil, 0, jsonErr("Expecting value", p.s, si.idx)
		} else if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
		end = p.ws(e)
		if end < len(p.s) && p.s[end] == ']' {
			return out, end + 1, nil
		}
		if end >= len(p.s) || p.s[end] != ',' {
			return nil, 0, jsonErr("Expecting ',' delimiter", p.s, end)
		}
		end = p.ws(end + 1)
	}
}
