package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// Format is the form actions take in assistant messages (task.Format).
type Format = task.Format

// The action formats, as the CodeAct paper compares them.
const (
	// Code: Python in <execute>...</execute> (or a fenced python block);
	// the final answer in <solution>...</solution>.
	Code = task.Code
	// JSON: one tool call per action, {"tool": "...", "args": {...}}.
	JSON = task.JSON
	// Text: one tool call per action as a plain line, for ALFWorld the
	// environment's own command ("go to cabinet 1").
	Text = task.Text
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) { return task.ParseFormat(s) }

// ActionKind says what an assistant message asked for (task.ActionKind).
type ActionKind = task.ActionKind

// The kinds of action.
const (
	// ActExecute runs code (code format), a tool call (json) or a command (text).
	ActExecute = task.ActExecute
	// ActSolution proposes a final answer.
	ActSolution = task.ActSolution
	// ActNone means the message held no action the loop understands.
	ActNone = task.ActNone
)

// Action is what the loop does with an assistant message (task.Action).
type Action = task.Action

var (
	executeRE  = regexp.MustCompile(`(?s)<execute>(.*?)</execute>`)
	solutionRE = regexp.MustCompile(`(?s)<solution>(.*?)</solution>`)
	fenceRE    = regexp.MustCompile("(?s)```(?:python|py|python3)?[ \t]*\n(.*?)```")
	thoughtRE  = regexp.MustCompile(`(?s)<thought>.*?</thought>`)
)

// maxMessage bounds the part of a message the parser reads; longer
// messages are cut (models that ramble for megabytes do not stall the loop).
const maxMessage = 1 << 20

// ParseAction extracts the action from an assistant message with gantry's
// lenient rules (see parseCodeAction). It never fails: a message without a
// usable action gives ActNone with the reason.
func ParseAction(msg string, format Format) Action {
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	switch format {
	case JSON:
		return parseJSONAction(msg)
	case Text:
		return parseTextAction(msg)
	}
	return parseCodeAction(msg)
}

// ParseMode selects the rules by which code-format messages are read.
type ParseMode string

// The parse modes.
const (
	// ParseLenient is gantry's reading (the default of a Config without
	// one): a cut-off <execute> block is run (its closing tag supplied,
	// Action.Repaired), a fenced python block counts as code when no
	// <execute> block is there, and an unclosed <solution> is a proposal
	// only when no code is there.
	ParseLenient ParseMode = "lenient"
	// ParseMINT reads messages exactly as MINT's GeneralEnv.parse_action
	// did (see ParseMINTAction); MINTConfig selects it.
	ParseMINT ParseMode = "mint"
)

// ParseParseMode checks a parse mode name.
func ParseParseMode(s string) (ParseMode, error) {
	switch m := ParseMode(strings.ToLower(strings.TrimSpace(s))); m {
	case ParseLenient, ParseMINT:
		return m, nil
	case "":
		return ParseLenient, nil
	}
	return "", fmt.Errorf("unknown parse mode %q (choose mint or lenient)", s)
}

// ParseActionMode extracts the action with the rules of mode: in the code
// format ParseMINT follows ParseMINTAction, anything else ParseAction.
func ParseActionMode(msg string, format Format, mode ParseMode) Action {
	if mode == ParseMINT && (format == Code || format == "") {
		return ParseMINTAction(msg)
	}
	return ParseAction(msg, format)
}

// Problems MINT's parser reports (its ParseError messages).
const (
	ProblemNoAnswer = "No answer found."
	ProblemNoCode   = "No code found."
)

// ParseMINTAction reads a code-format message exactly as MINT did (its
// LMAgent.lm_output_to_action and GeneralEnv.parse_action):
//
//   - a message that contains "<solution>" anywhere is a proposal; the
//     answer is every complete <solution>...</solution> block, each
//     stripped, joined by newlines. With no complete block the proposal
//     still counts but has no answer (Kind ActSolution, Problem
//     ProblemNoAnswer): MINT answered "I don't understand your input.";
//   - otherwise the code is every complete <execute>...</execute> block,
//     each stripped, joined by newlines: a block cut off before its
//     closing tag is left out, and the complete ones before it run;
//   - a message whose code is empty (no complete block, or only empty
//     ones) is no action (ActNone, ProblemNoCode); fenced ```python blocks
//     are not code.
func ParseMINTAction(msg string) Action {
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	if strings.Contains(msg, "<solution>") {
		answer := joinBlocks(solutionRE.FindAllStringSubmatch(msg, -1))
		if answer == "" {
			return Action{Kind: ActSolution, Problem: ProblemNoAnswer}
		}
		return Action{Kind: ActSolution, Solution: answer}
	}
	code := joinBlocks(executeRE.FindAllStringSubmatch(msg, -1))
	if code == "" {
		return Action{Kind: ActNone, Problem: ProblemNoCode}
	}
	return Action{Kind: ActExecute, Code: code}
}

// joinBlocks joins the first groups of matches, each stripped as Python's
// str.strip() strips, with newlines.
func joinBlocks(ms [][]string) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = pyStrip(m[1])
	}
	return strings.Join(parts, "\n")
}

// pyStrip strips what Python's str.strip() strips: the characters for
// which str.isspace() is true (Go's unicode.IsSpace and the four
// separators U+001C..U+001F).
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
	})
}

// parseCodeAction follows MINT: a message with a <solution> block proposes
// that solution (any code in it is not run); otherwise every <execute>
// block runs, joined in order.
func parseCodeAction(msg string) Action {
	if m := solutionRE.FindStringSubmatch(msg); m != nil {
		return Action{Kind: ActSolution, Solution: strings.TrimSpace(m[1])}
	}
	var blocks []string
	for _, m := range executeRE.FindAllStringSubmatch(msg, -1) {
		blocks = append(blocks, strings.TrimSpace(m[1]))
	}
	repaired := false
	// A cut-off closing tag: generation stopped at the stop sequence
	// </execute>, or at the token limit.
	if last := strings.LastIndex(msg, "<execute>"); last >= 0 && !strings.Contains(msg[last:], "</execute>") {
		code := strings.TrimSpace(msg[last+len("<execute>"):])
		if code != "" && !strings.Contains(code, "<solution>") {
			blocks = append(blocks, code)
			repaired = true
		}
	}
	if len(blocks) == 0 {
		for _, m := range fenceRE.FindAllStringSubmatch(msg, -1) {
			blocks = append(blocks, strings.TrimSpace(m[1]))
		}
	}
	if len(blocks) > 0 {
		return Action{Kind: ActExecute, Code: strings.Join(blocks, "\n"), Repaired: repaired}
	}
	if i := strings.LastIndex(msg, "<solution>"); i >= 0 {
		return Action{Kind: ActSolution, Solution: strings.TrimSpace(msg[i+len("<solution>"):]), Repaired: true}
	}
	return Action{Kind: ActNone, Problem: "no <execute> or <solution> block"}
}

// jsonCall is the json format's action.
type jsonCall struct {
	Tool     string         `json:"tool"`
	Args     map[string]any `json:"args"`
	Solution *string        `json:"solution"`
}

// parseJSONAction finds the first JSON object in the message that names a
// tool (or a solution): the first '{' from which a JSON object decodes
// into a jsonCall without error and with a tool or a solution.
//
// Decoding from every '{' in turn takes time quadratic in the length of
// the message when objects nest or never close, so a scan of the JSON
// syntax (jsonScanner, linear) first tells, for each '{' it passes, whether
// the decoder would fail from there or find no action; the decoder runs
// only from the others. The action found is the decoder's.
func parseJSONAction(msg string) Action {
	body, _ := stripThoughts(msg)
	if m := solutionRE.FindStringSubmatch(body); m != nil {
		return Action{Kind: ActSolution, Solution: strings.TrimSpace(m[1])}
	}
	var sc *jsonScanner
	for i := 0; i < len(body); i++ {
		k := strings.IndexByte(body[i:], '{')
		if k < 0 {
			break
		}
		i += k
		if sc == nil {
			sc = newJSONScanner(body)
		}
		if sc.status[i] == objUnknown {
			sc.scan(i)
		}
		if sc.status[i] != objCandidate {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(body[i:]))
		dec.UseNumber()
		var call jsonCall
		if err := dec.Decode(&call); err != nil {
			continue
		}
		if call.Solution != nil {
			return Action{Kind: ActSolution, Solution: *call.Solution}
		}
		if call.Tool == "" {
			continue
		}
		args, _ := tool.FromJSON(call.Args).(map[string]any)
		return Action{Kind: ActExecute, Tool: call.Tool, Args: args, Code: renderCall(call.Tool, args)}
	}
	return Action{Kind: ActNone, Problem: `no JSON object of the form {"tool": "...", "args": {...}}`}
}

// What decoding a jsonCall from a '{' of the message gives, as far as
// jsonScanner knows.
const (
	objUnknown   uint8 = iota // not scanned as the start of an object
	objFails                  // not a complete JSON object (syntax, end of text, or nesting deeper than the decoder allows)
	objNoAction               // decodes with an error, or with no tool and no solution
	objCandidate              // may decode to a tool call or a solution
)

// maxJSONDepth is encoding/json's limit on nesting; the decoder fails on
// deeper values.
const maxJSONDepth = 10000

// jsonScanner checks JSON syntax as encoding/json does, without its depth
// limit, and records for every object it passes (every '{' outside a
// string) what decoding a jsonCall from there gives: an object that does
// not close before a syntax error or the end of the text fails; one nested
// deeper than maxJSONDepth (counted from itself) fails; otherwise its keys
// that match the fields of jsonCall (as encoding/json matches them, case
// folded) tell whether decoding fails on a type or finds a tool or a
// solution. Objects inside strings of one scan start scans of their own;
// each byte is scanned a bounded number of times.
type jsonScanner struct {
	body   string
	status []uint8
	stack  []jsonFrame
}

// jsonFrame is an open object or array.
type jsonFrame struct {
	start    int
	object   bool
	state    uint8 // what comes next: jsValue, jsKey, jsColon, jsComma (or the first element or close)
	first    bool  // nothing inside yet
	field    uint8 // the jsonCall field the current key matches (fieldNone...)
	maxDepth int   // the deepest nesting reached inside, counted from the scan's start
	typeErr  bool
	tool     bool // the last string value of "tool" is not empty
	solution bool // the last value of "solution" is a string
}

const (
	jsValue uint8 = iota
	jsKey
	jsColon
	jsComma
)

const (
	fieldNone uint8 = iota
	fieldTool
	fieldArgs
	fieldSolution
)

// Kinds of value, for the type checks of jsonCall's fields.
const (
	kindString uint8 = iota
	kindEmptyString
	kindNull
	kindObject
	kindOther
)

func newJSONScanner(body string) *jsonScanner {
	return &jsonScanner{body: body, status: make([]uint8, len(body))}
}

// scan scans the object that starts at i.
func (s *jsonScanner) scan(i int) {
	s.stack = s.stack[:0]
	b := s.body
	p := i
	fail := func() {
		for _, f := range s.stack {
			if f.object {
				s.status[f.start] = objFails
			}
		}
		s.stack = s.stack[:0]
	}
	// push opens an object or array at p.
	push := func(object bool) {
		n := len(s.stack) + 1
		f := jsonFrame{start: p, object: object, first: true, maxDepth: n, state: jsValue}
		if object {
			f.state = jsKey
		}
		s.stack = append(s.stack, f)
		p++
	}
	// done completes a value of the given kind in the frame on top.
	done := func(kind uint8) {
		f := &s.stack[len(s.stack)-1]
		f.first = false
		f.state = jsComma
		if !f.object {
			return
		}
		switch f.field {
		case fieldTool:
			switch kind {
			case kindString:
				f.tool = true
			case kindEmptyString:
				f.tool = false
			case kindNull:
			default:
				f.typeErr = true
			}
		case fieldArgs:
			if kind != kindObject && kind != kindNull {
				f.typeErr = true
			}
		case fieldSolution:
			switch kind {
			case kindString, kindEmptyString:
				f.solution = true
			case kindNull:
				f.solution = false
			default:
				f.typeErr = true
			}
		}
	}
	push(true)
	for len(s.stack) > 0 {
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
		if p >= len(b) {
			fail()
			return
		}
		f := &s.stack[len(s.stack)-1]
		c := b[p]
		switch f.state {
		case jsValue:
			if c == ']' && !f.object && f.first {
				s.close()
				p++
				continue
			}
			switch {
			case c == '{':
				push(true)
			case c == '[':
				push(false)
			case c == '"':
				n := jsonString(b[p:])
				if n < 0 {
					fail()
					return
				}
				p += n
				if n == 2 {
					done(kindEmptyString)
				} else {
					done(kindString)
				}
			case c == '-' || c >= '0' && c <= '9':
				n := jsonNumber(b[p:])
				if n < 0 {
					fail()
					return
				}
				p += n
				done(kindOther)
			case strings.HasPrefix(b[p:], "null"):
				p += 4
				done(kindNull)
			case strings.HasPrefix(b[p:], "true"):
				p += 4
				done(kindOther)
			case strings.HasPrefix(b[p:], "false"):
				p += 5
				done(kindOther)
			default:
				fail()
				return
			}
		case jsKey:
			if c == '}' && f.first {
				s.close()
				p++
				continue
			}
			n := -1
			if c == '"' {
				n = jsonString(b[p:])
			}
			if n < 0 {
				fail()
				return
			}
			f.field = matchField(b[p : p+n])
			f.state = jsColon
			p += n
		case jsColon:
			if c != ':' {
				fail()
				return
			}
			f.state = jsValue
			p++
		case jsComma:
			switch {
			case c == ',':
				if f.object {
					f.state = jsKey
				} else {
					f.state = jsValue
				}
				p++
			case c == '}' && f.object || c == ']' && !f.object:
				s.close()
				p++
			default:
				fail()
				return
			}
		}
	}
}

// close closes the frame on top and records what an object gives.
func (s *jsonScanner) close() {
	n := len(s.stack)
	f := s.stack[n-1]
	s.stack = s.stack[:n-1]
	if n > 1 {
		s.stack[n-2].maxDepth = max(s.stack[n-2].maxDepth, f.maxDepth)
	}
	if f.object {
		switch {
		case f.maxDepth-n+1 > maxJSONDepth:
			s.status[f.start] = objFails
		case f.typeErr || !f.tool && !f.solution:
			s.status[f.start] = objNoAction
		default:
			s.status[f.start] = objCandidate
		}
	}
	if n > 1 {
		top := &s.stack[n-2]
		top.first = false
		kind := kindOther
		if f.object {
			kind = kindObject
		}
		// done, for the parent: the field checks of a nested value.
		top.state = jsComma
		if top.object {
			switch top.field {
			case fieldTool:
				top.typeErr = true
			case fieldArgs:
				if kind != kindObject {
					top.typeErr = true
				}
			case fieldSolution:
				top.typeErr = true
			}
		}
	}
}

// jsonString returns the length of the JSON string at the start of s (a
// '"'), or -1 if it is not a valid one.
func jsonString(s string) int {
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(s) {
				return -1
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) {
					return -1
				}
				for _, h := range []byte(s[i+1 : i+5]) {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// jsonNumber returns the length of the JSON number at the start of s, or
// -1 if it is not a valid one. A number needs a byte after it to end.
func jsonNumber(s string) int {
	i := 0
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return -1
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return -1
		}
	}
	if i >= len(s) {
		return -1
	}
	return i
}

// matchField tells which field of jsonCall the JSON string key (quotes
// included) sets, as encoding/json matches keys to fields.
func matchField(key string) uint8 {
	inner := key[1 : len(key)-1]
	plain := true
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' || inner[i] >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		switch {
		case strings.EqualFold(inner, "tool"):
			return fieldTool
		case strings.EqualFold(inner, "args"):
			return fieldArgs
		case strings.EqualFold(inner, "solution"):
			return fieldSolution
		}
		return fieldNone
	}
	// Escapes and non-ASCII letters: ask the decoder.
	var probe struct {
		Tool     json.RawMessage `json:"tool"`
		Args     json.RawMessage `json:"args"`
		Solution json.RawMessage `json:"solution"`
	}
	if json.Unmarshal([]byte("{"+key+":0}"), &probe) != nil {
		return fieldNone
	}
	switch {
	case probe.Tool != nil:
		return fieldTool
	case probe.Args != nil:
		return fieldArgs
	case probe.Solution != nil:
		return fieldSolution
	}
	return fieldNone
}

// parseTextAction takes the first line that is not a thought: the text
// format's command.
func parseTextAction(msg string) Action {
	body, _ := stripThoughts(msg)
	if m := solutionRE.FindStringSubmatch(body); m != nil {
		return Action{Kind: ActSolution, Solution: strings.TrimSpace(m[1])}
	}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "> ")
		line = strings.TrimPrefix(line, "Action:")
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "think:") || strings.HasPrefix(line, "Thought:") || strings.HasPrefix(line, "Assistant:") {
			continue
		}
		return Action{Kind: ActExecute, Command: line, Code: renderCall("step", map[string]any{"command": line})}
	}
	if _, cut := stripThoughts(msg); cut {
		return Action{Kind: ActNone, Problem: "no command line (the reply ended inside <thought>)"}
	}
	return Action{Kind: ActNone, Problem: "no command line"}
}

// stripThoughts removes the thoughts of a json or text message: every
// <thought>...</thought>, and a thought cut off before its closing tag
// with all that follows it, so that neither its words nor a <solution>
// written in it (a model copying the instructions) count as an action.
// cut reports that a thought was cut off.
func stripThoughts(msg string) (body string, cut bool) {
	body = thoughtRE.ReplaceAllString(msg, "")
	if i := strings.Index(body, "<thought>"); i >= 0 {
		return body[:i], true
	}
	return body, false
}
