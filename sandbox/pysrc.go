package sandbox

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// A SyntaxError is Python that the preprocessor rejects before Starlark
// parses it (constructs Starlark cannot express).
type syntaxError struct {
	line int
	typ  string // the Python exception type; "" is SyntaxError
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// unsupported names Python statements Starlark has no form for, with the
// advice the error gives.
var unsupported = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`^try\s*:`), "try/except is not supported in this sandbox (Starlark); check values before using them instead"},
	{regexp.MustCompile(`^(except|finally)\b`), "try/except is not supported in this sandbox (Starlark); check values before using them instead"},
	{regexp.MustCompile(`^class\s+\w`), "class definitions are not supported in this sandbox (Starlark); use functions and dicts"},
	{regexp.MustCompile(`^with\s`), "with statements are not supported in this sandbox (Starlark)"},
	{regexp.MustCompile(`^(async\s+def|await)\b`), "async code is not supported in this sandbox (Starlark)"},
	{regexp.MustCompile(`^global\s`), "global statements are not supported in this sandbox (Starlark); return values from functions instead"},
	{regexp.MustCompile(`^nonlocal\s`), "nonlocal statements are not supported in this sandbox (Starlark)"},
	{regexp.MustCompile(`^raise\b`), "raise is not supported in this sandbox (Starlark); use fail(message)"},
	{regexp.MustCompile(`^del\s`), "del is not supported in this sandbox (Starlark); use dict.pop or list.pop"},
}

var (
	importRE     = regexp.MustCompile(`^import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)\s*$`)
	fromImportRE = regexp.MustCompile(`^from\s+([\w.]+)\s+import\s+\(?\s*([\w\s,]+?)\s*\)?\s*$`)
	sortCallRE   = regexp.MustCompile(`([A-Za-z_][\w.]*)\.sort\(\s*(\)?)`)
)

// translate rewrites the Python that models write into Starlark, keeping
// every statement on its original line: f-strings become calls of _gantry_fmt,
// imports of provided modules become assignments, `is`/`is not` become
// comparisons, list.sort() becomes _gantry_sort(list), list displays with unpacked
// elements become _gantry_concat calls, and constructs Starlark cannot express are
// reported with the line they are on. stars holds the offsets of the list
// displays with unpacked elements (from scanSource).
//
// It runs in time linear in the size of src (every byte is looked at a
// bounded number of times) and stops when ctx ends.
func translate(ctx context.Context, src string, stars map[int]bool) (string, error) {
	var out strings.Builder
	out.Grow(len(src) + len(src)/4)
	line := 1
	atLineStart := true // only whitespace seen on this logical line so far
	var stackBuf [16]listFrame
	stack := stackBuf[:0]    // open brackets: statements start only when empty
	skipStar := -1           // offset of the '*' of an unpacked element
	var code strings.Builder // code text since the last string/comment, flushed through rewriteCode
	var lastCode byte        // last byte other than '\n' written to code since the last flush
	flush := func() {
		if code.Len() > 0 {
			out.WriteString(rewriteCode(code.String()))
			code.Reset()
		}
		lastCode = 0
	}
	emit := func(s string) {
		flush()
		out.WriteString(s)
	}
	// element begins an element of the unpacking list display on top of the
	// stack at offset k, just after its '[' or a ','.
	element := func(k int) {
		top := &stack[len(stack)-1]
		p := nextSignificant(src, k)
		switch {
		case starAt(src, p):
			if top.run {
				emit("]")
				top.run = false
			}
			if top.parts > 0 {
				emit(",")
			}
			top.parts++
			skipStar = p
		case p < len(src) && src[p] == ']':
			if top.run {
				emit(",") // a trailing comma inside the run of plain elements
			}
		case top.run:
			emit(",")
		default:
			if top.parts > 0 {
				emit(",")
			}
			emit("[")
			top.run = true
			top.parts++
		}
	}
	steps := 0
	for i := 0; i < len(src); {
		if steps++; steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		c := src[i]
		if i == skipStar {
			code.WriteByte(' ')
			lastCode = ' '
			i++
			continue
		}
		if atLineStart && len(stack) == 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#' {
			end := strings.IndexByte(src[i:], '\n')
			var stmt string
			if end < 0 {
				stmt = src[i:]
			} else {
				stmt = src[i : i+end]
			}
			atLineStart = false
			if repl, ok, err := rewriteStatement(stmt, line); err != nil {
				return "", err
			} else if ok {
				code.WriteString(repl)
				lastCode = 0
				if n := len(repl); n > 0 {
					lastCode = repl[n-1]
				}
				i += len(stmt)
				continue
			}
		}
		switch {
		case c == '\n':
			code.WriteByte(c)
			line++
			i++
			if len(stack) == 0 && lastCode != '\\' {
				atLineStart = true
			}
		case c == '#':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			emit(src[i : i+end])
			i += end
		case c == '[' && stars[i]:
			emit("_gantry_concat(")
			stack = append(stack, listFrame{kind: '*'})
			element(i + 1)
			i++
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, listFrame{kind: c})
			code.WriteByte(c)
			lastCode = c
			i++
		case c == ')' || c == ']' || c == '}':
			if n := len(stack); n > 0 {
				top := stack[n-1]
				stack = stack[:n-1]
				if top.kind == '*' {
					if top.run {
						emit("]")
					}
					emit(")")
					i++
					continue
				}
			}
			code.WriteByte(c)
			lastCode = c
			i++
		case c == ',' && len(stack) > 0 && stack[len(stack)-1].kind == '*':
			element(i + 1)
			i++
		case c == '\'' || c == '"' || (isPrefixChar(c) && stringStartsAt(src, i)):
			// A string literal, possibly with a prefix.
			j := i
			for j < len(src) && isPrefixChar(src[j]) {
				j++
			}
			prefix := strings.ToLower(src[i:j])
			if j > i && (j-i > 2 || !identBoundary(src, i)) {
				// An identifier ending in f/r/b/u, not a prefix.
				code.WriteString(src[i:j])
				lastCode = src[j-1]
				i = j
				continue
			}
			lit, n, err := scanString(src[j:], line)
			if err != nil {
				return "", err
			}
			if strings.Contains(prefix, "f") {
				repl, err := rewriteFString(lit, strings.Contains(prefix, "r"), line, false)
				if err != nil {
					return "", err
				}
				emit(repl)
			} else {
				emit(src[i : j+n])
			}
			line += strings.Count(lit.raw, "\n")
			i = j + n
		default:
			code.WriteByte(c)
			lastCode = c
			i++
		}
	}
	flush()
	return out.String(), nil
}

// listFrame is an open bracket during translation: its kind ('(', '[',
// '{', or '*' for a list display with unpacked elements) and, for the
// latter, whether a run of plain elements is open and how many parts of
// the _gantry_concat call were begun.
type listFrame struct {
	kind  byte
	run   bool
	parts int
}

// nextSignificant returns the offset of the first byte at or after k that
// is neither whitespace nor part of a comment.
func nextSignificant(src string, k int) int {
	for k < len(src) {
		switch src[k] {
		case ' ', '\t', '\r', '\n', '\f':
			k++
		case '#':
			end := strings.IndexByte(src[k:], '\n')
			if end < 0 {
				return len(src)
			}
			k += end
		default:
			return k
		}
	}
	return k
}

// starAt reports whether an unpacking '*' (not '**') is at offset p.
func starAt(src string, p int) bool {
	return p < len(src) && src[p] == '*' && (p+1 >= len(src) || src[p+1] != '*')
}

// Nesting limits of the source, checked before anything parses it, so
// that no recursion over the source or its syntax tree can exhaust the
// stack, and so that deep nesting gets Python's error rather than the
// Starlark parser's. Python accepts longer chains of unary operators (up
// to its compiler's recursion limit) but no real code writes more than a
// few.
const (
	// maxBrackets is the deepest nesting of (), [] and {}. CPython allows
	// 200, but the Starlark parser stops at 1000 levels of its own
	// recursion, about 75 nested brackets; 64 leaves room for the
	// nesting of blocks and operators around them.
	maxBrackets = 64
	// maxIndent is the deepest nesting of indented blocks (CPython's
	// tokenizer refuses the 100th level).
	maxIndent = 99
	// maxUnary is the longest chain of unary operators (not, -, +, ~).
	maxUnary = 200
	// maxSyntaxDepth bounds the depth of the parsed syntax tree (nodes
	// within nodes), which left-nested chains such as 1+1+1+... reach
	// without any bracket; CPython's compiler stops near 3000 too.
	maxSyntaxDepth = 3000
)

// Python's messages for source nested too deeply.
const (
	msgTooManyParens    = "too many nested parentheses"
	msgTooManyIndents   = "too many levels of indentation"
	msgRecursionCompile = "maximum recursion depth exceeded during compilation"
)

// scanSource checks the nesting of the Python source src before it is
// translated and parsed (brackets, indentation, chains of unary
// operators) and that it does not name the depthCheck builtin, and
// returns the offsets of the list displays that contain
// unpacked elements ([*a, b]), which translate rewrites. It takes time
// linear in len(src) and stops when ctx ends. A string it cannot scan ends
// the scan without an error: translate reports it.
func scanSource(ctx context.Context, src string) (map[int]bool, error) {
	var stars map[int]bool
	var stackBuf [16]int
	stack := stackBuf[:0] // offsets of the open brackets
	var indentBuf [16]int
	indents := append(indentBuf[:0], 0) // columns of the open blocks, as Python's tokenizer keeps them
	line := 1
	atLineStart := true
	unary := 0 // unary operators in a row
	cont := false
	steps := 0
	// element notes an unpacked element of the list display on top of the
	// stack, if one begins at k.
	element := func(k int) {
		if n := len(stack); n > 0 && src[stack[n-1]] == '[' && starAt(src, nextSignificant(src, k)) {
			if stars == nil {
				stars = map[int]bool{}
			}
			stars[stack[n-1]] = true
		}
	}
	for i := 0; i < len(src); {
		if steps++; steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if atLineStart {
			atLineStart = false
			col, j := 0, i
		indent:
			for ; j < len(src); j++ {
				switch src[j] {
				case ' ':
					col++
				case '\t':
					col = (col/8 + 1) * 8
				case '\f':
					col = 0
				default:
					break indent
				}
			}
			if j < len(src) && src[j] != '\n' && src[j] != '\r' && src[j] != '#' {
				if col > indents[len(indents)-1] {
					indents = append(indents, col)
					if len(indents)-1 > maxIndent {
						return nil, &syntaxError{line: line, msg: msgTooManyIndents}
					}
				}
				for len(indents) > 1 && col < indents[len(indents)-1] {
					indents = indents[:len(indents)-1]
				}
			}
			i = j
			continue
		}
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
			if len(stack) == 0 && !cont {
				atLineStart = true
			}
			cont = false
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
			continue
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			cont = true
			i++
			continue
		case c == '#':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				return stars, nil
			}
			i += end
			continue
		}
		cont = false
		switch {
		case c == '\'' || c == '"' || (isPrefixChar(c) && stringStartsAt(src, i)):
			j := i
			for j < len(src) && isPrefixChar(src[j]) {
				j++
			}
			lit, n, err := scanString(src[j:], line)
			if err != nil {
				return stars, nil
			}
			line += strings.Count(lit.raw, "\n")
			i = j + n
			unary = 0
		case isIdentByte(c):
			j := i + 1
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			switch src[i:j] {
			case "not":
				unary++
			default:
				if strings.HasPrefix(src[i:j], reservedPrefix) {
					// The sandbox's own builtins (the operator and
					// allocation guards, the recursion check): rebinding
					// one would turn its limit off.
					return nil, &syntaxError{line: line, typ: "NameError", msg: fmt.Sprintf("name '%s' is reserved by the sandbox", src[i:j])}
				}
				unary = 0
			}
			i = j
		case c == '-' || c == '+' || c == '~':
			if i+1 < len(src) && (src[i+1] == '=' || src[i+1] == '>') {
				unary = 0
				i += 2
				continue
			}
			unary++
			i++
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, i)
			if len(stack) > maxBrackets {
				return nil, &syntaxError{line: line, msg: msgTooManyParens}
			}
			element(i + 1)
			unary = 0
			i++
		case c == ')' || c == ']' || c == '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			unary = 0
			i++
		case c == ',':
			element(i + 1)
			unary = 0
			i++
		default:
			unary = 0
			i++
		}
		if unary > maxUnary {
			return nil, &syntaxError{line: line, typ: "RecursionError", msg: msgRecursionCompile}
		}
	}
	return stars, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isPrefixChar(c byte) bool {
	switch c {
	case 'f', 'F', 'r', 'R', 'b', 'B', 'u', 'U':
		return true
	}
	return false
}

// stringStartsAt reports whether a string prefix followed by a quote starts
// at i.
func stringStartsAt(src string, i int) bool {
	j := i
	for j < len(src) && j-i < 2 && isPrefixChar(src[j]) {
		j++
	}
	return j < len(src) && (src[j] == '\'' || src[j] == '"') && identBoundary(src, i)
}

// identBoundary reports whether position i does not continue an identifier.
func identBoundary(src string, i int) bool {
	if i == 0 {
		return true
	}
	p := src[i-1]
	return !(p == '_' || p == '.' || p >= 'a' && p <= 'z' || p >= 'A' && p <= 'Z' || p >= '0' && p <= '9')
}

// literal is a scanned string literal: its quote and the raw text between
// the quotes.
type literal struct {
	quote string
	raw   string
}

// scanString scans a string literal starting at s[0] (a quote) and returns
// it and its length in bytes.
func scanString(s string, line int) (literal, int, error) {
	q := s[:1]
	if strings.HasPrefix(s, q+q+q) {
		q = q + q + q
	}
	i := len(q)
	for i < len(s) {
		switch {
		case s[i] == '\\':
			i += 2
			continue
		case strings.HasPrefix(s[i:], q):
			return literal{quote: q, raw: s[len(q):i]}, i + len(q), nil
		case s[i] == '\n' && len(q) == 1:
			return literal{}, 0, &syntaxError{line: line, msg: "unterminated string literal"}
		}
		i++
	}
	return literal{}, 0, &syntaxError{line: line, msg: "unterminated string literal"}
}

// rewriteFString turns the f-string lit into a parenthesised concatenation
// of string literals and _gantry_fmt(value, spec, conversion) calls, keeping its
// newlines so that later lines keep their numbers. nested is set for a
// format spec's own fields, which may not hold fields in turn (as in
// Python), so that the rewrite is linear.
func rewriteFString(lit literal, raw bool, line int, nested bool) (string, error) {
	var parts []string
	var text strings.Builder
	emitText := func() {
		if text.Len() > 0 {
			parts = append(parts, starlarkQuote(text.String(), raw))
			text.Reset()
		}
	}
	s := lit.raw
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && !raw && i+1 < len(s):
			text.WriteString(s[i : i+2])
			i += 2
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			text.WriteByte('{')
			i += 2
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			text.WriteByte('}')
			i += 2
		case c == '{':
			expr, conv, spec, n, err := scanField(s[i+1:], line)
			if err != nil {
				return "", err
			}
			if strings.HasSuffix(strings.TrimRight(expr, " "), "=") && !strings.HasSuffix(strings.TrimRight(expr, " "), "==") {
				// f"{x=}" shows the expression text, then the repr.
				text.WriteString(expr)
				expr = strings.TrimSuffix(strings.TrimRight(expr, " "), "=")
				if conv == "" && spec == "" {
					conv = "r"
				}
			}
			emitText()
			if strings.TrimSpace(expr) == "" {
				return "", &syntaxError{line: line, msg: "f-string: empty expression not allowed"}
			}
			specExpr := starlarkQuote(spec, true)
			if strings.Contains(spec, "{") {
				if nested {
					return "", &syntaxError{line: line, msg: "f-string: expressions nested too deeply"}
				}
				inner, err := rewriteFString(literal{quote: `"`, raw: spec}, true, line, true)
				if err != nil {
					return "", err
				}
				specExpr = inner
			}
			parts = append(parts, fmt.Sprintf("_gantry_fmt((%s), %s, %q)", expr, specExpr, conv))
			i += 1 + n
		case c == '}':
			return "", &syntaxError{line: line, msg: "f-string: single '}' is not allowed"}
		default:
			text.WriteByte(c)
			i++
		}
	}
	emitText()
	if len(parts) == 0 {
		parts = append(parts, `""`)
	}
	// Keep the literal's newlines: those of its fields' expressions are in
	// parts already.
	joined := strings.Join(parts, " + ")
	if len(parts) > 64 {
		// A long chain of + nests as deep as it is long; a list does not.
		joined = `"".join([` + strings.Join(parts, ", ") + `])`
	}
	nl := strings.Count(lit.raw, "\n") - strings.Count(joined, "\n")
	return "(" + joined + strings.Repeat("\n", max(nl, 0)) + ")", nil
}

// scanField scans a replacement field after its '{' and returns the
// expression, the conversion, the format spec and the bytes consumed,
// including the closing '}'.
func scanField(s string, line int) (expr, conv, spec string, n int, err error) {
	depth := 0
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			lit, m, err := scanString(s[i:], line)
			if err != nil {
				return "", "", "", 0, err
			}
			_ = lit
			i += m
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']') && depth > 0:
			depth--
		case c == '}' && depth > 0:
			depth--
		case depth == 0 && c == '!' && i+1 < len(s) && s[i+1] != '=':
			expr = s[:i]
			rest := s[i+1:]
			end := strings.IndexAny(rest, ":}")
			if end < 0 {
				return "", "", "", 0, &syntaxError{line: line, msg: "f-string: expecting '}'"}
			}
			conv = rest[:end]
			if conv != "r" && conv != "s" && conv != "a" {
				return "", "", "", 0, &syntaxError{line: line, msg: "f-string: invalid conversion character: expected 's', 'r', or 'a'"}
			}
			i = i + 1 + end
			if rest[end] == '}' {
				return expr, conv, "", i + 1, nil
			}
			spec, m, err := scanSpec(s[i+1:], line)
			return expr, conv, spec, i + 1 + m, err
		case depth == 0 && c == ':':
			expr = s[:i]
			spec, m, err := scanSpec(s[i+1:], line)
			return expr, "", spec, i + 1 + m, err
		case depth == 0 && c == '}':
			return s[:i], "", "", i + 1, nil
		}
		i++
	}
	return "", "", "", 0, &syntaxError{line: line, msg: "f-string: expecting '}'"}
}

// scanSpec scans a format spec up to its closing '}', allowing nested
// fields, and returns it and the bytes consumed including the '}'.
func scanSpec(s string, line int) (string, int, error) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return s[:i], i + 1, nil
			}
			depth--
		}
	}
	return "", 0, &syntaxError{line: line, msg: "f-string: expecting '}'"}
}

// starlarkQuote renders text as a double-quoted Starlark literal. Escape
// sequences already in text are kept unless raw is set.
func starlarkQuote(text string, raw bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\\' && !raw && i+1 < len(text):
			b.WriteByte(c)
			b.WriteByte(text[i+1])
			i++
		case c == '\\':
			b.WriteString(`\\`)
		case c == '"':
			b.WriteString(`\"`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// rewriteStatement rewrites one statement that begins a logical line, or
// reports it as unsupported. ok is false when the statement is kept as is.
func rewriteStatement(stmt string, line int) (string, bool, error) {
	trimmed := strings.TrimRight(stmt, " \t\r")
	body := trimmed
	if k := strings.Index(body, "#"); k >= 0 && !strings.ContainsAny(body[:k], `'"`) {
		body = strings.TrimRight(body[:k], " \t")
	}
	for _, u := range unsupported {
		if u.re.MatchString(body) {
			return "", false, &syntaxError{line: line, msg: u.what}
		}
	}
	if m := importRE.FindStringSubmatch(body); m != nil {
		var stmts []string
		for _, item := range strings.Split(m[1], ",") {
			fields := strings.Fields(item)
			mod := fields[0]
			name := strings.SplitN(mod, ".", 2)[0]
			if len(fields) == 3 {
				name = fields[2]
			}
			stmts = append(stmts, fmt.Sprintf("%s = _gantry_import(%q)", name, mod))
		}
		return strings.Join(stmts, "; "), true, nil
	}
	if m := fromImportRE.FindStringSubmatch(body); m != nil {
		mod := m[1]
		var stmts []string
		for _, item := range strings.Split(m[2], ",") {
			fields := strings.Fields(item)
			switch len(fields) {
			case 0:
				continue
			case 1:
				stmts = append(stmts, fmt.Sprintf("%s = _gantry_import(%q, %q)", fields[0], mod, fields[0]))
			case 3:
				stmts = append(stmts, fmt.Sprintf("%s = _gantry_import(%q, %q)", fields[2], mod, fields[0]))
			default:
				return "", false, &syntaxError{line: line, msg: "invalid syntax in from-import"}
			}
		}
		if len(stmts) == 0 {
			return "", false, &syntaxError{line: line, msg: "invalid syntax in from-import"}
		}
		return strings.Join(stmts, "; "), true, nil
	}
	if strings.HasPrefix(body, "from ") && strings.Contains(body, " import *") {
		return "", false, &syntaxError{line: line, msg: "'from module import *' is not supported; import the names you use"}
	}
	return "", false, nil
}

var (
	isNotRE = regexp.MustCompile(`\bis\s+not\b`)
	isRE    = regexp.MustCompile(`\bis\b`)
	// powRE matches a ** b between simple operands (names, numbers,
	// attributes); ** after '(' or ',' is keyword unpacking and stays.
	powRE = regexp.MustCompile(`([A-Za-z_0-9][\w.]*)\s*\*\*\s*(-?[A-Za-z_0-9][\w.]*)`)
)

// rewriteCode applies token-level rewrites to code outside strings and
// comments.
func rewriteCode(code string) string {
	if strings.Contains(code, "is") {
		code = isNotRE.ReplaceAllString(code, "!=")
		code = isRE.ReplaceAllString(code, "==")
	}
	if strings.Contains(code, "**") {
		code = powRE.ReplaceAllString(code, "pow($1, $2)")
	}
	if strings.Contains(code, ".sort(") {
		code = sortCallRE.ReplaceAllStringFunc(code, func(m string) string {
			sub := sortCallRE.FindStringSubmatch(m)
			if sub[2] == ")" {
				return "_gantry_sort(" + sub[1] + ")"
			}
			return "_gantry_sort(" + sub[1] + ", "
		})
	}
	return code
}
