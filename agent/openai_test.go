package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// fakeServer speaks the chat completions API; each request gets the next
// scripted reply.
type fakeServer struct {
	mu      sync.Mutex
	replies []func(w http.ResponseWriter, r *http.Request)
	calls   int
	last    map[string]any
	bodies  [][]byte // every request body, as sent
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(data, &body)
	s.mu.Lock()
	s.last = body
	s.bodies = append(s.bodies, data)
	i := s.calls
	s.calls++
	s.mu.Unlock()
	if i >= len(s.replies) {
		http.Error(w, `{"error":{"message":"no more replies"}}`, http.StatusInternalServerError)
		return
	}
	s.replies[i](w, r)
}

// count is the number of requests so far.
func (s *fakeServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func completion(content string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`, content)
	}
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"status %d","type":"server_error"}}`, code)
	}
}

func raw(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
}

func stream(parts ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, p := range parts {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", p)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func slow(d time.Duration) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		completion("late")(w, r)
	}
}

func TestOpenAIPolicy(t *testing.T) {
	conv := []Message{{Role: User, Content: "Task: say hi"}}
	tests := []struct {
		name    string
		replies []func(http.ResponseWriter, *http.Request)
		stream  bool
		want    string
		wantErr string
		calls   int
		tokens  int
	}{
		{"ok", []func(http.ResponseWriter, *http.Request){completion("<execute>print('hi')</execute>")}, false, "<execute>print('hi')</execute>", "", 1, 18},
		{"stop sequence restored", []func(http.ResponseWriter, *http.Request){completion("<execute>print('hi')\n")}, false, "<execute>print('hi')\n</execute>", "", 1, 18},
		{"429 then ok", []func(http.ResponseWriter, *http.Request){status(429), completion("hi")}, false, "hi", "", 2, 18},
		{"500s then ok", []func(http.ResponseWriter, *http.Request){status(500), status(503), completion("hi")}, false, "hi", "", 3, 18},
		{"500s exhaust retries", []func(http.ResponseWriter, *http.Request){status(500), status(500), status(500), status(500)}, false, "", "500", 4, 0},
		{"401 not retried", []func(http.ResponseWriter, *http.Request){status(401), completion("hi")}, false, "", "401", 1, 0},
		{"empty choices then ok", []func(http.ResponseWriter, *http.Request){raw(`{"choices":[]}`), completion("hi")}, false, "hi", "", 2, 18},
		{"malformed then ok", []func(http.ResponseWriter, *http.Request){raw(`{"choices":[{`), completion("hi")}, false, "hi", "", 2, 18},
		{"streaming", []func(http.ResponseWriter, *http.Request){stream("<execute>", "print(1)", "</execute>")}, true, "<execute>print(1)</execute>", "", 1, 8},
		{"streaming, stop sequence restored and shown", []func(http.ResponseWriter, *http.Request){stream("<execute>", "print(1)\n")}, true, "<execute>print(1)\n</execute>", "", 1, 8},
		{"error inside a stream", []func(http.ResponseWriter, *http.Request){raw("data: {\"error\":{\"message\":\"context full\"}}\n\n")}, true, "", "context full", 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeServer{replies: tc.replies}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			var streamed bytes.Buffer
			cfg := OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "test", Model: "m", Retries: 3, Backoff: time.Millisecond,
				Timeout: time.Minute, Stop: []string{"</execute>"}}
			if tc.stream {
				cfg.Stream = &streamed
			}
			p, err := NewOpenAIPolicy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			msg, usage, err := p.Next(context.Background(), conv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if msg.Content != tc.want || fs.calls != tc.calls || usage.PromptTokens+usage.CompletionTokens != tc.tokens {
				t.Fatalf("got %q after %d calls, %d tokens; want %q after %d calls, %d tokens", msg.Content, fs.calls, usage.PromptTokens+usage.CompletionTokens, tc.want, tc.calls, tc.tokens)
			}
			if tc.stream && tc.wantErr == "" && streamed.String() != tc.want+"\n" {
				t.Fatalf("streamed %q, want %q", streamed.String(), tc.want+"\n")
			}
			if fs.last["model"] != "m" {
				t.Fatalf("request: %v", fs.last)
			}
		})
	}
}

// TestOpenAIEpisodeError: a server that keeps failing ends the episode with
// the error in the transcript, not a crash or a hang.
func TestOpenAIEpisodeError(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{})
	defer srv.Close()
	p, err := NewOpenAIPolicy(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Retries: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ep := &Episode{Prompt: "task", Policy: p, Config: Config{MaxTurns: 3}}
	tr, err := ep.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != StopError || !strings.Contains(tr.Error, "policy") || len(tr.Turns) != 1 {
		t.Fatalf("stop %s, error %q, %d turns", tr.StopReason, tr.Error, len(tr.Turns))
	}
}

func toolCallReply(name, args string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"<thought>go</thought>","tool_calls":[{"id":"t1","type":"function","function":{"name":%q,"arguments":%q}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":11,"completion_tokens":7}}`, name, args)
	}
}

func streamToolCall(name string, argParts ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":%q,\"arguments\":\"\"}}]}}]}\n\n", name)
		for _, p := range argParts {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":%q}}]}}]}\n\n", p)
		}
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

// TestOpenAIFunctionCalls: in json format the tools are offered as
// functions, and a function call the model makes (whole or streamed in
// pieces) becomes an action the json parser reads.
func TestOpenAIFunctionCalls(t *testing.T) {
	fns := []tool.Function{{Name: "goto", Description: "Go to a location.", Parameters: map[string]any{"type": "object",
		"properties": map[string]any{"receptacle": map[string]any{"type": "string"}}, "required": []string{"receptacle"}}},
		{Name: "rover__drive", Description: "Drive.", Parameters: map[string]any{"type": "object"}}}
	tests := []struct {
		name   string
		reply  func(http.ResponseWriter, *http.Request)
		stream bool
		tool   string
		code   string
	}{
		{"call", toolCallReply("goto", `{"receptacle": "desk 1"}`), false, "goto", "goto(receptacle='desk 1')"},
		{"dotted name", toolCallReply("rover__drive", `{"speed": 0.5}`), false, "rover.drive", "rover.drive(speed=0.5)"},
		{"no arguments", toolCallReply("look", ``), false, "look", "look()"},
		{"streamed call", streamToolCall("goto", `{"recep`, `tacle": "shelf 2"}`), true, "goto", "goto(receptacle='shelf 2')"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeServer{replies: []func(http.ResponseWriter, *http.Request){tc.reply}}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			cfg := OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Backoff: time.Millisecond, Functions: fns}
			var streamed bytes.Buffer
			if tc.stream {
				cfg.Stream = &streamed
			}
			p, err := NewOpenAIPolicy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			msg, _, err := p.Next(context.Background(), []Message{{Role: User, Content: "go"}})
			if err != nil {
				t.Fatal(err)
			}
			a := ParseAction(msg.Content, JSON)
			if a.Kind != ActExecute || a.Tool != tc.tool || a.Code != tc.code {
				t.Fatalf("message %q parsed as %+v", msg.Content, a)
			}
			if tc.stream && !strings.Contains(streamed.String(), `{"tool": "goto", "args": {"receptacle": "shelf 2"}}`) {
				t.Fatalf("the call was not shown on the stream: %q", streamed.String())
			}
			tools, _ := fs.last["tools"].([]any)
			if len(tools) != 2 {
				t.Fatalf("request offered %d tools: %v", len(tools), fs.last["tools"])
			}
			if fn := tools[0].(map[string]any)["function"].(map[string]any); fn["name"] != "goto" || fn["parameters"] == nil {
				t.Fatalf("function %v", fn)
			}
		})
	}
}

// TestOpenAITimeoutNotRetried: a call that runs out of its timeout ends
// with a TimeoutError naming the flag; it is not started again from scratch.
func TestOpenAITimeoutNotRetried(t *testing.T) {
	fs := &fakeServer{replies: []func(http.ResponseWriter, *http.Request){slow(time.Hour), completion("hi")}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	p, err := NewOpenAIPolicy(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Retries: 3, Backoff: time.Millisecond, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Next(context.Background(), []Message{{Role: User, Content: "hi"}})
	var te *TimeoutError
	if !errors.As(err, &te) || te.After != 50*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a TimeoutError", err)
	}
	if want := "the model did not answer within 50ms (raise --model-timeout); not retried"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	srv.Close() // waits for the handler of the abandoned call
	if n := fs.count(); n != 1 {
		t.Fatalf("%d calls, want 1 (no retry)", n)
	}
}

// TestOpenAIDefaultTimeout: without a timeout, a call may take as long as a
// model served on a CPU needs (224 s for one reply was measured).
func TestOpenAIDefaultTimeout(t *testing.T) {
	p, err := NewOpenAIPolicy(OpenAIConfig{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Timeout != DefaultModelTimeout || DefaultModelTimeout < 2*224*time.Second {
		t.Fatalf("default timeout %s", p.cfg.Timeout)
	}
}

// TestOpenAIRequestBody checks the bytes a real HTTP server receives for
// each convention: MINT's (temperature 0 sent explicitly, max_tokens 512,
// MINT's four stop sequences), stop sequences a user chose, none, a
// non-zero temperature, and streaming.
func TestOpenAIRequestBody(t *testing.T) {
	conv := []Message{{Role: User, Content: "Task: say hi"}, {Role: Assistant, Content: "<execute>print('hi')</execute>"}, {Role: User, Content: "Observation:\nhi\n"}}
	msgs := `"messages":[{"role":"user","content":"Task: say hi"},{"role":"assistant","content":"\u003cexecute\u003eprint('hi')\u003c/execute\u003e"},{"role":"user","content":"Observation:\nhi\n"}]`
	tests := []struct {
		name string
		cfg  OpenAIConfig
		want string
	}{
		{"MINT", OpenAIConfig{Model: "m", MaxTokens: MINTMaxTokens, Stop: MINTStop()},
			`{"model":"m",` + msgs + `,"max_tokens":512,"temperature":0,"stop":["\nObservation:","\nExpert feedback:","\nTask:","\n---"]}`},
		{"chosen stop sequences", OpenAIConfig{Model: "m", MaxTokens: 512, Stop: []string{"</execute>"}},
			`{"model":"m",` + msgs + `,"max_tokens":512,"temperature":0,"stop":["\u003c/execute\u003e"]}`},
		{"no stop sequences, server's max tokens", OpenAIConfig{Model: "m"},
			`{"model":"m",` + msgs + `,"temperature":0}`},
		{"temperature", OpenAIConfig{Model: "m", Temperature: 0.7, Stop: MINTStop()},
			`{"model":"m",` + msgs + `,"temperature":0.7,"stop":["\nObservation:","\nExpert feedback:","\nTask:","\n---"]}`},
		{"streaming", OpenAIConfig{Model: "m", MaxTokens: 512, Stop: MINTStop(), Stream: io.Discard},
			`{"model":"m",` + msgs + `,"max_tokens":512,"temperature":0,"stop":["\nObservation:","\nExpert feedback:","\nTask:","\n---"],"stream":true,"stream_options":{"include_usage":true}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply := completion("hi")
			if tc.cfg.Stream != nil {
				reply = stream("hi")
			}
			fs := &fakeServer{replies: []func(http.ResponseWriter, *http.Request){reply}}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			tc.cfg.BaseURL = srv.URL + "/v1/"
			p, err := NewOpenAIPolicy(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.Next(context.Background(), conv); err != nil {
				t.Fatal(err)
			}
			if len(fs.bodies) != 1 || string(fs.bodies[0]) != tc.want {
				t.Fatalf("request body\n%s\nwant\n%s", fs.bodies, tc.want)
			}
		})
	}
}

// TestOpenAIStopRestoredOnlyWhenSent: "</execute>" is restored only when it
// was one of the stop sequences; with MINT's an unclosed block stays as the
// model wrote it (MINT did not repair it).
func TestOpenAIStopRestoredOnlyWhenSent(t *testing.T) {
	for _, tc := range []struct {
		stop []string
		want string
	}{
		{[]string{"</execute>"}, "<execute>print(1)\n</execute>"},
		{MINTStop(), "<execute>print(1)\n"},
		{nil, "<execute>print(1)\n"},
	} {
		fs := &fakeServer{replies: []func(http.ResponseWriter, *http.Request){completion("<execute>print(1)\n")}}
		srv := httptest.NewServer(fs)
		p, err := NewOpenAIPolicy(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Stop: tc.stop})
		if err != nil {
			t.Fatal(err)
		}
		msg, _, err := p.Next(context.Background(), []Message{{Role: User, Content: "go"}})
		srv.Close()
		if err != nil || msg.Content != tc.want {
			t.Fatalf("stop %q: got %q, %v; want %q", tc.stop, msg.Content, err, tc.want)
		}
	}
}

// TestOpenAIUnauthorized: a 401 names the variables the key comes from and
// is not retried.
func TestOpenAIUnauthorized(t *testing.T) {
	fs := &fakeServer{replies: []func(http.ResponseWriter, *http.Request){status(401)}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	p, err := NewOpenAIPolicy(OpenAIConfig{BaseURL: srv.URL + "/v1", Model: "m", Retries: 2, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Next(context.Background(), []Message{{Role: User, Content: "go"}})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || !strings.Contains(err.Error(), "OPENAI_API_KEY") || fs.calls != 1 {
		t.Fatalf("got %v after %d calls", err, fs.calls)
	}
}
