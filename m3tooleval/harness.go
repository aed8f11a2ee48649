package m3tooleval

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/repr"
)

// Format is an action format of the harness.
type Format string

// The three action formats the paper compares.
const (
	Code Format = "code" // a block of Python between Action: and End Action
	JSON Format = "json" // {"tool": ..., "args": [...]} between Action: and End Action
	Text Format = "text" // tool_name, arg1, arg2 between Action: and End Action
)

// Formats lists the formats in the order the paper's table shows them.
func Formats() []Format { return []Format{Code, JSON, Text} }

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case Code, JSON, Text:
		return f, nil
	}
	return "", errors.New("unknown M3ToolEval format " + StrRepr(s) + " (choose code, json or text)")
}

// The harness's fixed settings.
const (
	// MaxTurns is the number of assistant turns an episode may take.
	MaxTurns = 10
	// Temperature and MaxTokens are the sampling settings of every call.
	Temperature = 0.0
	MaxTokens   = 512
	// MaxObservation is the number of characters of an observation kept.
	MaxObservation = 2000
	// CodeTimeoutSeconds is the alarm that stops one code action.
	CodeTimeoutSeconds = 30
)

// The harness's messages.
const (
	MsgBoth            = "Invalid generation. Your output should contain either 'Action:' or 'Answer:', but not both."
	MsgNeither         = "Invalid generation. Your output should contain either 'Action:' or 'Answer:'"
	MsgExtraAction     = "You have output more than one action. Only the first action will be used."
	MsgExtraAnswer     = "You have output more than one answer. Only the first answer will be used."
	MsgExtraReminder   = "\n*Extra reminder: "
	MsgWrongAnswer     = "Your answer is incorrect. Please try again. Note that you should ONLY output the answer (e.g., single number), without any other text."
	MsgNoOutput        = "[Executed Successfully with No Output, Did you forget to print?]"
	MsgTruncated       = "...\n[Output Truncated]"
	msgInvalidJSONHead = "Invalid action. You should output a JSON object with the following fields: 'tool' (the name of the tool), 'args' (a list of arguments to the tool). Error: "
)

// Prompt is the harness's single user message for a task in a format,
// byte for byte.
func (t *Task) Prompt(f Format) string {
	var b strings.Builder
	b.WriteString("You have access to the following tools:\n")
	for i, tl := range t.Tools {
		b.WriteString("[" + strconv.Itoa(i+1) + "] " + tl.Name + ": " + tl.Description + "\n")
		b.WriteString("    Signature: " + tl.Signature + "\n")
	}
	b.WriteString("\n")
	switch f {
	case Text:
		b.WriteString("You can use the tools by outputing the tool name followed by its arguments, delimited by commas.\n")
		b.WriteString("You should begin your tool invocation with 'Action:' and end it with 'End Action'.\n")
		b.WriteString("Example: 'Action: tool_name, argument_1 End Action'\n")
		b.WriteString("You can only invoke one tool at a time.\n")
	case JSON:
		b.WriteString("You can use the tools by outputing a JSON object with the following fields:\n")
		b.WriteString("  - 'tool': the name of the tool\n")
		b.WriteString("  - 'args': a list of arguments to the tool\n")
		b.WriteString("You should begin your tool invocation with 'Action:' and end it with 'End Action'.\n")
		b.WriteString("Example: 'Action: {\"tool\": \"tool_name\", \"args\": [\"argument_1\"]} End Action'\n")
		b.WriteString("You can only invoke one tool at a time.\n")
	case Code:
		b.WriteString("You can use the tools by outputing a block of Python code that invoke the tools.\n")
		b.WriteString("You may use for-loops, if-statements, and other Python constructs when necessary.\n")
		b.WriteString("Be sure to print the final answer at the end of your code.\n")
		b.WriteString("You should begin your tool invocation with 'Action:' and end it with 'End Action'.\n")
		b.WriteString("Example: 'Action:\ntool_name(argument_1)\nEnd Action'\n")
	}
	b.WriteString("\nNow, let's get started!\n\n")
	b.WriteString("Instruction: " + t.Instruction)
	b.WriteString("\nYou can optionally express your thoughts using natural language before your action. For example, 'Thought: I want to use tool_name to do something. Action: <your action to call tool_name> End Action'.")
	b.WriteString("\nNote that your output should always contain either 'Action:' or 'Answer:', but not both.")
	b.WriteString("\nWhen you are done, output the result using 'Answer: your answer'")
	b.WriteString("\nPlease ONLY output the answer (e.g., single number), without any other text.")
	return b.String()
}

// runeFind is Python's s.find(sub, start) on code points.
func runeFind(s []rune, sub string, start int) int {
	if start < 0 {
		start = max(0, len(s)+start)
	}
	if start > len(s) {
		return -1
	}
	i := strings.Index(string(s[start:]), sub)
	if i < 0 {
		return -1
	}
	return start + utf8.RuneCountInString(string(s[start:])[:i])
}

var answerActionRE = regexp.MustCompile(`Answer:|Action:`)

// Postprocess is the harness's cleaning of a reply: cut before a second
// Answer:/Action:, after the first End Action, and before a Thought: that
// follows the action. (Its index arithmetic is kept as is: with no
// "Action:" the search for End Action and Thought: starts at index 6.)
func Postprocess(generation string) string {
	generation = strings.TrimLeftFunc(generation, isPySpace)
	matches := answerActionRE.FindAllStringIndex(generation, -1)
	if len(matches) <= 1 {
		return generation
	}
	trimmed := []rune(trimPySpace(generation[:matches[1][0]]))
	firstActionEnd := runeFind(trimmed, "Action:", 0) + len("Action:")
	if end := runeFind(trimmed, "End Action", firstActionEnd); end != -1 {
		trimmed = []rune(trimPySpace(string(trimmed[:end+len("End Action")])))
	}
	if next := runeFind(trimmed, "Thought:", firstActionEnd); next != -1 {
		trimmed = []rune(trimPySpace(string(trimmed[:next])))
	}
	return string(trimmed)
}

// Kind says what a reply holds.
type Kind string

// The kinds of reply.
const (
	KindAction  Kind = "action"
	KindAnswer  Kind = "answer"
	KindInvalid Kind = "invalid"
)

// Parsed is a post-processed reply, read as the harness reads it.
type Parsed struct {
	Kind Kind
	// Content is the action (text after "Action:", up to "End Action"),
	// the answer, or for an invalid reply the message the model gets.
	Content string
	// Extra is the reminder appended to the next message, if any.
	Extra string
}

// Parse reads a post-processed reply as the harness's parse_generation.
func Parse(generation string) Parsed {
	hasAnswer := strings.Contains(generation, "Answer:")
	hasAction := strings.Contains(generation, "Action:")
	switch {
	case hasAnswer && hasAction:
		return Parsed{Kind: KindInvalid, Content: MsgBoth}
	case hasAnswer:
		if strings.Count(generation, "Answer:") > 1 {
			return Parsed{Kind: KindAnswer, Content: trimPySpace(strings.Split(generation, "Answer:")[1]), Extra: MsgExtraAnswer}
		}
		_, after, _ := strings.Cut(generation, "Answer:")
		return Parsed{Kind: KindAnswer, Content: trimPySpace(after)}
	case hasAction:
		var action, extra string
		if strings.Count(generation, "Action:") > 1 {
			action = strings.TrimLeftFunc(strings.Split(generation, "Action:")[1], isPySpace)
			extra = MsgExtraAction
		} else {
			_, after, _ := strings.Cut(generation, "Action:")
			action = strings.TrimLeftFunc(after, isPySpace)
		}
		if i := strings.Index(action, "End Action"); i >= 0 {
			action = action[:i]
		}
		return Parsed{Kind: KindAction, Content: action, Extra: extra}
	}
	return Parsed{Kind: KindInvalid, Content: MsgNeither}
}

// cutObservation keeps the first MaxObservation characters of s, marking
// the cut as the harness does.
func cutObservation(s string) string {
	if h, cut := repr.Head(s, MaxObservation, repr.Chars); cut {
		return h + MsgTruncated
	}
	return s
}

var outMarkerRE = regexp.MustCompile(`Out\[\d+\]:`)

// CodeObservation turns what a code action printed (the IPython cell's
// captured output) into the harness's execution result: an empty output
// becomes the no-output message, the text is cut at MaxObservation
// characters, every "Out[N]:" marker is removed, and the text, stripped,
// goes through ast.literal_eval: its value when that parses, else the text
// unchanged. The model reads StrOf of the result.
func CodeObservation(output string) Value {
	if output == "" {
		output = MsgNoOutput
	}
	output = cutObservation(output)
	output = outMarkerRE.ReplaceAllString(output, "")
	if v, err := LiteralEval(trimPySpace(output)); err == nil {
		return v
	}
	return Str(output)
}

// CheckAnswer is the harness's check_answer as the code really behaves:
// correct when the answer equals the expected output, or when both, put
// through "int, else float, else unchanged", are equal; otherwise, unless
// that conversion raised a non-ValueError (a list or dict expected), the
// answer is replaced by its ast.literal_eval when that parses (the further
// comparison the harness meant to make raises and is swallowed: a missing
// "or" makes it a call); finally correct when str(answer) equals
// str(expected). So an int part is accepted for a float (int(380.42) ==
// int("380")), and "'abc'" or "1.50" match abc and 1.5.
func CheckAnswer(answer, expected Value) bool {
	correct, a := checkTry(answer, expected)
	if correct {
		return true
	}
	return StrOf(a) == StrOf(expected)
}

// checkTry is the try block of check_answer: whether it found the answer
// correct, and the answer as the final comparison sees it.
func checkTry(a, expected Value) (bool, Value) {
	if Equal(a, expected) {
		return true, a
	}
	ca, err := tryConvert(a)
	if err != nil {
		return false, a
	}
	ce, err := tryConvert(expected)
	if err != nil {
		return false, a
	}
	if Equal(ca, ce) {
		return true, a
	}
	s, ok := a.(Str)
	if !ok {
		return false, a // literal_eval of a non-str raises
	}
	if v, err := LiteralEval(string(s)); err == nil {
		return false, v
	}
	return false, a
}
