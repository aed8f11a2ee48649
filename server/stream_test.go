package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data []byte
}

// sseStream reads the events of a streamed answer one at a time, as they
// arrive.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
	raw  bytes.Buffer // everything read, to validate the whole answer
}

// startStream sends a streamed exec and returns the answer once its header
// has arrived; the body is read event by event.
func (h *harness) startStream(ctx context.Context, session, code string) (*http.Response, *sseStream) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code})
	req, err := http.NewRequestWithContext(ctx, "POST", h.ts.URL+"/v1/sessions/"+session+"/exec", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatalf("streamed exec: %v", err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	s := &sseStream{t: h.t, resp: resp}
	s.r = bufio.NewReader(io.TeeReader(resp.Body, &s.raw))
	return resp, s
}

// next reads the next event; ok is false at the end of the stream.
func (s *sseStream) next() (ev sseEvent, ok bool) {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err == io.EOF && line == "" {
			if ev.name != "" {
				s.t.Fatalf("stream ended inside event %q", ev.name)
			}
			return ev, false
		}
		if err != nil {
			s.t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name == "" {
				s.t.Fatalf("an empty event")
			}
			return ev, true
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if ev.data != nil {
				s.t.Fatalf("event %s: two data lines", ev.name)
			}
			ev.data = []byte(line[len("data: "):])
		default:
			s.t.Fatalf("unexpected line %q", line)
		}
	}
}

// checkJSON validates the data of an event against the OpenAPI document as
// the JSON answer of path with the status.
func (h *harness) checkJSON(method, path string, status int, data []byte) {
	h.t.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}}
	h.check(method, path, resp, data)
}

// rest reads the events up to the end: the stdout texts, concatenated, and
// the last event, which must be the only result or error.
func (s *sseStream) rest(h *harness, path string) (stdout string, last sseEvent) {
	s.t.Helper()
	var out strings.Builder
	for {
		ev, ok := s.next()
		if !ok {
			break
		}
		if last.name != "" {
			s.t.Fatalf("event %s after the %s event", ev.name, last.name)
		}
		switch ev.name {
		case "stdout":
			var c struct{ Text string }
			if err := json.Unmarshal(ev.data, &c); err != nil || c.Text == "" {
				s.t.Fatalf("stdout event %s: %v", ev.data, err)
			}
			out.WriteString(c.Text)
		case "result":
			h.checkJSON("POST", path, 200, ev.data)
			last = ev
		case "error":
			h.checkJSON("POST", path, 503, ev.data)
			last = ev
		default:
			s.t.Fatalf("unknown event %q", ev.name)
		}
	}
	if last.name == "" {
		s.t.Fatal("the stream ended without a result or error event")
	}
	h.check("POST", path, s.resp, s.raw.Bytes())
	return out.String(), last
}

// streamRuntimes are the runtimes streamed actions are tested in.
func streamRuntimes(t *testing.T) []struct {
	name, runtime string
	cfg           Config
} {
	return []struct {
		name, runtime string
		cfg           Config
	}{
		{"starlark-in-process", "starlark", Config{NoIsolate: true}},
		{"starlark-isolated", "starlark", Config{}},
		{"python", "python", Config{}},
	}
}

// TestStreamExec checks that a streamed action's output arrives while the
// action still runs: the code prints and then waits until the test stops
// it, which it does only after it read the output.
func TestStreamExec(t *testing.T) {
	for _, rt := range streamRuntimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			cfg := rt.cfg
			cfg.ActionTimeout = time.Hour
			if rt.runtime == "python" {
				cfg.Python = python(t)
			}
			h := newHarness(t, cfg)
			s := h.create("", map[string]any{"runtime": rt.runtime, "env": game()})
			path := "/v1/sessions/" + s.ID + "/exec"

			resp, st := h.startStream(context.Background(), s.ID, "import time\nprint('first')\ntime.sleep(3600)\nprint('never')")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("answer: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			ev, ok := st.next()
			if !ok || ev.name != "stdout" || string(ev.data) != `{"text":"first\n"}` {
				t.Fatalf("first event: %s %s", ev.name, ev.data)
			}
			// The action is still running: only the test ends it.
			var stopped struct{ Stopped int }
			h.do("POST", "/v1/estop", nil).decode(t, &stopped)
			if stopped.Stopped != 1 {
				t.Fatalf("e-stop stopped %d actions, want the running one", stopped.Stopped)
			}
			more, last := st.rest(h, path)
			var res ExecResult
			if err := json.Unmarshal(last.data, &res); err != nil || last.name != "result" {
				t.Fatalf("last event %s %s: %v", last.name, last.data, err)
			}
			if more != "" || res.Stdout != "first\n" || res.Exception == nil || res.Exception.Type != "KeyboardInterrupt" {
				t.Fatalf("after e-stop: more output %q, result %s", more, last.data)
			}

			// Output and tool calls interleaved: the events carry all of
			// it, in order, and the result is the plain exec's.
			code := "for r in ['desk 1', 'shelf 1']:\n    print('->', r)\n    print(goto(r))\nprint('done')\n41 + 1"
			_, st = h.startStream(context.Background(), s.ID, code)
			out, last := st.rest(h, path)
			res = ExecResult{}
			if err := json.Unmarshal(last.data, &res); err != nil || last.name != "result" {
				t.Fatalf("last event %s %s: %v", last.name, last.data, err)
			}
			if out != res.Stdout || !strings.HasPrefix(out, "-> desk 1\nOn the desk 1, you see") || !strings.HasSuffix(out, "done\n") || res.Value != "42" {
				t.Fatalf("streamed %q, result %s", out, last.data)
			}
			// An action that prints nothing: the result alone.
			_, st = h.startStream(context.Background(), s.ID, "x = 1")
			if out, last := st.rest(h, path); out != "" || last.name != "result" {
				t.Fatalf("silent action: %q %s", out, last.name)
			}
		})
	}
}

// TestStreamDisconnect checks that a client that goes away mid-stream
// cancels its action.
func TestStreamDisconnect(t *testing.T) {
	for _, rt := range streamRuntimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			cfg, ev := withEvents(rt.cfg)
			cfg.ActionTimeout = time.Hour
			if rt.runtime == "python" {
				cfg.Python = python(t)
			}
			h := newHarness(t, cfg)
			s := h.create("", map[string]any{"runtime": rt.runtime, "env": game()})
			ctx, cancel := context.WithCancel(context.Background())
			_, st := h.startStream(ctx, s.ID, "import time\nprint('waiting')\ntime.sleep(3600)")
			if e, ok := st.next(); !ok || e.name != "stdout" {
				t.Fatalf("first event: %s %s", e.name, e.data)
			}
			<-ev.started
			cancel()
			if outcome := <-ev.ended; outcome != "cancelled" {
				t.Fatalf("outcome %q, want cancelled", outcome)
			}
			// The session is free again.
			var res ExecResult
			r := h.do("POST", "/v1/sessions/"+s.ID+"/exec", map[string]any{"code": "print('after')"})
			r.decode(t, &res)
			if r.status != 200 || res.Stdout != "after\n" {
				t.Fatalf("after the disconnect: %d %s", r.status, r.body)
			}
		})
	}
}

// TestStreamRefused checks that a streamed exec refused before its action
// starts gets the plain JSON error.
func TestStreamRefused(t *testing.T) {
	cfg, ev := withEvents(Config{NoIsolate: true, ActionTimeout: time.Hour, MaxCode: 64})
	h := newHarness(t, cfg)
	s := h.create("", map[string]any{"runtime": "starlark", "env": game()})
	none := h.create("", map[string]any{"runtime": "none", "env": game()})
	busy := h.create("", map[string]any{"runtime": "starlark", "env": game()})
	_, running := h.startStream(context.Background(), busy.ID, "import time\nprint(1)\ntime.sleep(3600)")
	if e, ok := running.next(); !ok || e.name != "stdout" {
		t.Fatalf("first event: %s", e.name)
	}
	<-ev.started
	tests := []struct {
		name, session, code string
		status              int
		errCode             string
	}{
		{"unknown session", "s-nope", "1", 404, "unknown_session"},
		{"no runtime", none.ID, "1", 400, "no_runtime"},
		{"code too large", s.ID, strings.Repeat("#", 65), 413, "code_too_large"},
		{"busy", busy.ID, "1", 409, "session_busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := h.startStream(context.Background(), tt.session, tt.code)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			h.check("POST", "/v1/sessions/"+tt.session+"/exec", resp, body)
			r := response{status: resp.StatusCode, header: resp.Header, body: body}
			if r.status != tt.status || resp.Header.Get("Content-Type") != "application/json" || r.errCode(t) != tt.errCode {
				t.Fatalf("%d %s %s", r.status, resp.Header.Get("Content-Type"), body)
			}
		})
	}
	h.do("POST", "/v1/estop", nil)
	if _, last := running.rest(h, "/v1/sessions/"+busy.ID+"/exec"); last.name != "result" {
		t.Fatalf("last event %s", last.name)
	}
}

func TestWantsStream(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", false},
		{"text/event-stream", true},
		{"application/json, text/event-stream;q=0.5", true},
		{"text/event-stream;q=0", false},
		{"*/*", false},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Accept", tt.accept)
		if got := wantsStream(r); got != tt.want {
			t.Errorf("Accept %q: %t, want %t", tt.accept, got, tt.want)
		}
	}
}

// FuzzWantsStream checks the Accept header's reading: it never panics, and
// only a header naming text/event-stream asks for a stream.
func FuzzWantsStream(f *testing.F) {
	for _, s := range []string{"", "text/event-stream", "application/json, text/event-stream;q=0.5", "text/event-stream;q=0", "text/event-stream;;;", "*/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Accept", accept)
		if wantsStream(r) && !strings.Contains(strings.ToLower(accept), "text/event-stream") {
			t.Fatalf("Accept %q asks for a stream", accept)
		}
	})
}

// failingRuntime prints, then fails as a runtime whose worker cannot be
// restarted does.
type failingRuntime struct{}

func (failingRuntime) Exec(ctx context.Context, code string) (tool.Result, error) {
	if out := tool.OutputOf(ctx); out != nil {
		out("partial\n")
	}
	return tool.Result{}, errors.New("the worker is gone")
}

func (failingRuntime) Close() error { return nil }

// TestStreamError checks that a runtime failing after the stream began ends
// it with an error event.
func TestStreamError(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	env, err := h.srv.envs.make(EnvSpec{Kind: "alfworld", Game: testGame})
	if err != nil {
		t.Fatal(err)
	}
	env.Reset()
	ss := &session{id: "s-failing", runtime: "starlark", created: time.Now(), env: env, rt: failingRuntime{}}
	ss.lastUsed.Store(time.Now().UnixNano())
	h.srv.mu.Lock()
	h.srv.sessions[ss.id] = ss
	h.srv.mu.Unlock()

	_, st := h.startStream(context.Background(), ss.id, "print('partial')")
	out, last := st.rest(h, "/v1/sessions/"+ss.id+"/exec")
	var e errorBody
	if err := json.Unmarshal(last.data, &e); err != nil || last.name != "error" || out != "partial\n" ||
		e.Error.Code != "runtime_failed" || !strings.Contains(e.Error.Message, "the worker is gone") || e.Error.RequestID == "" {
		t.Fatalf("output %q, last event %s %s", out, last.name, last.data)
	}
	// The plain exec answers the same failure with a 503.
	r := h.do("POST", "/v1/sessions/"+ss.id+"/exec", map[string]any{"code": "1"})
	if r.status != 503 || r.errCode(t) != "runtime_failed" {
		t.Fatalf("plain exec: %d %s", r.status, r.body)
	}
}
