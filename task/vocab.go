package task

import (
	"context"
	"fmt"
	"strings"
)

// Role is who wrote a message.
type Role string

// The roles of a conversation.
const (
	System    Role = "system"
	User      Role = "user"
	Assistant Role = "assistant"
)

// Message is one message of the conversation.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
}

// Usage counts the tokens of one model call.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Policy writes the next assistant message of a conversation: a model, a
// replay of recorded turns, or a task's expert.
type Policy interface {
	Next(ctx context.Context, conv []Message) (Message, Usage, error)
}

// Format is the form actions take in assistant messages.
type Format string

// The action formats, as the CodeAct paper compares them.
const (
	// Code: a program per action; MINT writes it in <execute>...</execute>
	// and the final answer in <solution>...</solution>.
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

// Action is what the loop does with an assistant message. Code actions run
// in the runtime; other executed actions call one tool of the episode:
// Tool with Positional and Args, or, when Tool is empty, the task's "step"
// tool with Command (ALFWorld's text format).
type Action struct {
	Kind ActionKind `json:"kind"`
	// Code is the program to run (code format); for json and text formats
	// it is the single call, rendered as code for the record.
	Code string `json:"code,omitempty"`
	// Tool and Args are the call of the json format.
	Tool string         `json:"tool,omitempty"`
	Args map[string]any `json:"args,omitempty"`
	// Positional are positional arguments of the call (M3ToolEval's
	// "Action: tool, a, b End Action").
	Positional []any `json:"positional,omitempty"`
	// Command is the text format's command line.
	Command string `json:"command,omitempty"`
	// Solution is the proposed answer.
	Solution string `json:"solution,omitempty"`
	// Repaired reports that a cut-off closing tag was supplied.
	Repaired bool `json:"repaired,omitempty"`
	// Problem says why a message held no action.
	Problem string `json:"problem,omitempty"`
}
