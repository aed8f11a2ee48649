package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox/isolate"
)

// workerEnv makes the test binary a Starlark worker (see TestMain).
const workerEnv = "GANTRY_SERVER_TEST_WORKER"

// TestMain lets the test binary serve as the isolated Starlark worker the
// server starts for each session.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := isolate.ServeWorker(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(mcpEnv) == "1" {
		if err := serveStdioForTest(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testGame is an embedded game the tests play.
const testGame = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"

// harness is a server on a loopback port and an OpenAPI validator that
// checks every response the tests read.
type harness struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
	v   validator.Validator
	log *testenv.Buffer
}

// workerConfig makes the server start this test binary as its Starlark
// workers.
func workerConfig(t testing.TB, cfg Config) Config {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.WorkerCommand = []string{exe}
	cfg.WorkerEnv = []string{workerEnv + "=1"}
	return cfg
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, log: &testenv.Buffer{}}
	cfg = workerConfig(t, cfg)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		h.ts.Close()
		srv.Close()
	})
	doc, err := libopenapi.NewDocument(openAPIDoc)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi.json: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.json: %s", e.Message)
		}
		t.FailNow()
	}
	h.v = v
	return h
}

// response is an answer as the tests read it.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errCode is the code of an error answer.
func (r response) errCode(t testing.TB) string {
	var e errorBody
	r.decode(t, &e)
	if e.Error.Message == "" {
		t.Errorf("error without a message: %s", r.body)
	}
	return e.Error.Code
}

// raw sends a request with body as given (a string, or JSON of any other
// value) and checks the response against the OpenAPI document.
func (h *harness) raw(ctx context.Context, token, method, path string, body any) response {
	h.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, h.ts.URL+path, bytes.NewReader(data))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	h.check(method, path, resp, out)
	return response{status: resp.StatusCode, header: resp.Header, body: out}
}

// check validates a response against the OpenAPI document.
func (h *harness) check(method, path string, resp *http.Response, body []byte) {
	h.t.Helper()
	if path == "/mcp" {
		return
	}
	if strings.HasPrefix(path, "/v2/") {
		// Outside the document by design: the body must still be an error.
		var e errorBody
		if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			h.t.Errorf("%s %s: not a JSON error: %s", method, path, body)
		}
		return
	}
	vreq, _ := http.NewRequest(method, "http://gantry"+path, nil)
	vresp := *resp
	vresp.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := h.v.ValidateHttpResponse(vreq, &vresp); !ok {
		for _, e := range errs {
			h.t.Errorf("%s %s → %d does not match openapi.json: %s (%s) %v\n%s", method, path, resp.StatusCode,
				e.Message, e.Reason, e.SchemaValidationErrors, body)
		}
	}
}

func (h *harness) do(method, path string, body any) response {
	h.t.Helper()
	return h.raw(context.Background(), "", method, path, body)
}

// create makes a session and returns its description.
func (h *harness) create(token string, req map[string]any) SessionInfo {
	h.t.Helper()
	r := h.raw(context.Background(), token, "POST", "/v1/sessions", req)
	if r.status != http.StatusCreated {
		h.t.Fatalf("create %v: %d %s", req, r.status, r.body)
	}
	var s SessionInfo
	r.decode(h.t, &s)
	return s
}

func game() map[string]any { return map[string]any{"game": testGame} }

func TestSessionLifecycle(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.create("", map[string]any{"runtime": "starlark", "env": game()})
	if s.Env.Game != testGame || s.Env.Task != "put a pencil in shelf." || !strings.Contains(s.Observation, "Your task is to: put a pencil in shelf.") {
		t.Fatalf("session: %+v", s)
	}
	base := "/v1/sessions/" + s.ID

	// A code action: output, state kept, tools act on the game.
	var ex ExecResult
	r := h.do("POST", base+"/exec", map[string]any{"code": "n = 41\nprint(goto('shelf 1'))"})
	r.decode(t, &ex)
	if r.status != 200 || !strings.Contains(ex.Stdout, "On the shelf 1, you see a keychain 2.") || ex.Exception != nil || ex.Steps != 1 {
		t.Fatalf("exec: %d %s", r.status, r.body)
	}
	r = h.do("POST", base+"/exec", map[string]any{"code": "n + 1"})
	r.decode(t, &ex)
	if ex.Value != "42" || ex.Observation != "42" {
		t.Fatalf("state not kept: %s", r.body)
	}
	// An exception is a result with its type and traceback.
	ex = ExecResult{}
	r = h.do("POST", base+"/exec", map[string]any{"code": "x = 1\ny = x / 0"})
	r.decode(t, &ex)
	if r.status != 200 || ex.Exception == nil || ex.Exception.Type != "ZeroDivisionError" || ex.Exception.Line != 2 ||
		!strings.Contains(ex.Exception.Traceback, "Traceback (most recent call last)") {
		t.Fatalf("exception: %d %s", r.status, r.body)
	}

	// A plain step, with the admissible commands.
	var st StepResult
	r = h.do("POST", base+"/step", map[string]any{"command": "go to desk 1", "admissible": true})
	r.decode(t, &st)
	if !strings.HasPrefix(st.Observation, "You arrive at loc") || st.Steps != 2 || len(st.Admissible) == 0 {
		t.Fatalf("step: %s", r.body)
	}
	// Reset: a new episode, variables kept.
	st = StepResult{}
	r = h.do("POST", base+"/reset", nil)
	r.decode(t, &st)
	if st.Steps != 0 || !strings.Contains(st.Observation, "Welcome to TextWorld") || st.Admissible != nil {
		t.Fatalf("reset: %s", r.body)
	}
	r = h.do("POST", base+"/exec", map[string]any{"code": "n"})
	r.decode(t, &ex)
	if ex.Value != "41" {
		t.Fatalf("reset lost the variables: %s", r.body)
	}

	// Tools: signatures and JSON Schemas.
	var tl ToolList
	h.do("GET", base+"/tools", nil).decode(t, &tl)
	found := false
	for _, tt := range tl.Tools {
		if tt.Name == "goto" {
			found = true
			if tt.Signature != "goto(receptacle: str) -> str" || tt.Schema["type"] != "object" {
				t.Errorf("goto: %+v", tt)
			}
		}
	}
	if !found || !strings.Contains(tl.Prompt, "goto(") {
		t.Fatalf("tools: %+v", tl)
	}

	var got SessionInfo
	h.do("GET", base, nil).decode(t, &got)
	if got.ID != s.ID || got.Steps != 0 {
		t.Fatalf("get: %+v", got)
	}
	var list struct{ Sessions []SessionInfo }
	h.do("GET", "/v1/sessions", nil).decode(t, &list)
	if len(list.Sessions) != 1 {
		t.Fatalf("list: %+v", list)
	}

	if r := h.do("DELETE", base, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.do("GET", base, nil); r.status != 404 || r.errCode(t) != "unknown_session" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
}

func TestWinAndGeneratedGame(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	s := h.create("", map[string]any{"runtime": "none", "env": map[string]any{"seed": 7}})
	if s.Env.Seed != 7 || !strings.Contains(s.Env.Game, "trial_G7") {
		t.Fatalf("generated game: %+v", s.Env)
	}
	// The embedded game won by its expert plan.
	s = h.create("", map[string]any{"runtime": "none", "env": game()})
	var last StepResult
	for _, c := range []string{"go to desk 1", "take pencil 1 from desk 1", "go to shelf 1", "put pencil 1 in/on shelf 1"} {
		h.do("POST", "/v1/sessions/"+s.ID+"/step", map[string]any{"command": c}).decode(t, &last)
	}
	if !last.Won || !last.Done || last.Reward != 1 {
		t.Fatalf("not won: %+v", last)
	}
	if r := h.do("POST", "/v1/sessions/"+s.ID+"/exec", map[string]any{"code": "1"}); r.status != 400 || r.errCode(t) != "no_runtime" {
		t.Fatalf("exec without runtime: %d %s", r.status, r.body)
	}
}
