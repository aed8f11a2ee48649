package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeModel is an OpenAI-compatible server: /models answers status
// models (200 unless set), chat completions answer fail (a status) or the
// reply, streamed when asked.
type fakeModel struct {
	mu     sync.Mutex
	models int
	fail   int
	reply  string
	chats  int
	names  map[string]int // requests per model name
	// onChat, when set, is called with each chat request's number (from
	// 1) before it is answered.
	onChat func(n int, r *http.Request)
}

func newFakeModel(t *testing.T) (*fakeModel, string) {
	t.Helper()
	m := &fakeModel{models: http.StatusOK, reply: "<execute>print(look())</execute>", names: map[string]int{}}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv.URL + "/v1"
}

func (m *fakeModel) set(fail int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = fail
}

func (m *fakeModel) requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.chats
}

func (m *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The whole body is read first, so that the server notices a client
	// that goes away (and cancels r's context).
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/v1/chat/completions" && m.onChat != nil {
		m.mu.Lock()
		n := m.chats + 1
		m.mu.Unlock()
		m.onChat(n, r)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.URL.Path {
	case "/v1/models":
		w.WriteHeader(m.models)
		io.WriteString(w, `{"object":"list","data":[]}`)
		return
	case "/v1/chat/completions":
	default:
		http.NotFound(w, r)
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	json.Unmarshal(body, &req)
	m.chats++
	m.names[req.Model]++
	if m.fail != 0 {
		w.WriteHeader(m.fail)
		io.WriteString(w, `{"error":{"message":"down","type":"server_error"}}`)
		return
	}
	content, _ := json.Marshal(m.reply)
	if req.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":\"stop\"}]}\n\n", content)
		io.WriteString(w, "data: [DONE]\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, content)
}

// deadURL is the address of a server that is gone.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// noKeys clears the environment a model configuration is read from.
func noKeys(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "GANTRY_API_KEY", "OPENAI_BASE_URL", "GANTRY_MODEL", "GANTRY_BASE_URL", "GANTRY_CONFIG"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return exitUsage
	}
	return exitOK
}

// TestRunChecksModelFirst: a missing model, a missing or refused key and a
// dead server fail before the prompt is printed, with exit status 3 (not
// 2, a lost episode), naming what to fix.
func TestRunChecksModelFirst(t *testing.T) {
	noKeys(t)
	refusing, refusingURL := newFakeModel(t)
	refusing.models = http.StatusUnauthorized
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"no model", nil, nil, exitUsage, []string{"no model given", "--model"}},
		{"no key for OpenAI", nil, []string{"--model", "gpt-4o"}, exitModel, []string{"no API key", "OPENAI_API_KEY", "GANTRY_API_KEY"}},
		{"key refused", map[string]string{"OPENAI_API_KEY": "sk-wrong"}, []string{"--model", "m", "--base-url", refusingURL},
			exitModel, []string{"refused the API key (401 Unauthorized)", "OPENAI_API_KEY", "GANTRY_API_KEY"}},
		{"key wanted", nil, []string{"--model", "m", "--base-url", refusingURL}, exitModel, []string{"wants an API key", "OPENAI_API_KEY"}},
		{"dead server", nil, []string{"--model", "m", "--base-url", deadURL(t)}, exitModel, []string{"is unreachable", "connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			out, err := runCLI(t, "", append([]string{"run", "--policy", "openai"}, tc.args...)...)
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit status %d (%v), want %d", code, err, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(out, "=== user ===") {
				t.Fatalf("the prompt was printed before failing:\n%.300s", out)
			}
		})
	}
	if refusing.requests() != 0 {
		t.Fatalf("%d chat requests sent", refusing.requests())
	}
}

// TestRunRetriesSaid: a retried model call is said on the terminal; an
// episode the model ends by failing exits with 3, a lost one with 2.
func TestRunRetriesSaid(t *testing.T) {
	noKeys(t)
	m, url := newFakeModel(t)
	m.set(http.StatusServiceUnavailable)
	out, err := runCLI(t, "", "run", "--policy", "openai", "--model", "m", "--base-url", url, "--turns", "1", "--retries", "1")
	if code := exitCode(err); code != exitModel || !strings.Contains(err.Error(), "the episode errored") {
		t.Fatalf("exit status %d (%v), want %d", code, err, exitModel)
	}
	if !strings.Contains(out, "retrying") || m.requests() != 2 {
		t.Fatalf("%d requests; output does not say it retries:\n%s", m.requests(), out)
	}
	// A key refused mid-episode (the model list is open) names the variables.
	m.set(http.StatusUnauthorized)
	_, err = runCLI(t, "", "run", "--policy", "openai", "--model", "m", "--base-url", url, "--turns", "1")
	if code := exitCode(err); code != exitModel || !strings.Contains(err.Error(), "OPENAI_API_KEY") || !strings.Contains(err.Error(), "GANTRY_API_KEY") {
		t.Fatalf("exit status %d (%v), want %d naming the key variables", code, err, exitModel)
	}
	m.set(0)
	dir := t.TempDir()
	tr := filepath.Join(dir, "t.jsonl")
	_, err = runCLI(t, "", "run", "--policy", "openai", "--model", "m", "--base-url", url, "--turns", "1", "--transcript", tr)
	if code := exitCode(err); code != exitLost {
		t.Fatalf("exit status %d (%v), want %d", code, err, exitLost)
	}
	data, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Run struct {
			Model   string `json:"model"`
			BaseURL string `json:"base_url"`
		} `json:"run"`
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &rec); err != nil || rec.ID == "" || rec.Run.Model != "m" || rec.Run.BaseURL != url {
		t.Fatalf("transcript lacks the run identity (%v): %.400s", err, data)
	}
}

// TestRunMINTConventions: a live run reads replies as MINT does unless
// --parse says otherwise: a fenced python block is not code, a trailing
// value shows as IPython's Out[N].
func TestRunMINTConventions(t *testing.T) {
	noKeys(t)
	tests := []struct {
		reply, parse, want string
	}{
		{"```python\nprint(look())\n```", "", "I don't understand your input."},
		{"```python\nprint(look())\n```", "lenient", "You are in the middle of a room"},
		{"<execute>look()</execute>", "", "Out[1]: 'You are in the middle of a room"},
	}
	for _, tc := range tests {
		m, url := newFakeModel(t)
		m.mu.Lock()
		m.reply = tc.reply
		m.mu.Unlock()
		args := []string{"run", "--policy", "openai", "--model", "m", "--base-url", url, "--turns", "1"}
		if tc.parse != "" {
			args = append(args, "--parse", tc.parse)
		}
		out, _ := runCLI(t, "", args...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("reply %q, --parse %q: output lacks %q:\n%s", tc.reply, tc.parse, tc.want, out)
		}
	}
}
