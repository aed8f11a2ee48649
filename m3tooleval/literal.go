package m3tooleval

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/repr"
)

// ErrNotLiteral is returned by LiteralEval for text that Python's
// ast.literal_eval refuses (a SyntaxError or ValueError there).
var ErrNotLiteral = errors.New("not a Python literal")

// maxIntDigits is Python's default limit on the digits of an int written in
// decimal (sys.get_int_max_str_digits()).
const maxIntDigits = 4300

// maxNesting is the depth of brackets Python's tokenizer allows.
const maxNesting = 200

// LiteralEval parses s as Python's ast.literal_eval does: a single
// expression of literals (numbers, strings, bytes, True, False, None, ...),
// tuples, lists, sets, dicts, set(), signed numbers and real±imaginary
// sums. Anything else, or a syntax error, is ErrNotLiteral. Like
// literal_eval it ignores leading spaces and tabs.
func LiteralEval(s string) (Value, error) {
	s = strings.TrimLeft(s, " \t")
	toks, err := tokenize(s, false)
	if err != nil {
		return nil, err
	}
	p := &litParser{cursor: cursor{toks: toks}}
	n, err := p.top()
	if err != nil {
		return nil, err
	}
	return convertNode(n)
}

func notLiteral(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotLiteral, fmt.Sprintf(format, args...))
}

type tokKind int

const (
	tEnd tokKind = iota
	tNewline
	tOp    // ( ) [ ] { } , : + - ...
	tName  // identifier
	tNum   // number: val set
	tStr   // str literal: val Str
	tBytes // bytes literal: val Bytes
	tFStr  // f-string: never a literal
)

type token struct {
	kind tokKind
	text string
	val  Value
}

// cursor walks a token list for the literal parser and the calculator.
type cursor struct {
	toks []token
	pos  int
}

func (c *cursor) peek() token { return c.toks[c.pos] }

// next returns the current token and moves past it (never past tEnd).
func (c *cursor) next() token {
	t := c.toks[c.pos]
	if t.kind != tEnd {
		c.pos++
	}
	return t
}

// isOp reports whether the current token is one of the operators ops.
func (c *cursor) isOp(ops ...string) bool {
	t := c.peek()
	if t.kind != tOp {
		return false
	}
	for _, op := range ops {
		if t.text == op {
			return true
		}
	}
	return false
}

// atLineEnd reports whether the current token ends the input or a line.
func (c *cursor) atLineEnd() bool {
	k := c.peek().kind
	return k == tEnd || k == tNewline
}

// finish skips trailing newlines and reports whether the input ends there.
func (c *cursor) finish() bool {
	for c.peek().kind == tNewline {
		c.next()
	}
	return c.peek().kind == tEnd
}

func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || r >= 0x80 && (unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_ID_Start, r))
}

func isIdentCont(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
}

// tokenize splits s into Python tokens. Only the operators a literal can
// hold are accepted, unless arith is set (the calculator's expressions).
func tokenize(s string, arith bool) ([]token, error) {
	var toks []token
	depth := 0
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
			continue
		case c == '\\':
			// Line continuation: a backslash followed by a newline.
			if strings.HasPrefix(s[i:], "\\\r\n") {
				i += 3
				continue
			}
			if i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == '\r') {
				i += 2
				continue
			}
			return nil, notLiteral("unexpected character after line continuation")
		case c == '#':
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
			continue
		case c == '\n' || c == '\r':
			i++
			if depth == 0 {
				toks = append(toks, token{kind: tNewline})
			}
			continue
		case c == 0:
			return nil, notLiteral("null byte")
		}
		if c == '.' && strings.HasPrefix(s[i:], "...") {
			toks = append(toks, token{kind: tOp, text: "..."})
			i += 3
			continue
		}
		if c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			v, n, err := scanNumber(s[i:])
			if err != nil {
				return nil, err
			}
			i += n
			if i < len(s) {
				if r, _ := utf8.DecodeRuneInString(s[i:]); isIdentCont(r) || r == '.' {
					return nil, notLiteral("invalid number literal")
				}
			}
			toks = append(toks, token{kind: tNum, val: v})
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\'' || r == '"' || isIdentStart(r) {
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if !isIdentCont(r2) {
					break
				}
				j += sz
			}
			word := s[i:j]
			if j < len(s) && (s[j] == '\'' || s[j] == '"') && isStringPrefix(word) {
				tok, n, err := scanString(strings.ToLower(word), s[j:])
				if err != nil {
					return nil, err
				}
				toks = append(toks, tok)
				i = j + n
				continue
			}
			if word == "" {
				return nil, notLiteral("unexpected character %q", r)
			}
			toks = append(toks, token{kind: tName, text: word})
			i = j
			continue
		}
		switch c {
		case '(', '[', '{':
			depth++
			if depth >= maxNesting {
				return nil, notLiteral("too many nested parentheses")
			}
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return nil, notLiteral("unmatched %q", c)
			}
		case ',', ':', '+', '-':
		default:
			if arith {
				op := arithOp(s[i:])
				if op != "" {
					toks = append(toks, token{kind: tOp, text: op})
					i += len(op)
					continue
				}
			}
			// Any other operator makes an expression literal_eval refuses.
			return nil, notLiteral("unexpected %q", r)
		}
		_ = size
		toks = append(toks, token{kind: tOp, text: string(c)})
		i++
	}
	if depth != 0 {
		return nil, notLiteral("unclosed bracket")
	}
	toks = append(toks, token{kind: tEnd})
	return toks, nil
}

// arithOp returns the arithmetic operator at the start of s, or "".
func arithOp(s string) string {
	for _, op := range []string{"**", "//", "<<", ">>", "==", "!=", "<=", ">=", "*", "/", "%", "~", "&", "|", "^", "<", ">", "=", "."} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "", "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

// scanDigits reads digits of the given base with single underscores
// between them, returning them without underscores and the bytes read.
func scanDigits(s string, isDigit func(byte) bool, leadingUnderscore bool) (string, int, error) {
	var b strings.Builder
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '_' {
			if (i == 0 && !leadingUnderscore) || i+1 >= len(s) || !isDigit(s[i+1]) {
				return "", 0, notLiteral("invalid underscore in number")
			}
			i++
			continue
		}
		if !isDigit(c) {
			break
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), i, nil
}

func isDec(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDec(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
func isOct(c byte) bool { return c >= '0' && c <= '7' }
func isBin(c byte) bool { return c == '0' || c == '1' }

// scanNumber reads a Python number literal at the start of s.
func scanNumber(s string) (Value, int, error) {
	if len(s) > 1 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		base, isDigit := 16, isHex
		switch s[1] {
		case 'o', 'O':
			base, isDigit = 8, isOct
		case 'b', 'B':
			base, isDigit = 2, isBin
		}
		digits, n, err := scanDigits(s[2:], isDigit, true)
		if err != nil {
			return nil, 0, err
		}
		if digits == "" {
			return nil, 0, notLiteral("invalid number literal")
		}
		v, _ := new(big.Int).SetString(digits, base)
		end := 2 + n
		if end < len(s) && isDec(s[end]) {
			return nil, 0, notLiteral("invalid digit in number literal")
		}
		return Int{v}, end, nil
	}
	intPart, n, err := scanDigits(s, isDec, false)
	if err != nil {
		return nil, 0, err
	}
	i := n
	isFloat := false
	var frac, exp string
	if i < len(s) && s[i] == '.' {
		isFloat = true
		i++
		f, m, err := scanDigits(s[i:], isDec, false)
		if err != nil {
			return nil, 0, err
		}
		frac = f
		i += m
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		sign := ""
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			sign = s[j : j+1]
			j++
		}
		if j < len(s) && isDec(s[j]) {
			e, m, err := scanDigits(s[j:], isDec, false)
			if err != nil {
				return nil, 0, err
			}
			exp = sign + e
			i = j + m
			isFloat = true
		} else {
			return nil, 0, notLiteral("invalid exponent")
		}
	}
	imag := false
	if i < len(s) && (s[i] == 'j' || s[i] == 'J') {
		imag = true
		i++
	}
	if !isFloat && !imag {
		if len(intPart) > 1 && intPart[0] == '0' && strings.Trim(intPart, "0") != "" {
			return nil, 0, notLiteral("leading zeros in decimal integer literals are not permitted")
		}
		if len(strings.TrimLeft(intPart, "0")) > maxIntDigits {
			return nil, 0, notLiteral("integer literal exceeds the limit of %d digits", maxIntDigits)
		}
		v, _ := new(big.Int).SetString(intPart, 10)
		return Int{v}, i, nil
	}
	text := intPart
	if text == "" {
		text = "0"
	}
	if frac != "" {
		text += "." + frac
	}
	if exp != "" {
		text += "e" + exp
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, 0, notLiteral("invalid float %q", text)
	}
	if imag {
		return Complex(complex(0, f)), i, nil
	}
	return Float(f), i, nil
}

// scanString reads a string literal whose (lower-case) prefix was already
// read; s starts at the opening quote.
func scanString(prefix, s string) (token, int, error) {
	raw := strings.Contains(prefix, "r")
	isBytes := strings.Contains(prefix, "b")
	isF := strings.Contains(prefix, "f")
	q := s[:1]
	triple := strings.HasPrefix(s, q+q+q)
	if triple {
		q = q + q + q
	}
	i := len(q)
	var body strings.Builder
	for {
		if i >= len(s) {
			return token{}, 0, notLiteral("unterminated string literal")
		}
		if strings.HasPrefix(s[i:], q) {
			i += len(q)
			break
		}
		c := s[i]
		if !triple && (c == '\n' || c == '\r') {
			return token{}, 0, notLiteral("unterminated string literal")
		}
		if c == '\\' {
			if i+1 >= len(s) {
				return token{}, 0, notLiteral("unterminated string literal")
			}
			if raw {
				body.WriteByte('\\')
				r, sz := utf8.DecodeRuneInString(s[i+1:])
				body.WriteRune(r)
				i += 1 + sz
				continue
			}
			n, err := unescape(&body, s[i:], isBytes)
			if err != nil {
				return token{}, 0, err
			}
			i += n
			continue
		}
		if isBytes && c >= 0x80 {
			return token{}, 0, notLiteral("bytes can only contain ASCII literal characters")
		}
		body.WriteByte(c)
		i++
	}
	text := body.String()
	if !isBytes && !utf8.ValidString(text) {
		return token{}, 0, notLiteral("string holds a lone surrogate")
	}
	switch {
	case isF:
		return token{kind: tFStr}, i, nil
	case isBytes:
		return token{kind: tBytes, val: Bytes(text)}, i, nil
	}
	return token{kind: tStr, val: Str(text)}, i, nil
}

// unescape reads one escape sequence at the start of s (which begins with
// a backslash) into b and returns its length.
func unescape(b *strings.Builder, s string, isBytes bool) (int, error) {
	c := s[1]
	simple := map[byte]string{'\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}
	if r, ok := simple[c]; ok {
		b.WriteString(r)
		return 2, nil
	}
	switch {
	case c == '\n':
		return 2, nil
	case c == '\r':
		if len(s) > 2 && s[2] == '\n' {
			return 3, nil
		}
		return 2, nil
	case isOct(c):
		n := 1
		for n < 3 && 1+n < len(s) && isOct(s[1+n]) {
			n++
		}
		v, _ := strconv.ParseUint(s[1:1+n], 8, 32)
		if isBytes {
			if v > 0xff {
				return 0, notLiteral("octal escape out of range")
			}
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		return 1 + n, nil
	case c == 'x':
		if len(s) < 4 || !isHex(s[2]) || !isHex(s[3]) {
			return 0, notLiteral("truncated \\xXX escape")
		}
		v, _ := strconv.ParseUint(s[2:4], 16, 32)
		if isBytes {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		return 4, nil
	case (c == 'u' || c == 'U') && !isBytes:
		n := 4
		if c == 'U' {
			n = 8
		}
		if len(s) < 2+n {
			return 0, notLiteral("truncated \\u escape")
		}
		for k := 2; k < 2+n; k++ {
			if !isHex(s[k]) {
				return 0, notLiteral("truncated \\u escape")
			}
		}
		v, _ := strconv.ParseUint(s[2:2+n], 16, 32)
		if v > unicode.MaxRune || v >= 0xd800 && v < 0xe000 {
			return 0, notLiteral("escape is not a character gantry can hold")
		}
		b.WriteRune(rune(v))
		return 2 + n, nil
	case c == 'N' && !isBytes:
		return 0, notLiteral("\\N{...} escapes are not supported")
	}
	// An unknown escape keeps its backslash.
	b.WriteByte('\\')
	r, sz := utf8.DecodeRuneInString(s[1:])
	b.WriteRune(r)
	return 1 + sz, nil
}

// node is the part of Python's AST literal_eval looks at.
type node struct {
	kind     nodeKind
	val      Value  // nConst
	op       string // nUnary, nBinOp
	elems    []*node
	keys     []*node // nDict
	operand  *node   // nUnary
	lhs, rhs *node   // nBinOp
}

type nodeKind int

const (
	nConst nodeKind = iota
	nTuple
	nList
	nSet
	nDict
	nEmptySet // set()
	nUnary
	nBinOp
)

type litParser struct {
	cursor
	unary int // unary operators read, bounded like CPython's parser depth
}

func (p *litParser) top() (*node, error) {
	if p.atLineEnd() {
		return nil, notLiteral("empty expression")
	}
	n, err := p.exprList(true)
	if err != nil {
		return nil, err
	}
	if !p.finish() {
		return nil, notLiteral("unexpected text after the expression")
	}
	return n, nil
}

// exprList reads expr (',' expr)* [','], a tuple when it has a comma.
func (p *litParser) exprList(topLevel bool) (*node, error) {
	first, err := p.expr()
	if err != nil {
		return nil, err
	}
	if !p.isOp(",") {
		return first, nil
	}
	elems := []*node{first}
	for p.isOp(",") {
		p.next()
		if p.atExprEnd(topLevel) {
			break
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
	}
	return &node{kind: nTuple, elems: elems}, nil
}

func (p *litParser) atExprEnd(topLevel bool) bool {
	if topLevel {
		return p.atLineEnd()
	}
	return p.isOp(")", "]", "}")
}

// expr reads a sum of signed atoms: the shapes that can still be literals
// (an atom, a signed atom, one binary + or -).
func (p *litParser) expr() (*node, error) {
	left, err := p.signed()
	if err != nil {
		return nil, err
	}
	for p.isOp("+", "-") {
		op := p.next().text
		right, err := p.signed()
		if err != nil {
			return nil, err
		}
		left = &node{kind: nBinOp, op: op, lhs: left, rhs: right}
	}
	return left, nil
}

func (p *litParser) signed() (*node, error) {
	if p.isOp("+", "-") {
		p.unary++
		if p.unary > maxUnary {
			return nil, notLiteral("too many unary operators")
		}
		op := p.next().text
		operand, err := p.signed()
		if err != nil {
			return nil, err
		}
		return &node{kind: nUnary, op: op, operand: operand}, nil
	}
	return p.atom()
}

func (p *litParser) atom() (*node, error) {
	t := p.next()
	var n *node
	switch t.kind {
	case tNum:
		n = &node{kind: nConst, val: t.val}
	case tStr, tBytes, tFStr:
		// Adjacent literals concatenate; str and bytes do not mix.
		kind := t.kind
		var b strings.Builder
		switch x := t.val.(type) {
		case Str:
			b.WriteString(string(x))
		case Bytes:
			b.WriteString(string(x))
		}
		for {
			nt := p.peek()
			if nt.kind != tStr && nt.kind != tBytes && nt.kind != tFStr {
				break
			}
			p.next()
			if (nt.kind == tBytes) != (kind == tBytes) {
				return nil, notLiteral("cannot mix bytes and nonbytes literals")
			}
			if nt.kind == tFStr {
				kind = tFStr
			}
			switch v := nt.val.(type) {
			case Str:
				b.WriteString(string(v))
			case Bytes:
				b.WriteString(string(v))
			}
		}
		switch kind {
		case tFStr:
			return nil, notLiteral("f-strings are not literals")
		case tBytes:
			n = &node{kind: nConst, val: Bytes(b.String())}
		default:
			n = &node{kind: nConst, val: Str(b.String())}
		}
	case tName:
		switch t.text {
		case "True":
			n = &node{kind: nConst, val: Bool(true)}
		case "False":
			n = &node{kind: nConst, val: Bool(false)}
		case "None":
			n = &node{kind: nConst, val: NoneValue{}}
		case "set":
			if p.isOp("(") {
				p.next()
				if p.isOp(")") {
					p.next()
					n = &node{kind: nEmptySet}
					break
				}
			}
			return nil, notLiteral("name %q is not a literal", t.text)
		default:
			return nil, notLiteral("name %q is not a literal", shorten(t.text))
		}
	case tOp:
		switch t.text {
		case "...":
			n = &node{kind: nConst, val: EllipsisValue{}}
		case "(":
			if p.isOp(")") {
				p.next()
				n = &node{kind: nTuple}
				break
			}
			inner, err := p.exprList(false)
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, notLiteral("expected ')'")
			}
			p.next()
			n = inner
		case "[":
			elems, err := p.elements("]")
			if err != nil {
				return nil, err
			}
			n = &node{kind: nList, elems: elems}
		case "{":
			var err error
			n, err = p.braces()
			if err != nil {
				return nil, err
			}
		default:
			return nil, notLiteral("unexpected %q", t.text)
		}
	default:
		return nil, notLiteral("unexpected end of expression")
	}
	// A call, subscript or attribute after an atom is never a literal.
	if p.isOp("(", "[", ".") {
		return nil, notLiteral("not a literal")
	}
	return n, nil
}

func (p *litParser) elements(closer string) ([]*node, error) {
	var elems []*node
	for !p.isOp(closer) {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
		if p.isOp(",") {
			p.next()
			continue
		}
		if !p.isOp(closer) {
			return nil, notLiteral("expected %q", closer)
		}
	}
	p.next()
	return elems, nil
}

func (p *litParser) braces() (*node, error) {
	if p.isOp("}") {
		p.next()
		return &node{kind: nDict}, nil
	}
	first, err := p.expr()
	if err != nil {
		return nil, err
	}
	if !p.isOp(":") {
		// A set display.
		elems := []*node{first}
		for p.isOp(",") {
			p.next()
			if p.isOp("}") {
				break
			}
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			elems = append(elems, e)
		}
		if !p.isOp("}") {
			return nil, notLiteral("expected '}'")
		}
		p.next()
		return &node{kind: nSet, elems: elems}, nil
	}
	d := &node{kind: nDict}
	key := first
	for {
		if !p.isOp(":") {
			return nil, notLiteral("expected ':'")
		}
		p.next()
		val, err := p.expr()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, key)
		d.elems = append(d.elems, val)
		if p.isOp(",") {
			p.next()
		} else if !p.isOp("}") {
			return nil, notLiteral("expected '}'")
		}
		if p.isOp("}") {
			p.next()
			return d, nil
		}
		key, err = p.expr()
		if err != nil {
			return nil, err
		}
	}
}

// convertNode is literal_eval's _convert.
func convertNode(n *node) (Value, error) {
	switch n.kind {
	case nConst:
		return n.val, nil
	case nTuple, nList, nSet:
		out := make([]Value, 0, len(n.elems))
		for _, e := range n.elems {
			v, err := convertNode(e)
			if err != nil {
				return nil, err
			}
			if n.kind == nSet {
				if !hashable(v) {
					return nil, fmt.Errorf("%w: %w: '%s'", ErrNotLiteral, ErrUnhashable, TypeName(v))
				}
				if contains(out, v) {
					continue
				}
			}
			out = append(out, v)
		}
		switch n.kind {
		case nTuple:
			return Tuple(out), nil
		case nList:
			return List(out), nil
		}
		return Set(out), nil
	case nEmptySet:
		return Set{}, nil
	case nDict:
		d := &Dict{}
		for i, kn := range n.keys {
			k, err := convertNode(kn)
			if err != nil {
				return nil, err
			}
			v, err := convertNode(n.elems[i])
			if err != nil {
				return nil, err
			}
			if !hashable(k) {
				return nil, fmt.Errorf("%w: %w: '%s'", ErrNotLiteral, ErrUnhashable, TypeName(k))
			}
			d.Set(k, v)
		}
		return d, nil
	case nUnary:
		return signedNum(n)
	case nBinOp:
		left, err := signedNum(n.lhs)
		if err != nil {
			return nil, err
		}
		right, err := plainNum(n.rhs)
		if err != nil {
			return nil, err
		}
		var lf float64
		switch l := left.(type) {
		case Int:
			f, ok := intToFloat(l.Int)
			if !ok {
				return nil, notLiteral("int too large to convert to float")
			}
			lf = f
		case Float:
			lf = float64(l)
		default:
			return nil, notLiteral("malformed node")
		}
		r, ok := right.(Complex)
		if !ok {
			return nil, notLiteral("malformed node")
		}
		// As Python 3.11 computes it: the real operand becomes complex(lf, 0.0).
		if n.op == "+" {
			return Complex(complex(lf+real(r), 0+imag(r))), nil
		}
		return Complex(complex(lf-real(r), 0-imag(r))), nil
	}
	return nil, notLiteral("malformed node")
}

// plainNum is a number constant (not a bool).
func plainNum(n *node) (Value, error) {
	if n.kind == nConst {
		switch n.val.(type) {
		case Int, Float, Complex:
			return n.val, nil
		}
	}
	return nil, notLiteral("malformed node")
}

// signedNum is a number constant, or + or - applied to one.
func signedNum(n *node) (Value, error) {
	if n.kind != nUnary {
		return plainNum(n)
	}
	v, err := plainNum(n.operand)
	if err != nil {
		return nil, err
	}
	if n.op == "+" {
		return v, nil
	}
	switch x := v.(type) {
	case Int:
		return Int{new(big.Int).Neg(x.Int)}, nil
	case Float:
		return Float(-float64(x)), nil
	case Complex:
		return Complex(-complex128(x)), nil
	}
	return nil, notLiteral("malformed node")
}

// intToFloat converts an int to the nearest float, as Python's float(int)
// does (round half to even); ok is false when it is too large.
func intToFloat(i *big.Int) (float64, bool) {
	f, _ := new(big.Float).SetInt(i).Float64()
	if math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// shorten cuts a name quoted in a message.
func shorten(s string) string { return repr.Shorten(s, 40) }
