package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/gantry-dev/gantry/tool"
)

// Format is the form actions take in assistant messages.
type Format string

// The action formats, as the CodeAct paper compares them.
const (
	// Code: Python in <execute>...</execute> (or a fenced python block);
	// the final answer in <solution>...</solution>.
	Code Format = "code"
	// JSON: one tool call per action, {"tool": "...", "args": {...}}.
	JSON Format = "json"
	// Text: one tool call per action as a plain line, for ALFWorld the
	// environment's own command ("go to cabinet 1").
	Text Format = "text"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case Code, JSON, Text:
		return f, nil
	}
	return "", fmt.Errorf("unknown action format %q (choose code, json or text)", s)
}

// ActionKind says what an assistant message asked for.
type ActionKind string

// The kinds of action.
const (
	// ActExecute runs code (code format), a tool call (json) or a command (text).
	ActExecute ActionKind = "execute"
	// ActSolution proposes a final answer.
	ActSolution ActionKind = "solution"
	// ActNone means the message held no action the loop understands.
	ActNone ActionKind = "none"
)

// Action is what the loop does with an assistant message.
type Action struct {
	Kind ActionKind `json:"kind"`
	// Code is the program to run (code format); for json and text formats
	// it is the single call, rendered as code for the record.
	Code string `json:"code,omitempty"`
	// Tool and Args are the call of the json format.
	Tool string         `json:"tool,omitempty"`
	Args map[string]any `json:"args,omitempty"`
	// Command is the text format's command line.
	Command string `json:"command,omitempty"`
	// Solution is the proposed answer.
	Solution string `json:"solution,omitempty"`
	// Repaired reports that a cut-off closing tag was supplied.
	Repaired bool `json:"repaired,omitempty"`
	// Problem says why a message held no action.
	Problem string `json:"problem,omitempty"`
}

var (
	executeRE  = regexp.MustCompile(`(?s)<execute>(.*?)</execute>`)
	solutionRE = regexp.MustCompile(`(?s)<solution>(.*?)</solution>`)
	fenceRE    = regexp.MustCompile("(?s)```(?:python|py|python3)?[ \t]*\n(.*?)```")
	thoughtRE  = regexp.MustCompile(`(?s)<thought>.*?</thought>`)
)

// maxMessage bounds the part of a message the parser reads; longer
// messages are cut (models that ramble for megabytes do not stall the loop).
const maxMessage = 1 << 20

// ParseAction extracts the action from an assistant message. It never
// fails: a message without a usable action gives ActNone with the reason.
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
// tool (or a solution).
func parseJSONAction(msg string) Action {
	body := thoughtRE.ReplaceAllString(msg, "")
	if m := solutionRE.FindStringSubmatch(body); m != nil {
		return Action{Kind: ActSolution, Solution: strings.TrimSpace(m[1])}
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '{' {
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

// parseTextAction takes the first line that is not a thought: the text
// format's command.
func parseTextAction(msg string) Action {
	body := thoughtRE.ReplaceAllString(msg, "")
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
	return Action{Kind: ActNone, Problem: "no command line"}
}
