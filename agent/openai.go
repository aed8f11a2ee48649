package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/tool"
	openai "github.com/sashabaranov/go-openai"
)

// OpenAIConfig configures a model behind an OpenAI-compatible chat
// completions API (OpenAI, vLLM, Ollama, llama.cpp server, ...).
type OpenAIConfig struct {
	BaseURL     string // e.g. http://localhost:8000/v1; empty for OpenAI
	APIKey      string
	Model       string
	Temperature float32
	MaxTokens   int      // completion tokens per call; 0 = server default
	Stop        []string // stop sequences; the loop repairs a cut </execute>
	Timeout     time.Duration
	Retries     int           // attempts after the first, on 429, 5xx and network errors
	Backoff     time.Duration // first retry delay, doubled each time
	Stream      io.Writer     // when set, tokens are streamed here as they arrive
	// Functions, when set, are offered to the model as OpenAI function
	// calls (json format); a call the model makes becomes the message's
	// {"tool": ..., "args": ...} line, which the json parser reads.
	Functions  []tool.Function
	Logger     *slog.Logger
	HTTPClient *http.Client
}

// OpenAIPolicy asks a model for each assistant message.
type OpenAIPolicy struct {
	cfg    OpenAIConfig
	client *openai.Client
}

// NewOpenAIPolicy returns a policy for the configured server.
func NewOpenAIPolicy(cfg OpenAIConfig) (*OpenAIPolicy, error) {
	if cfg.Model == "" {
		return nil, errors.New("openai policy: no model given")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	if cfg.HTTPClient != nil {
		oc.HTTPClient = cfg.HTTPClient
	}
	return &OpenAIPolicy{cfg: cfg, client: openai.NewClientWithConfig(oc)}, nil
}

// Next sends the conversation and returns the model's message, retrying
// with backoff on rate limits, server errors and network errors.
func (p *OpenAIPolicy) Next(ctx context.Context, conv []Message) (Message, Usage, error) {
	req := openai.ChatCompletionRequest{
		Model:       p.cfg.Model,
		Temperature: p.cfg.Temperature,
		MaxTokens:   p.cfg.MaxTokens,
		Stop:        p.cfg.Stop,
	}
	for _, f := range p.cfg.Functions {
		req.Tools = append(req.Tools, openai.Tool{Type: openai.ToolTypeFunction,
			Function: &openai.FunctionDefinition{Name: f.Name, Description: f.Description, Parameters: f.Parameters}})
	}
	for _, m := range conv {
		req.Messages = append(req.Messages, openai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content})
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
		msg, usage, err := p.call(ctx, req)
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

func (p *OpenAIPolicy) call(ctx context.Context, req openai.ChatCompletionRequest) (Message, Usage, error) {
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if p.cfg.Stream != nil {
		return p.stream(cctx, req)
	}
	resp, err := p.client.CreateChatCompletion(cctx, req)
	if err != nil {
		return Message{}, Usage{}, fmt.Errorf("chat completion: %w", err)
	}
	if len(resp.Choices) == 0 {
		return Message{}, Usage{}, errEmpty
	}
	u := Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens}
	return Message{Role: Assistant, Content: withCall(withStop(resp.Choices[0]), resp.Choices[0].Message.ToolCalls)}, u, nil
}

// withCall appends the first function call the model made as the json
// format's {"tool": ..., "args": ...} line, so the conversation stays plain
// text and the parser reads the call like one written in the message.
func withCall(content string, calls []openai.ToolCall) string {
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

// withStop restores the stop sequence the server cut off, so that the
// parser sees a closed <execute> block.
func withStop(c openai.ChatCompletionChoice) string {
	content := c.Message.Content
	if c.FinishReason == openai.FinishReasonStop && strings.Contains(content, "<execute>") && !strings.Contains(content[strings.LastIndex(content, "<execute>"):], "</execute>") {
		content += "</execute>"
	}
	return content
}

func (p *OpenAIPolicy) stream(ctx context.Context, req openai.ChatCompletionRequest) (Message, Usage, error) {
	req.Stream = true
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	s, err := p.client.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return Message{}, Usage{}, fmt.Errorf("chat completion stream: %w", err)
	}
	defer s.Close()
	var b strings.Builder
	var u Usage
	var calls []openai.ToolCall // assembled from the deltas, by index
	finish := openai.FinishReason("")
	got := false
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Message{}, Usage{}, fmt.Errorf("chat completion stream: %w", err)
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
					calls = append(calls, openai.ToolCall{})
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
	fmt.Fprintln(p.cfg.Stream)
	if !got {
		return Message{}, Usage{}, errEmpty
	}
	content := withStop(openai.ChatCompletionChoice{Message: openai.ChatCompletionMessage{Content: b.String()}, FinishReason: finish})
	full := withCall(content, calls)
	if call := strings.TrimPrefix(full, content); call != "" {
		fmt.Fprintln(p.cfg.Stream, strings.TrimLeft(call, "\n"))
	}
	return Message{Role: Assistant, Content: full}, u, nil
}

// retryable reports whether a failed call is worth another attempt.
func retryable(err error) bool {
	if errors.Is(err, errEmpty) {
		return true
	}
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode == http.StatusTooManyRequests || apiErr.HTTPStatusCode >= 500
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode == http.StatusTooManyRequests || reqErr.HTTPStatusCode >= 500
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true // the per-call timeout; the episode's context is checked separately
	}
	// Network errors and malformed bodies.
	return true
}
