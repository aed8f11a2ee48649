package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBadInput sends each kind of bad request the API must refuse and
// checks the status, the error code, and that the server stays healthy.
func TestBadInput(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true, MaxBody: 64 << 10, MaxCode: 1 << 10, MaxBatch: 4})
	s := h.create("", map[string]any{"runtime": "starlark", "env": game()})
	sess := "/v1/sessions/" + s.ID
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"malformed JSON", "POST", "/v1/sessions", `{"runtime": "starlark",`, 400, "malformed_json"},
		{"not JSON", "POST", sess + "/exec", `print(1)`, 400, "malformed_json"},
		{"empty body", "POST", sess + "/exec", ``, 400, "malformed_json"},
		{"trailing data", "POST", sess + "/step", `{"command": "look"} {}`, 400, "malformed_json"},
		{"wrong type", "POST", sess + "/exec", `{"code": 42}`, 400, "wrong_type"},
		{"wrong nested type", "POST", "/v1/sessions", `{"env": {"seed": "seven"}}`, 400, "wrong_type"},
		{"unknown field", "POST", "/v1/sessions", `{"runtime": "starlark", "gpu": true}`, 400, "unknown_field"},
		{"unknown runtime", "POST", "/v1/sessions", `{"runtime": "ruby"}`, 400, "bad_runtime"},
		{"unknown environment", "POST", "/v1/sessions", `{"env": {"kind": "minecraft"}}`, 400, "bad_env"},
		{"unknown game", "POST", "/v1/sessions", `{"env": {"game": "no/such/game"}}`, 400, "bad_env"},
		{"max_steps out of range", "POST", "/v1/sessions", `{"env": {"max_steps": -1}}`, 400, "bad_env"},
		{"unknown session", "POST", "/v1/sessions/s-nosuchsession/exec", `{"code": "1"}`, 404, "unknown_session"},
		{"unknown session delete", "DELETE", "/v1/sessions/s-nosuchsession", nil, 404, "unknown_session"},
		{"oversized body", "POST", sess + "/exec", `{"code": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "body_too_large"},
		{"code over the size limit", "POST", sess + "/exec", map[string]any{"code": strings.Repeat("#", 2<<10)}, 413, "code_too_large"},
		{"command too long", "POST", sess + "/step", map[string]any{"command": strings.Repeat("go ", 400)}, 400, "command_too_long"},
		{"batch too large", "POST", "/v1/batch/step", map[string]any{"steps": make([]map[string]string, 5)}, 413, "batch_too_large"},
		{"unknown endpoint", "GET", "/v2/everything", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if got := r.errCode(t); got != tt.code {
				t.Fatalf("code %q, want %q: %s", got, tt.code, r.body)
			}
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	// A cross-origin browser request is refused.
	req, _ := http.NewRequest("POST", h.ts.URL+"/v1/sessions", strings.NewReader(`{"runtime": "none"}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := readAll(resp)
	h.check("POST", "/v1/sessions", resp, body)
	if r := (response{status: resp.StatusCode, body: body}); r.status != 403 || r.errCode(t) != "cross_origin" {
		t.Fatalf("cross-origin: %d %s", r.status, body)
	}
	// Still healthy, and the session still works.
	if r := h.do("GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	var ex ExecResult
	h.do("POST", sess+"/exec", map[string]any{"code": "print('fine')"}).decode(t, &ex)
	if ex.Stdout != "fine\n" {
		t.Fatalf("after bad input: %+v", ex)
	}
}

// actionEvents records the start and end of actions through the test hook.
type actionEvents struct {
	started chan string // session ids
	ended   chan string // outcomes
}

func withEvents(cfg Config) (Config, *actionEvents) {
	ev := &actionEvents{started: make(chan string, 16), ended: make(chan string, 16)}
	cfg.onAction = func(session, kind, outcome string) {
		if outcome == "" {
			ev.started <- session
		} else {
			ev.ended <- outcome
		}
	}
	return cfg, ev
}

// TestBusy checks that a second action on a busy session gets 409 and that
// e-stop interrupts the first.
func TestBusy(t *testing.T) {
	cfg, ev := withEvents(Config{ActionTimeout: time.Hour})
	h := newHarness(t, cfg)
	s := h.create("", map[string]any{"env": game()})
	sess := "/v1/sessions/" + s.ID
	done := make(chan response, 1)
	go func() { done <- h.do("POST", sess+"/exec", map[string]any{"code": "while True:\n    pass"}) }()
	<-ev.started
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"POST", sess + "/exec", map[string]any{"code": "1"}},
		{"POST", sess + "/step", map[string]any{"command": "look"}},
		{"POST", sess + "/reset", nil},
		{"GET", sess, nil},
	} {
		r := h.do(tt.method, tt.path, tt.body)
		if r.status != http.StatusConflict || r.errCode(t) != "session_busy" {
			t.Fatalf("%s %s during an action: %d %s", tt.method, tt.path, r.status, r.body)
		}
	}
	// The batch reports the busy session in its item.
	var b struct{ Results []BatchItem }
	h.do("POST", "/v1/batch/step", map[string]any{"steps": []map[string]string{{"session": s.ID, "command": "look"}}}).decode(t, &b)
	if len(b.Results) != 1 || b.Results[0].Error == nil || b.Results[0].Error.Code != "session_busy" {
		t.Fatalf("batch: %+v", b)
	}
	var stopped struct{ Stopped int }
	h.do("POST", "/v1/estop", nil).decode(t, &stopped)
	if stopped.Stopped != 1 {
		t.Fatalf("estop stopped %d", stopped.Stopped)
	}
	r := <-done
	var ex ExecResult
	r.decode(t, &ex)
	if r.status != 200 || ex.Exception == nil {
		t.Fatalf("interrupted action: %d %s", r.status, r.body)
	}
	if o := <-ev.ended; o != "cancelled" {
		t.Fatalf("outcome %q", o)
	}
	h.do("POST", sess+"/exec", map[string]any{"code": "print(2)"}).decode(t, &ex)
	if ex.Stdout != "2\n" {
		t.Fatalf("after e-stop: %+v", ex)
	}
}

// TestClientDisconnect checks that a client going away cancels its action.
func TestClientDisconnect(t *testing.T) {
	cfg, ev := withEvents(Config{ActionTimeout: time.Hour})
	h := newHarness(t, cfg)
	s := h.create("", map[string]any{"env": game()})
	sess := "/v1/sessions/" + s.ID
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", h.ts.URL+sess+"/exec", strings.NewReader(`{"code": "while True:\n    pass"}`))
		resp, err := h.ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-ev.started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v", err)
	}
	if o := <-ev.ended; o != "cancelled" {
		t.Fatalf("outcome %q, want cancelled", o)
	}
	var ex ExecResult
	if r := h.do("POST", sess+"/exec", map[string]any{"code": "print(3)"}); r.status != 200 {
		t.Fatalf("after disconnect: %d %s", r.status, r.body)
	} else {
		r.decode(t, &ex)
	}
	if ex.Stdout != "3\n" {
		t.Fatalf("after disconnect: %+v", ex)
	}
}

// TestExpiry checks idle expiry with a clock the test moves.
func TestExpiry(t *testing.T) {
	var mu = make(chan time.Time, 1)
	mu <- time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { t := <-mu; mu <- t; return t }
	advance := func(d time.Duration) { t := <-mu; mu <- t.Add(d) }
	h := newHarness(t, Config{NoIsolate: true, IdleTimeout: time.Minute, now: now})
	a := h.create("", map[string]any{"runtime": "none", "env": game()})
	b := h.create("", map[string]any{"runtime": "none", "env": game()})
	advance(50 * time.Second)
	h.do("POST", "/v1/sessions/"+b.ID+"/step", map[string]any{"command": "look"}) // b is used
	advance(20 * time.Second)
	r := h.do("POST", "/v1/sessions/"+a.ID+"/step", map[string]any{"command": "look"})
	if r.status != http.StatusGone || r.errCode(t) != "session_expired" {
		t.Fatalf("expired session: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/v1/sessions/"+b.ID+"/step", map[string]any{"command": "look"}); r.status != 200 {
		t.Fatalf("used session: %d %s", r.status, r.body)
	}
	advance(2 * time.Minute)
	if n := h.srv.Sweep(); n != 1 {
		t.Fatalf("sweep ended %d sessions, want 1", n)
	}
	if r := h.do("GET", "/v1/sessions/"+b.ID, nil); r.status != http.StatusGone {
		t.Fatalf("swept session: %d %s", r.status, r.body)
	}
	if n := h.srv.sessionCount(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// TestLimits checks the session limit and draining.
func TestLimits(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true, MaxSessions: 2})
	h.create("", map[string]any{"runtime": "none"})
	s := h.create("", map[string]any{"runtime": "none"})
	r := h.do("POST", "/v1/sessions", map[string]any{"runtime": "none"})
	if r.status != http.StatusTooManyRequests || r.errCode(t) != "too_many_sessions" {
		t.Fatalf("third session: %d %s", r.status, r.body)
	}
	h.do("DELETE", "/v1/sessions/"+s.ID, nil)
	h.create("", map[string]any{"runtime": "none"})

	h.srv.BeginDrain()
	if r := h.do("GET", "/readyz", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d", r.status)
	}
	if r := h.do("GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("healthz while draining: %d", r.status)
	}
	h.do("DELETE", "/v1/sessions/"+s.ID, nil)
	r = h.do("POST", "/v1/sessions", map[string]any{"runtime": "none"})
	if r.status != http.StatusServiceUnavailable || r.errCode(t) != "draining" {
		t.Fatalf("create while draining: %d %s", r.status, r.body)
	}
}

func TestBatch(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	a := h.create("", map[string]any{"runtime": "none", "env": game()})
	b := h.create("", map[string]any{"runtime": "none", "env": game()})
	var out struct{ Results []BatchItem }
	r := h.do("POST", "/v1/batch/step", map[string]any{"admissible": true, "steps": []map[string]string{
		{"session": a.ID, "command": "go to desk 1"},
		{"session": "s-gone", "command": "look"},
		{"session": b.ID, "command": "go to shelf 1"},
		{"session": a.ID, "command": "take pencil 1 from desk 1"},
	}})
	r.decode(t, &out)
	if len(out.Results) != 4 {
		t.Fatalf("batch: %s", r.body)
	}
	if res := out.Results[0]; res.Session != a.ID || res.StepResult == nil || !strings.HasPrefix(res.Observation, "You arrive at loc") || len(res.Admissible) == 0 {
		t.Errorf("first: %+v", res)
	}
	if res := out.Results[1]; res.Error == nil || res.Error.Code != "unknown_session" {
		t.Errorf("second: %+v", res)
	}
	if res := out.Results[3]; res.StepResult == nil || res.Observation != "You pick up the pencil 1 from the desk 1." || res.Steps != 2 {
		t.Errorf("fourth: %+v", res.StepResult)
	}
}
