package sandbox

import (
	"fmt"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// maxJSONDepth bounds the nesting of values json encodes and of documents
// it decodes, as Python's recursion limit does. Starlark's decoder is
// recursive: '[' * 5000000 would overflow the Go stack, which kills the
// process.
const maxJSONDepth = 1000

// maxJSONIntDigits bounds the digits of all big integers of one JSON
// document: decoding an integer takes time quadratic in its digits, and
// json.decode runs in one step the deadline cannot interrupt.
const maxJSONIntDigits = 2 * maxIntDigits

// jsonModule is Starlark's json module with every function measured and
// charged before it runs: json.encode refuses cyclic values as Python does
// and charges the encoding's size (a shared structure is measured without
// being encoded); json.decode checks the document's nesting first.
func jsonModule() *starlarkstruct.Module {
	m := json.Module.Members
	encode := m["encode"].(*starlark.Builtin)
	encodeIndent := m["encode_indent"].(*starlark.Builtin)
	decode := m["decode"].(*starlark.Builtin)
	indent := m["indent"].(*starlark.Builtin)
	members := starlark.StringDict{}
	for k, v := range m {
		members[k] = v
	}
	members["encode"] = starlark.NewBuiltin("json.encode", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 1 {
			m, err := jsonSize(thread, args[0])
			if err != nil {
				return nil, err
			}
			if err := charge(thread, m.n, "json.encode"); err != nil {
				return nil, err
			}
		}
		return encode.CallInternal(thread, args, kwargs)
	})
	members["encode_indent"] = starlark.NewBuiltin("json.encode_indent", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 1 {
			m, err := jsonSize(thread, args[0])
			if err != nil {
				return nil, err
			}
			n := indentedSize(m.n, m.nodes, m.levels, kwargs)
			if err := charge(thread, n, "json.encode_indent"); err != nil {
				return nil, err
			}
		}
		return encodeIndent.CallInternal(thread, args, kwargs)
	})
	members["decode"] = starlark.NewBuiltin("json.decode", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) >= 1 {
			if s, ok := args[0].(starlark.String); ok {
				tokens, _, err := jsonScan(string(s), "decoding")
				if err != nil {
					return nil, err
				}
				if err := charge(thread, addSize(int64(len(s)), mulSize(tokens, entryBytes)), "json.decode"); err != nil {
					return nil, err
				}
			}
		}
		return decode.CallInternal(thread, args, kwargs)
	})
	members["indent"] = starlark.NewBuiltin("json.indent", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) >= 1 {
			if s, ok := args[0].(starlark.String); ok {
				tokens, levels, err := jsonScan(string(s), "indenting")
				if err != nil {
					return nil, err
				}
				n := indentedSize(int64(len(s)), tokens, levels, kwargs)
				if err := charge(thread, n, "json.indent"); err != nil {
					return nil, err
				}
			}
		}
		return indent.CallInternal(thread, args, kwargs)
	})
	return &starlarkstruct.Module{Name: "json", Members: members}
}

// jsonScan checks a JSON document's nesting without decoding it and
// returns the number of its structural tokens (an upper bound of the
// values it holds) and the sum of their depths.
func jsonScan(s, doing string) (tokens, levels int64, err error) {
	depth := 0
	var bigDigits int64 // digits of the integers beyond int64
	tokens = 1
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			tokens++
			levels += int64(depth)
			if depth > maxJSONDepth {
				return 0, 0, recursionError(fmt.Sprintf("maximum recursion depth exceeded while %s a JSON document (nesting deeper than %d)", doing, maxJSONDepth))
			}
		case ']', '}':
			depth--
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			// A number: an integer of more digits than int() converts
			// would take quadratic time to decode.
			j, digits, integer := i, 0, true
			for ; j < len(s); j++ {
				switch d := s[j]; {
				case d >= '0' && d <= '9':
					digits++
				case d == '.' || d == 'e' || d == 'E':
					integer = false
				case d == '-' || d == '+':
				default:
					goto end
				}
			}
		end:
			if integer && digits > maxIntDigits {
				return 0, 0, valueError(fmt.Sprintf("Exceeds the limit (%d digits) for integer string conversion: value has %d digits", maxIntDigits, digits))
			}
			if integer && digits > 18 {
				bigDigits += int64(digits)
				if bigDigits > maxJSONIntDigits {
					return 0, 0, valueError(fmt.Sprintf("the JSON document's big integers have more than %d digits in all, more than the sandbox decodes in one call", maxJSONIntDigits))
				}
			}
			i = j - 1
		case ',', ':':
			tokens++
			levels += int64(depth)
		}
	}
	return tokens, levels, nil
}

func recursionError(msg string) error { return &pyError{typ: "RecursionError", msg: msg} }

// jsonSize measures json.encode(v) (an upper bound: m.n bytes, m.nodes
// values, m.levels the sum of their depths), refusing cycles, nesting
// deeper than maxJSONDepth and sizes past the action's memory limit.
func jsonSize(thread *starlark.Thread, v starlark.Value) (*jsonMeasure, error) {
	m := &jsonMeasure{limit: 1 << 62, budget: budgetOf(thread)}
	if m.budget != nil {
		m.limit = m.budget.limit
	}
	m.value(v, 0)
	return m, m.err
}

type jsonMeasure struct {
	n, nodes int64
	levels   int64 // sum of the depths of the values
	limit    int64
	err      error
	budget   *budget
	path     []any
	memo     map[any][3]int64 // size, values, levels below the value's depth
}

func (m *jsonMeasure) add(n int64) {
	m.n = addSize(m.n, n)
	if m.n > m.limit && m.err == nil {
		m.err = memoryError(fmt.Sprintf("json.encode would produce more than %s: over the sandbox memory limit", byteSize(m.limit)))
	}
}

func (m *jsonMeasure) value(v starlark.Value, depth int) {
	if m.err != nil {
		return
	}
	if err := m.budget.tick(); err != nil {
		m.err = err
		return
	}
	m.nodes++
	m.levels += int64(depth)
	if depth > maxJSONDepth {
		m.err = recursionError(fmt.Sprintf("maximum recursion depth exceeded while encoding a JSON object (nesting deeper than %d)", maxJSONDepth))
		return
	}
	switch x := v.(type) {
	case starlark.NoneType, starlark.Bool:
		m.add(5)
		return
	case starlark.Int:
		m.add(intBits(x)*30103/100000 + 2)
		return
	case starlark.Float:
		m.add(32)
		return
	case starlark.String:
		m.add(jsonQuotedLen(string(x)))
		return
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set:
	default:
		m.add(int64(len(v.String())) * 6)
		return
	}
	id := identity(v)
	if id != nil {
		for _, p := range m.path {
			if p == id {
				m.err = valueError("Circular reference detected")
				return
			}
		}
		if r, ok := m.memo[id]; ok {
			m.add(r[0])
			m.nodes += r[1] - 1 // this value was counted above
			m.levels += r[2] + (r[1]-1)*int64(depth)
			return
		}
		m.path = append(m.path, id)
		defer func() { m.path = m.path[:len(m.path)-1] }()
	}
	start, startNodes, startLevels := m.n, m.nodes-1, m.levels-int64(depth)
	m.add(2)
	switch x := v.(type) {
	case *starlark.List:
		for i := 0; i < x.Len() && m.err == nil; i++ {
			m.add(1)
			m.value(x.Index(i), depth+1)
		}
	case starlark.Tuple:
		for _, e := range x {
			if m.err != nil {
				break
			}
			m.add(1)
			m.value(e, depth+1)
		}
	case *starlark.Dict:
		for _, item := range x.Items() {
			if m.err != nil {
				break
			}
			m.add(2)
			m.value(item[0], depth+1)
			m.value(item[1], depth+1)
		}
	case *starlark.Set:
		iter := x.Iterate()
		var e starlark.Value
		for m.err == nil && iter.Next(&e) {
			m.add(1)
			m.value(e, depth+1)
		}
		iter.Done()
	}
	// Nothing below refers back up the path (that would have failed), so
	// the size holds wherever the value appears again.
	if id != nil && m.err == nil && m.n-start > 64 {
		if m.memo == nil {
			m.memo = make(map[any][3]int64)
		}
		nodes := m.nodes - startNodes
		m.memo[id] = [3]int64{m.n - start, nodes, m.levels - startLevels - nodes*int64(depth)}
	}
}

// jsonQuotedLen bounds the length of s encoded as a JSON string.
func jsonQuotedLen(s string) int64 {
	n := int64(2)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			n += 2
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 6
		default:
			n++
		}
	}
	return n
}

// indentedSize bounds the size of an indented JSON text of n compact bytes
// with the given number of values and nesting levels, under the prefix
// and indent keyword arguments of encode_indent and indent: each value goes
// on its own line (a prefix and a newline), then the indent once per level.
func indentedSize(n, nodes, levels int64, kwargs []starlark.Tuple) int64 {
	prefix, indent := int64(0), int64(1)
	for _, kv := range kwargs {
		if s, ok := kv[1].(starlark.String); ok {
			if kv[0].(starlark.String) == "prefix" {
				prefix = int64(len(s))
			} else {
				indent = int64(len(s))
			}
		}
	}
	return addSize(addSize(n, mulSize(nodes, prefix+2)), mulSize(levels, indent))
}
