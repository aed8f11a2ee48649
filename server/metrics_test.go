package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// gauge reads a metric's value (the first series, or the sum of all).
func gauge(t *testing.T, h *harness, name string) float64 {
	t.Helper()
	mfs, err := h.srv.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
		for _, m := range mf.GetMetric() {
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	return 0
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	s := h.create("", map[string]any{"runtime": "starlark", "env": game()})
	sess := "/v1/sessions/" + s.ID
	h.do("POST", sess+"/exec", map[string]any{"code": "print(goto('shelf 1'))"})
	h.do("POST", sess+"/exec", map[string]any{"code": "goto()"})
	h.do("POST", sess+"/exec", map[string]any{"code": "1/0"})
	h.do("POST", sess+"/step", map[string]any{"command": "look"})
	h.do("POST", "/v1/sessions/s-none/step", map[string]any{"command": "look"})

	r := h.do("GET", "/metrics", nil)
	if r.status != 200 {
		t.Fatalf("metrics: %d", r.status)
	}
	text := string(r.body)
	for _, want := range []string{
		`gantry_sessions{runtime="starlark"} 1`,
		`gantry_sessions_created_total{runtime="starlark"} 1`,
		`gantry_actions_total{kind="exec",outcome="ok",runtime="starlark"} 1`,
		`gantry_actions_total{kind="exec",outcome="error",runtime="starlark"} 2`,
		`gantry_actions_total{kind="step",outcome="ok",runtime="starlark"} 1`,
		`gantry_action_seconds_count{kind="exec",runtime="starlark"} 3`,
		`gantry_tool_calls_total{outcome="ok",tool="goto"} 1`,
		`gantry_refusals_total{reason="unknown_session"} 1`,
		`gantry_http_requests_total{code="404",route="POST /v1/sessions/{id}/step"} 1`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestRequestID(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"client's id kept", "trace-42", true},
		{"none: a new one", "", false},
		{"too long: a new one", strings.Repeat("x", 65), false},
		{"not printable: a new one", "a\tb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), "GET", h.ts.URL+"/v1/sessions/s-x", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			resp, err := h.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := readAll(resp)
			got := resp.Header.Get("X-Request-Id")
			if (got == tt.sent) != tt.kept || got == "" {
				t.Fatalf("X-Request-Id %q (sent %q)", got, tt.sent)
			}
			var e errorBody
			response{body: body}.decode(t, &e)
			if e.Error.RequestID != got {
				t.Fatalf("error's request_id %q, header %q", e.Error.RequestID, got)
			}
			if !strings.Contains(h.log.String(), `"request_id":"`+got+`"`) {
				t.Fatalf("no log line with request id %s", got)
			}
		})
	}
}
