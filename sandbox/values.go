package sandbox

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/gantry-dev/gantry/internal/repr"
	"github.com/gantry-dev/gantry/tool"
)

// toGo converts a Starlark value to the Go form tool.Bind expects. The
// caller measures v first (jsonSize): cycles and nesting deeper than
// maxJSONDepth are refused there; the depth is checked here again so that
// no value can recurse without bound.
func toGo(v starlark.Value) (any, error) { return toGoDepth(v, 0) }

func toGoDepth(v starlark.Value, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxJSONDepth)
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		return string(x), nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		if n, ok := x.Int64(); ok {
			return n, nil
		}
		return x.BigInt(), nil // exact: a tool says it is out of range
	case starlark.Float:
		return float64(x), nil
	case *starlark.List:
		return iterToGo(x, depth)
	case starlark.Tuple:
		return iterToGo(x, depth)
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict keys must be str, got %s", pyTypeName(item[0]))
			}
			gv, err := toGoDepth(item[1], depth+1)
			if err != nil {
				return nil, err
			}
			m[string(k)] = gv
		}
		return m, nil
	}
	return nil, fmt.Errorf("cannot pass a %s to a tool", pyTypeName(v))
}

func iterToGo(it starlark.Indexable, depth int) ([]any, error) {
	out := make([]any, it.Len())
	for i := range out {
		gv, err := toGoDepth(it.Index(i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = gv
	}
	return out, nil
}

// fromGo converts a tool's Go result to a Starlark value. Values of other
// Go types go through a JSON round trip.
func fromGo(v any) (starlark.Value, error) { return fromGoDepth(v, 0) }

// maxResultDepth bounds the nesting of a tool's result.
const maxResultDepth = 10_000

func fromGoDepth(v any, depth int) (starlark.Value, error) {
	if depth > maxResultDepth {
		return nil, fmt.Errorf("tool result nested deeper than %d levels", maxResultDepth)
	}
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return x, nil
	case interface {
		StarlarkValue() (starlark.Value, error)
	}:
		// A result that knows its Starlark form: a tuple, a dict that
		// keeps its order, a float that must stay a float.
		return x.StarlarkValue()
	case string:
		return starlark.String(x), nil
	case bool:
		return starlark.Bool(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case int32:
		return starlark.MakeInt64(int64(x)), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case *big.Int:
		if x.BitLen() > maxIntBits {
			return nil, fmt.Errorf("int of %d bits is larger than the sandbox's integer limit", x.BitLen())
		}
		return starlark.MakeBigInt(x), nil
	case float64:
		return starlark.Float(x), nil
	case float32:
		return starlark.Float(x), nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return starlark.MakeInt64(n), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return starlark.Float(f), nil
	case []string:
		elems := make([]starlark.Value, len(x))
		for i, s := range x {
			elems[i] = starlark.String(s)
		}
		return starlark.NewList(elems), nil
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := fromGoDepth(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			sv, err := fromGoDepth(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("tool result of type %T: %w", v, err)
	}
	var generic any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return fromGoDepth(tool.FromJSON(generic), depth+1)
}

// pyTypeName names a value's type as Python does.
func pyTypeName(v starlark.Value) string {
	switch v.(type) {
	case starlark.String:
		return "str"
	case starlark.NoneType:
		return "NoneType"
	case *starlark.Dict:
		return "dict"
	case *starlark.Builtin, *starlark.Function:
		return "function"
	}
	return v.Type()
}

// reprLimit bounds the rendering of a value outside any action (the
// value an action leaves): larger renderings are cut.
const reprLimit = 16 << 20

// pyRepr renders v as Python's repr() would, cut at reprLimit bytes.
func pyRepr(v starlark.Value) string {
	var b strings.Builder
	w := &reprWriter{buf: &b, limit: reprLimit}
	w.value(v, 0)
	if w.err != nil {
		b.WriteString(" ...")
	}
	return b.String()
}

// pyStr renders v as Python's str() would, cut at reprLimit bytes.
func pyStr(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		return string(s)
	}
	return pyRepr(v)
}

// reprOf renders v as Python's repr() would, charging the rendering to the
// action's budget first: a value that shares or repeats structure
// ([[[1]*1000]*1000]*1000 holds 10^9 references) is measured without
// being rendered, and refused when it would not fit.
func reprOf(thread *starlark.Thread, v starlark.Value) (string, error) {
	switch x := v.(type) {
	case starlark.Int:
		return x.String(), nil
	case starlark.Float:
		return tool.FormatFloat(float64(x)), nil
	case starlark.Bool, starlark.NoneType:
		return x.String(), nil
	}
	n, err := sizeOf(thread, v)
	if err != nil {
		return "", err
	}
	if err := charge(thread, n, "repr"); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(int(n))
	w := &reprWriter{buf: &b, limit: n, budget: budgetOf(thread)}
	w.value(v, 0)
	if w.err != nil {
		return "", w.err
	}
	return b.String(), nil
}

// strOf renders v as Python's str() would (see reprOf).
func strOf(thread *starlark.Thread, v starlark.Value) (string, error) {
	if s, ok := v.(starlark.String); ok {
		return string(s), nil
	}
	return reprOf(thread, v)
}

// sizeOf returns the size of v's rendering, failing with a MemoryError
// when it exceeds the action's memory limit.
func sizeOf(thread *starlark.Thread, v starlark.Value) (int64, error) {
	r := newSizer(thread)
	n := r.size(v)
	return n, r.err
}

// newSizer returns a reprWriter that measures renderings up to the action's
// memory limit.
func newSizer(thread *starlark.Thread) *reprWriter {
	w := &reprWriter{limit: math.MaxInt64, budget: budgetOf(thread)}
	if w.budget != nil {
		w.limit = w.budget.limit
	}
	return w
}

// maxReprDepth is the nesting depth below which containers render as "...".
const maxReprDepth = 100

// reprWriter renders values as Python's repr, or measures the rendering
// (buf nil). It stops once the rendering passes limit. Containers that
// contain themselves render as Python renders them ([...], {...}).
// Measuring remembers the size of each container rendered once, so a
// structure that repeats references to the same values is measured in
// time proportional to its distinct parts.
type reprWriter struct {
	buf    *strings.Builder // nil: measure only
	n      int64
	limit  int64
	err    error
	budget *budget // polled while walking, when set

	path  []any // containers being rendered
	marks int   // cycle markers written
	memo  map[any]int64
}

// size measures v's rendering; r.err is set if it passes the limit.
func (w *reprWriter) size(v starlark.Value) int64 {
	start := w.n
	w.value(v, 0)
	return w.n - start
}

func (w *reprWriter) str(s string) {
	w.n += int64(len(s))
	if w.n > w.limit {
		w.overflow()
		return
	}
	if w.buf != nil {
		w.buf.WriteString(s)
	}
}

func (w *reprWriter) byte1(c byte) {
	w.n++
	if w.n > w.limit {
		w.overflow()
		return
	}
	if w.buf != nil {
		w.buf.WriteByte(c)
	}
}

func (w *reprWriter) overflow() {
	if w.err == nil {
		w.err = memoryError(fmt.Sprintf("the text of this value would need more than %s: over the sandbox memory limit", byteSize(w.limit)))
	}
}

// identity returns the key that identifies a container, or nil.
func identity(v starlark.Value) any {
	switch x := v.(type) {
	case *starlark.List:
		return x
	case *starlark.Dict:
		return x
	case *starlark.Set:
		return x
	case starlark.Tuple:
		if len(x) > 0 {
			return tupleKey{&x[0], len(x)}
		}
	}
	return nil
}

type tupleKey struct {
	first *starlark.Value
	n     int
}

func (w *reprWriter) value(v starlark.Value, depth int) {
	if w.err != nil {
		return
	}
	if w.budget != nil {
		if err := w.budget.tick(); err != nil {
			w.err = err
			return
		}
	}
	if depth > maxReprDepth {
		w.str("...")
		return
	}
	switch x := v.(type) {
	case starlark.String:
		w.quoted(string(x))
		return
	case starlark.Float:
		w.str(tool.FormatFloat(float64(x)))
		return
	case starlark.Int:
		if _, small := x.Int64(); small || w.buf != nil {
			w.str(x.String())
		} else {
			w.n += intBits(x)*30103/100000 + 2 // decimal digits, bounded
			if w.n > w.limit {
				w.overflow()
			}
		}
		return
	case *starlark.Builtin:
		w.str("<built-in function " + x.Name() + ">")
		return
	case *starlark.Function:
		w.str("<function " + x.Name() + ">")
		return
	case *starlark.List, *starlark.Dict, starlark.Tuple, *starlark.Set:
	default:
		w.str(v.String())
		return
	}
	id := identity(v)
	if id != nil {
		for _, p := range w.path {
			if p == id {
				w.marks++
				if _, ok := v.(*starlark.Dict); ok {
					w.str("{...}")
				} else {
					w.str("[...]")
				}
				return
			}
		}
		if w.buf == nil && w.memo != nil {
			if n, ok := w.memo[id]; ok {
				w.n += n
				if w.n > w.limit {
					w.overflow()
				}
				return
			}
		}
		w.path = append(w.path, id)
		defer func() { w.path = w.path[:len(w.path)-1] }()
	}
	start, marks := w.n, w.marks
	switch x := v.(type) {
	case *starlark.List:
		w.byte1('[')
		for i := 0; i < x.Len() && w.err == nil; i++ {
			if i > 0 {
				w.str(", ")
			}
			w.value(x.Index(i), depth+1)
		}
		w.byte1(']')
	case starlark.Tuple:
		w.byte1('(')
		for i, e := range x {
			if w.err != nil {
				break
			}
			if i > 0 {
				w.str(", ")
			}
			w.value(e, depth+1)
		}
		if len(x) == 1 {
			w.byte1(',')
		}
		w.byte1(')')
	case *starlark.Dict:
		w.byte1('{')
		for i, item := range x.Items() {
			if w.err != nil {
				break
			}
			if i > 0 {
				w.str(", ")
			}
			w.value(item[0], depth+1)
			w.str(": ")
			w.value(item[1], depth+1)
		}
		w.byte1('}')
	case *starlark.Set:
		if x.Len() == 0 {
			w.str("set()")
			return
		}
		w.byte1('{')
		iter := x.Iterate()
		var e starlark.Value
		for i := 0; w.err == nil && iter.Next(&e); i++ {
			if i > 0 {
				w.str(", ")
			}
			w.value(e, depth+1)
		}
		iter.Done()
		w.byte1('}')
	}
	// A rendering without cycle markers does not depend on where the
	// container is: remember its size.
	if w.buf == nil && id != nil && w.marks == marks && w.err == nil && w.n-start > 64 {
		if w.memo == nil {
			w.memo = make(map[any]int64)
		}
		w.memo[id] = w.n - start
	}
}

// quoted writes s quoted as Python's repr of a str (tool.PyQuote).
func (w *reprWriter) quoted(s string) {
	if w.buf != nil {
		if len(s) < 1<<10 {
			w.str(tool.PyQuote(s))
			return
		}
		n := quotedLen(s)
		if w.n+n > w.limit {
			// Render what fits, then stop.
			if rem := w.limit - w.n; rem > 0 {
				q := tool.PyQuote(s[:min(int64(len(s)), rem)])
				w.buf.WriteString(q[:min(int64(len(q)), rem)])
			}
			w.n += n
			w.overflow()
			return
		}
		w.str(tool.PyQuote(s))
		return
	}
	w.n += quotedLen(s)
	if w.n > w.limit {
		w.overflow()
	}
}

// quotedLen returns len(tool.PyQuote(s)) without building it.
func quotedLen(s string) int64 { return int64(repr.StrLen(s)) }

// formatValue implements Python's format(value, spec) for the types
// Starlark has, and the !r/!s conversions of f-strings.
func formatValue(thread *starlark.Thread, v starlark.Value, spec, conv string) (string, error) {
	switch conv {
	case "r", "a":
		text, err := reprOf(thread, v)
		if err != nil {
			return "", err
		}
		v = starlark.String(text)
	case "s":
		text, err := strOf(thread, v)
		if err != nil {
			return "", err
		}
		v = starlark.String(text)
	}
	if spec == "" {
		return strOf(thread, v)
	}
	fs, err := parseSpec(spec)
	if err != nil {
		return "", err
	}
	var body string
	numeric := false
	switch x := v.(type) {
	case starlark.String:
		if fs.typ != 0 && fs.typ != 's' {
			return "", fmt.Errorf("Unknown format code '%c' for object of type 'str'", fs.typ)
		}
		body = string(x)
		if fs.precision >= 0 && fs.precision < len([]rune(body)) {
			body = string([]rune(body)[:fs.precision])
		}
		if fs.align == 0 {
			fs.align = '<'
		}
	case starlark.Int:
		numeric = true
		if fs.typ == 'f' || fs.typ == 'F' || fs.typ == 'e' || fs.typ == 'E' || fs.typ == 'g' || fs.typ == 'G' || fs.typ == '%' {
			f, _ := starlark.AsFloat(x)
			body = formatFloat(f, fs)
		} else {
			body, err = formatInt(x.BigInt(), fs)
			if err != nil {
				return "", err
			}
		}
	case starlark.Float:
		numeric = true
		if fs.typ == 'd' {
			return "", fmt.Errorf("Unknown format code 'd' for object of type 'float'")
		}
		body = formatFloat(float64(x), fs)
	case starlark.Bool:
		if fs.typ == 0 {
			body = pyStr(x)
		} else {
			n := 0
			if x {
				n = 1
			}
			numeric = true
			body, _ = formatInt(big.NewInt(int64(n)), fs)
		}
	default:
		text, err := strOf(thread, v)
		if err != nil {
			return "", err
		}
		body = text
	}
	return pad(body, fs, numeric), nil
}

type formatSpec struct {
	fill      rune
	align     byte
	sign      byte
	alt       bool
	zero      bool
	width     int
	comma     byte
	precision int
	typ       byte
}

func parseSpec(spec string) (formatSpec, error) {
	fs := formatSpec{fill: ' ', precision: -1}
	r := []rune(spec)
	i := 0
	isAlign := func(c rune) bool { return c == '<' || c == '>' || c == '^' || c == '=' }
	if len(r) >= 2 && isAlign(r[1]) {
		fs.fill, fs.align = r[0], byte(r[1])
		i = 2
	} else if len(r) >= 1 && isAlign(r[0]) {
		fs.align = byte(r[0])
		i = 1
	}
	if i < len(r) && (r[i] == '+' || r[i] == '-' || r[i] == ' ') {
		fs.sign = byte(r[i])
		i++
	}
	if i < len(r) && r[i] == '#' {
		fs.alt = true
		i++
	}
	if i < len(r) && r[i] == '0' {
		fs.zero = true
		i++
	}
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		fs.width = fs.width*10 + int(r[i]-'0')
		i++
	}
	if i < len(r) && (r[i] == ',' || r[i] == '_') {
		fs.comma = byte(r[i])
		i++
	}
	if i < len(r) && r[i] == '.' {
		i++
		fs.precision = 0
		start := i
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			fs.precision = fs.precision*10 + int(r[i]-'0')
			i++
		}
		if i == start {
			return fs, fmt.Errorf("Format specifier missing precision")
		}
	}
	if i < len(r) {
		fs.typ = byte(r[i])
		i++
	}
	if i != len(r) || fs.width > 1<<16 || fs.precision > 1<<10 {
		return fs, fmt.Errorf("Invalid format specifier '%s'", spec)
	}
	return fs, nil
}

func formatInt(n *big.Int, fs formatSpec) (string, error) {
	neg := n.Sign() < 0
	a := new(big.Int).Abs(n)
	var digits, prefix string
	switch fs.typ {
	case 0, 'd', 'n':
		digits = a.String()
	case 'x':
		digits, prefix = a.Text(16), "0x"
	case 'X':
		digits, prefix = strings.ToUpper(a.Text(16)), "0X"
	case 'o':
		digits, prefix = a.Text(8), "0o"
	case 'b':
		digits, prefix = a.Text(2), "0b"
	case 'c':
		return string(rune(a.Int64())), nil
	default:
		return "", fmt.Errorf("Unknown format code '%c' for object of type 'int'", fs.typ)
	}
	if fs.comma != 0 {
		digits = group(digits, fs.comma)
	}
	if !fs.alt {
		prefix = ""
	}
	return signOf(neg, fs) + prefix + digits, nil
}

func formatFloat(f float64, fs formatSpec) string {
	neg := f < 0 || (f == 0 && math.Signbit(f))
	a := math.Abs(f)
	prec := fs.precision
	var s string
	switch fs.typ {
	case 'f', 'F':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(a, 'f', prec, 64)
	case 'e', 'E':
		if prec < 0 {
			prec = 6
		}
		s = pyExp(strconv.FormatFloat(a, 'e', prec, 64))
		if fs.typ == 'E' {
			s = strings.ToUpper(s)
		}
	case '%':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(a*100, 'f', prec, 64) + "%"
	case 'g', 'G':
		if prec < 0 {
			prec = 6
		}
		if prec == 0 {
			prec = 1
		}
		s = pyExp(strconv.FormatFloat(a, 'g', prec, 64))
		if fs.typ == 'G' {
			s = strings.ToUpper(s)
		}
	default:
		if prec >= 0 {
			s = pyExp(strconv.FormatFloat(a, 'g', max(prec, 1), 64))
		} else {
			s = tool.FormatFloat(a)
		}
	}
	if fs.comma != 0 && !strings.ContainsAny(s, "einf") {
		intPart, frac, hasFrac := strings.Cut(s, ".")
		s = group(intPart, fs.comma)
		if hasFrac {
			s += "." + frac
		}
	}
	return signOf(neg, fs) + s
}

// pyExp rewrites Go's exponent form (1e+06) to Python's (1e+06 too, but
// Go writes 1e+6 for 'g'): at least two exponent digits.
func pyExp(s string) string {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return s
	}
	mant, exp := s[:i+1], s[i+1:]
	sign := ""
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		sign, exp = exp[:1], exp[1:]
	}
	if len(exp) < 2 {
		exp = "0" + exp
	}
	return mant + sign + exp
}

func signOf(neg bool, fs formatSpec) string {
	switch {
	case neg:
		return "-"
	case fs.sign == '+':
		return "+"
	case fs.sign == ' ':
		return " "
	}
	return ""
}

func group(digits string, sep byte) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func pad(body string, fs formatSpec, numeric bool) string {
	n := len([]rune(body))
	if fs.width <= n {
		return body
	}
	fill := string(fs.fill)
	align := fs.align
	if fs.zero && align == 0 && numeric {
		fill, align = "0", '='
	}
	if align == 0 {
		if numeric {
			align = '>'
		} else {
			align = '<'
		}
	}
	gap := fs.width - n
	switch align {
	case '<':
		return body + strings.Repeat(fill, gap)
	case '^':
		left := gap / 2
		return strings.Repeat(fill, left) + body + strings.Repeat(fill, gap-left)
	case '=':
		sign := ""
		if body != "" && (body[0] == '-' || body[0] == '+' || body[0] == ' ') {
			sign, body = body[:1], body[1:]
		}
		return sign + strings.Repeat(fill, gap) + body
	}
	return strings.Repeat(fill, gap) + body
}
