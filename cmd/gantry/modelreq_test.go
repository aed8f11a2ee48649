package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/agent"
)

// recordingModel is a chat completions server that answers every request
// with one streamed reply and keeps the request bodies.
type recordingModel struct {
	mu     sync.Mutex
	reply  string
	bodies []map[string]any
	raw    []string
}

func (m *recordingModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.bodies = append(m.bodies, body)
	m.raw = append(m.raw, string(data))
	m.mu.Unlock()
	if body["stream"] == true {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", m.reply)
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3}}`, m.reply)
}

// TestModelRequestFlags: the requests gantry run and gantry eval send, as a
// real HTTP server receives them: MINT's stop sequences in every format
// unless --stop says otherwise, temperature 0 sent explicitly, MINT's
// max_tokens.
func TestModelRequestFlags(t *testing.T) {
	mint := []any{"\nObservation:", "\nExpert feedback:", "\nTask:", "\n---"}
	tests := []struct {
		name  string
		args  []string
		stop  []any // nil: no "stop" key
		temp  float64
		inOut string // what the terminal must show
	}{
		{"code", []string{"run", "--format", "code"}, mint, 0, ""},
		{"json", []string{"run", "--format", "json"}, mint, 0, ""},
		{"text", []string{"run", "--format", "text"}, mint, 0, ""},
		{"eval", []string{"eval", "--limit", "1", "--quiet"}, mint, 0, ""},
		{"chosen stop sequences", []string{"run", "--stop", "</execute>", "--stop", `\n\nDone`}, []any{"</execute>", "\n\nDone"}, 0, "<execute>look()\n</execute>\n"},
		{"no stop sequences", []string{"run", "--stop", "none", "--temperature", "0.5"}, nil, 0.5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &recordingModel{reply: "<execute>look()\n"}
			srv := httptest.NewServer(m)
			defer srv.Close()
			args := append(tc.args, "--policy", "openai", "--base-url", srv.URL+"/v1", "--model", "m", "--turns", "1")
			if tc.args[0] == "eval" {
				args = append(args, "--out", t.TempDir())
			}
			out, _ := runCLI(t, "", args...)
			srv.Close()
			m.mu.Lock()
			defer m.mu.Unlock()
			if len(m.bodies) != 1 {
				t.Fatalf("%d requests; output:\n%s", len(m.bodies), out)
			}
			body := m.bodies[0]
			if stop, ok := body["stop"]; tc.stop == nil && ok || tc.stop != nil && !reflect.DeepEqual(stop, tc.stop) {
				t.Errorf("stop %#v, want %#v", body["stop"], tc.stop)
			}
			if temp, ok := body["temperature"].(float64); !ok || temp != tc.temp {
				t.Errorf("temperature %#v, want %v sent explicitly; body %s", body["temperature"], tc.temp, m.raw[0])
			}
			if body["max_tokens"] != float64(agent.MINTMaxTokens) {
				t.Errorf("max_tokens %#v", body["max_tokens"])
			}
			if tc.inOut != "" && !strings.Contains(out, tc.inOut) {
				t.Errorf("the terminal does not show %q:\n%s", tc.inOut, out)
			}
		})
	}
}

func TestStopSequences(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, agent.MINTStop()},
		{[]string{"none"}, nil},
		{[]string{"</execute>"}, []string{"</execute>"}},
		{[]string{`\nObservation:`, `a\\nb`, `\t`}, []string{"\nObservation:", `a\nb`, "\t"}},
	} {
		if got := stopSequences(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("stopSequences(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestModelTimeoutDefault: the default --model-timeout fits a model served
// on a CPU.
func TestModelTimeoutDefault(t *testing.T) {
	f := newRunCmd().Flags().Lookup("model-timeout")
	if f == nil || f.DefValue != agent.DefaultModelTimeout.String() {
		t.Fatalf("--model-timeout default %v", f)
	}
}
