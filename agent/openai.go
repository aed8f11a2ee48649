package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// MINTStop returns the stop sequences MINT's agents send with every call
// (mint/agents/base.py): the model must not write the observation, the
// expert's feedback or the next task itself.
func MINTStop() []string {
	return []string{"\nObservation:", "\nExpert feedback:", "\nTask:", "\n---"}
}

// MINTMaxTokens is the completion limit MINT's agents send (max_tokens).
const MINTMaxTokens = 512

// DefaultModelTimeout is the default limit of one model call. It fits a
// model served on a CPU: with a 0.5B model on two busy cores, 85 s of
// prompt reading on an episode's first turn and 224 s for one reply were
// measured, and 512 tokens at 0.7 tokens/s (12 minutes) when the cores
// were shared by twenty processes; a server that answers one request at a
// time also makes each request wait for the one before it.
const DefaultModelTimeout = 30 * time.Minute

// OpenAIConfig configures a model behind an OpenAI-compatible chat
// completions API (OpenAI, vLLM, Ollama, llama.cpp server, ...).
type OpenAIConfig struct {
	BaseURL     string // e.g. http://localhost:8000/v1; empty for OpenAI
	APIKey      string
	Model       string
	Temperature float32  // always sent, 0 included
	MaxTokens   int      // completion tokens per call (max_tokens); 0 = server default
	Stop        []string // stop sequences; none when empty (see MINTStop)
	// Timeout limits one call (default DefaultModelTimeout). A call that
	// runs out of it is not retried: the episode ends with a *TimeoutError.
	Timeout time.Duration
	Retries int           // attempts after the first, on 429, 5xx, network errors and empty or malformed answers
	Backoff time.Duration // first retry delay, doubled each time
	Stream  io.Writer     // when set, tokens are streamed here as they arrive
	// Functions, when set, are offered to the model as OpenAI function
	// calls (json format); a call the model makes becomes the message's
	// {"tool": ..., "args": ...} line, which the json parser reads.
	Functions  []tool.Function
	Logger     *slog.Logger
	HTTPClient *http.Client
}

// OpenAIPolicy asks a model for each assistant message.
type OpenAIPolicy struct {
	cfg  OpenAIConfig
	url  string // the chat completions endpoint
	http *http.Client
}

// NewOpenAIPolicy returns a policy for the configured server.
func NewOpenAIPolicy(cfg OpenAIConfig) (*OpenAIPolicy, error) {
	if cfg.Model == "" {
		return nil, errors.New("openai policy: no model given")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultModelTimeout
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "https://api.openai.com/v1"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &OpenAIPolicy{cfg: cfg, url: base + "/chat/completions", http: hc}, nil
}

// chatRequest is the body of a chat completions call. Temperature has no
// omitempty: a temperature of 0 is sent as 0 (an omitted one means the
// server's default, 0.8 for llama.cpp, 1 for OpenAI).
type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []chatMessage  `json:"messages"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Temperature   float32        `json:"temperature"`
	Stop          []string       `json:"stop,omitempty"`
	Tools         []chatTool     `json:"tools,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
}

type chatMessage struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type toolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// chatResponse is a chat completion, or one chunk of a streamed one
// (Delta instead of Message).
type chatResponse struct {
	Choices []struct {
		Message      chatMessage `json:"message"`
		Delta        chatMessage `json:"delta"`
		FinishReason string      `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
	Error *APIError  `json:"error"`
}

// APIError is an error answer of the server (a non-2xx status, or an error
// object in a stream).
type APIError struct {
	StatusCode int    `json:"-"`
	Message    string `json:"message"`
	Type       string `json:"type,omitempty"`
}

func (e *APIError) Error() string {
	msg := "server error"
	if e.StatusCode != 0 {
		msg = fmt.Sprintf("status %d", e.StatusCode)
		if t := http.StatusText(e.StatusCode); t != "" {
			msg += " " + t
		}
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		msg += " (the API key comes from OPENAI_API_KEY, or GANTRY_API_KEY which wins)"
	}
	return msg
}

// TimeoutError is a model call that did not end within the configured
// timeout. It is not retried: the server may still be working on the
// request (a server that answers one request at a time would make a retry
// wait behind it), and starting the reply again from scratch would cost
// as long again.
type TimeoutError struct {
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the model did not answer within %s (raise --model-timeout); not retried", e.After)
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Next sends the conversation and returns the model's message, retrying
// with backoff on rate limits, server errors, network errors and empty or
// malformed answers. A call that runs out of its timeout is not retried.
func (p *OpenAIPolicy) Next(ctx context.Context, conv []Message) (Message, Usage, error) {
	req := chatRequest{
		Model:       p.cfg.Model,
		Temperature: p.cfg.Temperature,
		MaxTokens:   p.cfg.MaxTokens,
		Stop:        p.cfg.Stop,
	}
	for _, f := range p.cfg.Functions {
		req.Tools = append(req.Tools, chatTool{Type: "function",
			Function: chatFunction{Name: f.Name, Description: f.Description, Parameters: f.Parameters}})
	}
	for _, m := range conv {
		req.Messages = append(req.Messages, chatMessage{Role: string(m.Role), Content: m.Content})
	}
	if p.cfg.Stream != nil {
		req.Stream = true
		req.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Message{}, Usage{}, fmt.Errorf("chat completion request: %w", err)
	}
	var lastErr error
	delay := p.cfg.Backoff
	for attempt := 0; attempt <= p.cfg.Retries; attempt++ {
		if attempt > 0 {
			jitter := time.Duration(rand.Int64N(int64(delay)/2 + 1))
			p.cfg.Logger.Warn("model call failed; retrying", "attempt", attempt, "delay", delay+jitter, "err", lastErr)
			select {
			case <-ctx.Done():
				return Message{}, Usage{}, ctx.Err()
			case <-time.After(delay + jitter):
			}
			delay *= 2
		}
		msg, usage, err := p.call(ctx, body)
		if err == nil {
			return msg, usage, nil
		}
		lastErr = err
		if ctx.Err() != nil || !retryable(err) {
			break
		}
	}
	return Message{}, Usage{}, lastErr
}

// call makes one request with the per-call timeout.
func (p *OpenAIPolicy) call(ctx context.Context, body []byte) (Message, Usage, error) {
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	msg, u, err := p.do(cctx, body)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return Message{}, Usage{}, fmt.Errorf("chat completion: %w", &TimeoutError{After: p.cfg.Timeout})
	}
	return msg, u, err
}

func (p *OpenAIPolicy) do(ctx context.Context, body []byte) (Message, Usage, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return Message{}, Usage{}, fmt.Errorf("chat completion: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if p.cfg.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+p.cfg.APIKey)
	}
	if p.cfg.Stream != nil {
		hr.Header.Set("Accept", "text/event-stream")
	}
	resp, err := p.http.Do(hr)
	if err != nil {
		return Message{}, Usage{}, fmt.Errorf("chat completion: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		apiErr := &APIError{}
		var wrapped struct {
			Error *APIError `json:"error"`
		}
		if json.Unmarshal(data, &wrapped) == nil && wrapped.Error != nil {
			apiErr = wrapped.Error
		} else {
			apiErr.Message = strings.TrimSpace(string(data))
		}
		apiErr.StatusCode = resp.StatusCode
		return Message{}, Usage{}, fmt.Errorf("chat completion: %w", apiErr)
	}
	if p.cfg.Stream != nil {
		return p.stream(resp.Body)
	}
	var cr chatResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&cr); err != nil {
		return Message{}, Usage{}, fmt.Errorf("chat completion: malformed answer: %w", err)
	}
	if cr.Error != nil {
		cr.Error.StatusCode = resp.StatusCode
		return Message{}, Usage{}, fmt.Errorf("chat completion: %w", cr.Error)
	}
	if len(cr.Choices) == 0 {
		return Message{}, Usage{}, errEmpty
	}
	var u Usage
	if cr.Usage != nil {
		u = Usage{PromptTokens: cr.Usage.PromptTokens, CompletionTokens: cr.Usage.CompletionTokens}
	}
	c := cr.Choices[0]
	content := p.withStop(c.Message.Content, c.FinishReason)
	return Message{Role: Assistant, Content: withCall(content, c.Message.ToolCalls)}, u, nil
}

// withCall appends the first function call the model made as the json
// format's {"tool": ..., "args": ...} line, so the conversation stays plain
// text and the parser reads the call like one written in the message.
func withCall(content string, calls []toolCall) string {
	for _, c := range calls {
		if c.Function.Name == "" {
			continue
		}
		args := strings.TrimSpace(c.Function.Arguments)
		if args == "" {
			args = "{}"
		}
		name, _ := json.Marshal(tool.FromFunctionName(c.Function.Name))
		line := fmt.Sprintf(`{"tool": %s, "args": %s}`, name, args)
		if content != "" && !strings.HasSuffix(content, "\n") {
			content += "\n"
		}
		return content + line
	}
	return content
}

// errEmpty is a response without choices; it is retried.
var errEmpty = errors.New("chat completion: the response has no choices")

// withStop restores a "</execute>" stop sequence the server cut off, so
// that the parser sees a closed <execute> block. Only "</execute>" is
// restored, and only when it is one of the stop sequences sent: with MINT's
// stop sequences an unclosed block is the model's own.
func (p *OpenAIPolicy) withStop(content, finish string) string {
	if finish == "stop" && slices.Contains(p.cfg.Stop, "</execute>") && strings.Contains(content, "<execute>") &&
		!strings.Contains(content[strings.LastIndex(content, "<execute>"):], "</execute>") {
		content += "</execute>"
	}
	return content
}

// stream reads a streamed answer (server-sent events), writing the tokens
// to the configured writer as they arrive, then what the client added: a
// restored "</execute>" and a function call's {"tool": ...} line.
func (p *OpenAIPolicy) stream(body io.Reader) (Message, Usage, error) {
	var b strings.Builder
	var u Usage
	var calls []toolCall // assembled from the deltas, by index
	finish := ""
	got := false
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // blank lines, comments, event names
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			break
		}
		var chunk chatResponse
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return Message{}, Usage{}, fmt.Errorf("chat completion stream: malformed chunk: %w", err)
		}
		if chunk.Error != nil {
			return Message{}, Usage{}, fmt.Errorf("chat completion stream: %w", chunk.Error)
		}
		if chunk.Usage != nil {
			u = Usage{PromptTokens: chunk.Usage.PromptTokens, CompletionTokens: chunk.Usage.CompletionTokens}
		}
		for _, c := range chunk.Choices {
			got = true
			b.WriteString(c.Delta.Content)
			for _, tc := range c.Delta.ToolCalls {
				i := len(calls)
				if tc.Index != nil {
					i = *tc.Index
				}
				if i < 0 || i > 64 {
					continue
				}
				for len(calls) <= i {
					calls = append(calls, toolCall{})
				}
				calls[i].Function.Name += tc.Function.Name
				calls[i].Function.Arguments += tc.Function.Arguments
			}
			fmt.Fprint(p.cfg.Stream, c.Delta.Content)
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(p.cfg.Stream)
		return Message{}, Usage{}, fmt.Errorf("chat completion stream: %w", err)
	}
	if !got {
		fmt.Fprintln(p.cfg.Stream)
		return Message{}, Usage{}, errEmpty
	}
	content := p.withStop(b.String(), finish)
	fmt.Fprintln(p.cfg.Stream, content[b.Len():]) // the restored stop sequence, if any
	full := withCall(content, calls)
	if call := strings.TrimPrefix(full, content); call != "" {
		fmt.Fprintln(p.cfg.Stream, strings.TrimLeft(call, "\n"))
	}
	return Message{Role: Assistant, Content: full}, u, nil
}

// retryable reports whether a failed call is worth another attempt.
func retryable(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500
	}
	// Empty answers, network errors and malformed bodies.
	return true
}
