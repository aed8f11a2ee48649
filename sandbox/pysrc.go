package sandbox

import (
	"fmt"
	"regexp"
	"strings"
)

// A SyntaxError is Python that the preprocessor rejects before Starlark
// parses it (constructs Starlark cannot express).
type syntaxError struct {
	line int
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
// every statement on its original line: f-strings become calls of _fmt,
// imports of provided modules become assignments, `is`/`is not` become
// comparisons, list.sort() becomes _sort(list), and constructs Starlark
// cannot express are reported with the line they are on.
func translate(src string) (string, error) { return translateMode(src, false) }

// translateMode is translate; in expression mode (for fragments inside
// brackets) no statements are recognised.
func translateMode(src string, expr bool) (string, error) {
	var out strings.Builder
	out.Grow(len(src) + len(src)/4)
	line := 1
	atLineStart := !expr // only whitespace seen on this logical line so far
	depth := 0           // bracket nesting: statements start only at depth 0
	i := 0
	var code strings.Builder // code text since the last string/comment, flushed through rewriteCode
	flush := func() {
		out.WriteString(rewriteCode(code.String()))
		code.Reset()
	}
	for i < len(src) {
		c := src[i]
		if atLineStart && depth == 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#' {
			end := strings.IndexByte(src[i:], '\n')
			var stmt string
			if end < 0 {
				stmt = src[i:]
			} else {
				stmt = src[i : i+end]
			}
			if repl, ok, err := rewriteStatement(stmt, line); err != nil {
				return "", err
			} else if ok {
				code.WriteString(repl)
				i += len(stmt)
				atLineStart = false
				continue
			}
			atLineStart = false
		}
		switch {
		case c == '\n':
			code.WriteByte(c)
			line++
			i++
			if depth == 0 && !strings.HasSuffix(strings.TrimRight(code.String(), "\n"), "\\") {
				atLineStart = true
			}
		case c == '#':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			flush()
			out.WriteString(src[i : i+end])
			i += end
		case c == '[':
			repl, n, ok, err := rewriteStarList(src[i:], line)
			if err != nil {
				return "", err
			}
			if ok {
				flush()
				out.WriteString(repl)
				line += strings.Count(src[i:i+n], "\n")
				i += n
				continue
			}
			depth++
			code.WriteByte(c)
			i++
		case c == '(' || c == '{':
			depth++
			code.WriteByte(c)
			i++
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			code.WriteByte(c)
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
				i = j
				continue
			}
			lit, n, err := scanString(src[j:], line)
			if err != nil {
				return "", err
			}
			nl := strings.Count(lit.raw, "\n")
			if strings.Contains(prefix, "f") {
				flush()
				repl, err := rewriteFString(lit, strings.Contains(prefix, "r"), line)
				if err != nil {
					return "", err
				}
				out.WriteString(repl)
			} else {
				flush()
				out.WriteString(src[i : j+n])
			}
			line += nl
			i = j + n
		default:
			code.WriteByte(c)
			i++
		}
	}
	flush()
	return out.String(), nil
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
// of string literals and _fmt(value, spec, conversion) calls, keeping its
// newlines so that later lines keep their numbers.
func rewriteFString(lit literal, raw bool, line int) (string, error) {
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
				inner, err := rewriteFString(literal{quote: `"`, raw: spec}, true, line)
				if err != nil {
					return "", err
				}
				specExpr = inner
			}
			parts = append(parts, fmt.Sprintf("_fmt((%s), %s, %q)", expr, specExpr, conv))
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
	nl := strings.Count(lit.raw, "\n")
	return "(" + strings.Join(parts, " + ") + strings.Repeat("\n", nl) + ")", nil
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
			stmts = append(stmts, fmt.Sprintf("%s = _import(%q)", name, mod))
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
				stmts = append(stmts, fmt.Sprintf("%s = _import(%q, %q)", fields[0], mod, fields[0]))
			case 3:
				stmts = append(stmts, fmt.Sprintf("%s = _import(%q, %q)", fields[2], mod, fields[0]))
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
				return "_sort(" + sub[1] + ")"
			}
			return "_sort(" + sub[1] + ", "
		})
	}
	return code
}

// rewriteStarList rewrites a list display with unpacked elements,
// [*a, "x", *b], which Starlark lacks, into _concat(a, ["x"], b). s starts
// at the '['. ok is false when the list has no unpacked element.
func rewriteStarList(s string, line int) (repl string, n int, ok bool, err error) {
	depth := 0
	var commas []int
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		case c == '\'' || c == '"' || (isPrefixChar(c) && stringStartsAt(s, i)):
			j := i
			for j < len(s) && isPrefixChar(s[j]) {
				j++
			}
			if j > i && (j-i > 2 || !identBoundary(s, i)) {
				i = j
				continue
			}
			_, m, err := scanString(s[j:], line)
			if err != nil {
				return "", 0, false, err
			}
			i = j + m
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 {
				n = i + 1
			}
		case c == ',' && depth == 1:
			commas = append(commas, i)
		}
		if n > 0 {
			break
		}
		i++
	}
	if n == 0 {
		return "", 0, false, nil // unbalanced: let the parser report it
	}
	// Split the elements.
	var elems []string
	start := 1
	for _, c := range append(commas, n-1) {
		elems = append(elems, s[start:c])
		start = c + 1
	}
	starred := func(e string) bool {
		t := strings.TrimLeft(e, " \t\r\n")
		return strings.HasPrefix(t, "*") && !strings.HasPrefix(t, "**")
	}
	any := false
	for _, e := range elems {
		if starred(e) {
			any = true
		}
	}
	if !any {
		return "", 0, false, nil
	}
	var parts []string
	var run []string
	flushRun := func() error {
		if len(run) == 0 {
			return nil
		}
		t, err := translateMode(strings.Join(run, ","), true)
		if err != nil {
			return err
		}
		parts = append(parts, "["+t+"]")
		run = nil
		return nil
	}
	for _, e := range elems {
		if strings.TrimSpace(e) == "" {
			// A trailing comma; keep its newlines.
			if len(parts) > 0 || len(run) > 0 {
				parts = append(parts, "[]"+strings.Repeat("\n", strings.Count(e, "\n")))
			}
			continue
		}
		if !starred(e) {
			run = append(run, e)
			continue
		}
		if err := flushRun(); err != nil {
			return "", 0, false, err
		}
		k := strings.Index(e, "*")
		t, err := translateMode(e[:k]+" "+e[k+1:], true)
		if err != nil {
			return "", 0, false, err
		}
		parts = append(parts, t)
	}
	if err := flushRun(); err != nil {
		return "", 0, false, err
	}
	return "_concat(" + strings.Join(parts, ",") + ")", n, true, nil
}
