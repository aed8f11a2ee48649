package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gantry-dev/gantry/m3tooleval"
)

func m3Task(t *testing.T, name string) m3tooleval.Task {
	t.Helper()
	task, ok := m3tooleval.Lookup(name)
	if !ok {
		t.Fatalf("no task %s", name)
	}
	return task
}

// TestM3Session plays M3ToolEval tasks through the API: the harness's
// prompt, the task's tools, the expert's program, a wrong and a right
// answer.
func TestM3Session(t *testing.T) {
	tests := []struct {
		name, task, full, runtime string
		cfg                       Config
	}{
		{"by name, isolated", "web_browsing/price_of_legendary_wand", "web_browsing/price_of_legendary_wand", "starlark", Config{}},
		{"by last part, in process", "full_alien_message_decoding", "message_decoder/full_alien_message_decoding", "starlark", Config{NoIsolate: true}},
		{"travel, python", "travel_itinerary_planning/plan_trip_to_0", "travel_itinerary_planning/plan_trip_to_0", "python", Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.runtime == "python" {
				cfg.Python = python(t)
			}
			h := newHarness(t, cfg)
			task := m3Task(t, tt.full)
			s := h.create("", map[string]any{"runtime": tt.runtime, "env": map[string]any{"kind": "m3tooleval", "task": tt.task}})
			if s.Env.Kind != "m3tooleval" || s.Env.Game != tt.full || s.Env.Task != task.Instruction || s.Env.Format != "code" ||
				s.Observation != task.Prompt(m3tooleval.Code) || s.Done || s.Steps != 0 {
				t.Fatalf("session: %+v", s)
			}
			base := "/v1/sessions/" + s.ID

			var tl ToolList
			h.do("GET", base+"/tools", nil).decode(t, &tl)
			var names []string
			for _, x := range tl.Tools {
				names = append(names, x.Name)
			}
			for _, spec := range task.Tools {
				if spec.Name != "max" && spec.Name != "min" && !slices.Contains(names, spec.Name) {
					t.Errorf("tool %s missing from %v", spec.Name, names)
				}
				if !strings.Contains(tl.Prompt, "] "+spec.Name+": "+spec.Description+"\n    Signature: "+spec.Signature+"\n") {
					t.Errorf("the prompt's listing lacks %s:\n%s", spec.Name, tl.Prompt)
				}
			}
			if !strings.Contains(s.Observation, tl.Prompt) {
				t.Errorf("the listing is not the prompt's:\n%s", tl.Prompt)
			}

			prog, err := m3tooleval.ExpertProgram(task)
			if err != nil {
				t.Fatal(err)
			}
			var ex ExecResult
			r := h.do("POST", base+"/exec", map[string]any{"code": prog})
			r.decode(t, &ex)
			if r.status != 200 || ex.Exception != nil || ex.Stdout == "" {
				t.Fatalf("expert program: %d %s", r.status, r.body)
			}

			var a AnswerResult
			r = h.do("POST", base+"/answer", map[string]any{"answer": "certainly not this"})
			r.decode(t, &a)
			if r.status != 200 || a.Correct || a.Observation != m3tooleval.MsgWrongAnswer || a.Done || a.Won || a.Steps != 1 {
				t.Fatalf("wrong answer: %d %s", r.status, r.body)
			}
			r = h.do("POST", base+"/answer", map[string]any{"answer": strings.TrimSpace(ex.Stdout)})
			r.decode(t, &a)
			if r.status != 200 || !a.Correct || a.Observation != "" || !a.Done || !a.Won || a.Reward != 1 || a.Steps != 2 {
				t.Fatalf("right answer %q: %d %s", ex.Stdout, r.status, r.body)
			}
			var got SessionInfo
			h.do("GET", base, nil).decode(t, &got)
			if !got.Won || !got.Done {
				t.Fatalf("state after the answer: %+v", got)
			}
			// Reset: a new episode.
			var st StepResult
			h.do("POST", base+"/reset", nil).decode(t, &st)
			if st.Done || st.Won || st.Steps != 0 || st.Observation != task.Prompt(m3tooleval.Code) {
				t.Fatalf("reset: %+v", st)
			}
		})
	}
}

// TestM3FreshState checks that each session, and each episode, has its
// own tool state (the web browser's page).
func TestM3FreshState(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	env := map[string]any{"kind": "m3tooleval", "task": "web_browsing/price_of_legendary_wand"}
	a := h.create("", map[string]any{"env": env})
	b := h.create("", map[string]any{"env": env})
	page := func(id string) string {
		t.Helper()
		var ex ExecResult
		h.do("POST", "/v1/sessions/"+id+"/exec", map[string]any{"code": "print(view())"}).decode(t, &ex)
		return ex.Stdout
	}
	var ex ExecResult
	h.do("POST", "/v1/sessions/"+a.ID+"/exec", map[string]any{"code": "click_url('/about')"}).decode(t, &ex)
	if ex.Exception != nil {
		t.Fatalf("click_url: %+v", ex.Exception)
	}
	if p := page(a.ID); !strings.Contains(p, "[Web Page Name: /about]") {
		t.Fatalf("a after click: %s", p)
	}
	if p := page(b.ID); !strings.Contains(p, "[Web Page Name: /]") {
		t.Fatalf("b shares a's browser: %s", p)
	}
	h.do("POST", "/v1/sessions/"+a.ID+"/reset", nil)
	if p := page(a.ID); !strings.Contains(p, "[Web Page Name: /]") {
		t.Fatalf("a after reset: %s", p)
	}
}

// TestM3Step takes the harness's json and text actions through /step.
func TestM3Step(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	task := m3Task(t, "message_decoder/full_alien_message_decoding")
	tests := []struct {
		format, action, want string
	}{
		{"text", "reverse_string, abc", "cba"},
		{"json", `{"tool": "reverse_string", "args": ["abc"]}`, "cba"},
		{"text", "no_such_tool", "Cound not find tool with name no_such_tool"},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.action, func(t *testing.T) {
			s := h.create("", map[string]any{"runtime": "none", "env": map[string]any{"kind": "m3tooleval", "task": task.Name, "format": tt.format}})
			f, _ := m3tooleval.ParseFormat(tt.format)
			if s.Observation != task.Prompt(f) || s.Env.Format != tt.format {
				t.Fatalf("prompt of format %s: %.200q", tt.format, s.Observation)
			}
			var st StepResult
			r := h.do("POST", "/v1/sessions/"+s.ID+"/step", map[string]any{"command": tt.action})
			r.decode(t, &st)
			if r.status != 200 || st.Observation != tt.want || st.Steps != 1 || st.Done {
				t.Fatalf("step: %d %s", r.status, r.body)
			}
		})
	}
}

// TestM3BadInput checks the refusals of M3ToolEval sessions.
func TestM3BadInput(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true, Tokens: testTokens(t)})
	alf := h.create("carol-0123456789abcdef", map[string]any{"runtime": "none", "env": map[string]any{"kind": "m3tooleval", "task": "full_alien_message_decoding"}})
	_ = alf
	alice := h.create(aliceSecret, map[string]any{"runtime": "none", "env": game()})
	m3 := map[string]any{"kind": "m3tooleval", "task": "full_alien_message_decoding"}
	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
		code                      string
	}{
		{"unknown task", "carol-0123456789abcdef", "POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "m3tooleval", "task": "no/such_task"}}, 400, "bad_env"},
		{"no task", "carol-0123456789abcdef", "POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "m3tooleval"}}, 400, "bad_env"},
		{"ambiguous task", "carol-0123456789abcdef", "POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "m3tooleval", "task": "plan"}}, 400, "bad_env"},
		{"bad format", "carol-0123456789abcdef", "POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "m3tooleval", "task": "full_alien_message_decoding", "format": "yaml"}}, 400, "bad_env"},
		{"game on m3tooleval", "carol-0123456789abcdef", "POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "m3tooleval", "task": "full_alien_message_decoding", "game": testGame}}, 400, "bad_env"},
		{"task on alfworld", aliceSecret, "POST", "/v1/sessions", map[string]any{"runtime": "none", "env": map[string]any{"task": "full_alien_message_decoding"}}, 400, "bad_env"},
		{"token may not", aliceSecret, "POST", "/v1/sessions", map[string]any{"runtime": "none", "env": m3}, 403, "forbidden"},
		{"task wrong type", "carol-0123456789abcdef", "POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "m3tooleval", "task": 7}}, 400, "wrong_type"},
		{"answer on alfworld", aliceSecret, "POST", "/v1/sessions/" + alice.ID + "/answer", map[string]any{"answer": "x"}, 400, "no_answer"},
		{"answer malformed", "carol-0123456789abcdef", "POST", "/v1/sessions/" + alf.ID + "/answer", `{"answer": `, 400, "malformed_json"},
		{"answer wrong type", "carol-0123456789abcdef", "POST", "/v1/sessions/" + alf.ID + "/answer", map[string]any{"answer": 42}, 400, "wrong_type"},
		{"answer unknown field", "carol-0123456789abcdef", "POST", "/v1/sessions/" + alf.ID + "/answer", map[string]any{"answer": "x", "final": true}, 400, "unknown_field"},
		{"answer too long", "carol-0123456789abcdef", "POST", "/v1/sessions/" + alf.ID + "/answer", map[string]any{"answer": strings.Repeat("x", maxAnswer+1)}, 400, "answer_too_long"},
		{"answer other token's session", aliceSecret, "POST", "/v1/sessions/" + alf.ID + "/answer", map[string]any{"answer": "x"}, 404, "unknown_session"},
		{"answer no token", "", "POST", "/v1/sessions/" + alf.ID + "/answer", map[string]any{"answer": "x"}, 401, "no_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.raw(t.Context(), tt.token, tt.method, tt.path, tt.body)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	if r := h.raw(t.Context(), "", "GET", "/healthz", nil); r.status != http.StatusOK {
		t.Fatalf("server unhealthy after bad input: %d", r.status)
	}
}

// TestM3MCPDescription checks that run_code lists an M3ToolEval task's
// tools when MCP sessions play one.
func TestM3MCPDescription(t *testing.T) {
	srv, err := New(Config{NoIsolate: true, MCP: MCPConfig{Env: EnvSpec{Kind: "m3tooleval", Task: "web_browsing/price_of_legendary_wand"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	d := srv.mcp.runCodeDescription()
	for _, want := range []string{"[1] click_url: ", "    Signature: click_url(url: str) -> str\n", "view(", "calculator("} {
		if !strings.Contains(d, want) {
			t.Errorf("run_code's description lacks %s:\n%s", want, d)
		}
	}
}

// TestM3PythonPool checks that with MCP sessions on an M3ToolEval task the
// Python pool's workers carry that task's tools and serve its sessions.
func TestM3PythonPool(t *testing.T) {
	const name = "web_browsing/price_of_legendary_wand"
	cfg := Config{Python: python(t), PythonPool: 1, MCP: MCPConfig{Env: EnvSpec{Kind: "m3tooleval", Task: name}}}
	filled := make(chan struct{}, 4)
	cfg.onPoolFill = func() { filled <- struct{}{} }
	h := newHarness(t, cfg)
	<-filled
	s := h.create("", map[string]any{"runtime": "python", "env": map[string]any{"kind": "m3tooleval", "task": name}})
	<-filled // the pool replaced the worker the session took
	var ex ExecResult
	h.do("POST", "/v1/sessions/"+s.ID+"/exec", map[string]any{"code": "click_url('/products')\nprint(view())"}).decode(t, &ex)
	if ex.Exception != nil || !strings.Contains(ex.Stdout, "[Web Page Name: /products]") {
		t.Fatalf("pooled python exec: %+v", ex)
	}
}

// TestM3MCPBadTask checks that a server whose MCP sessions would play an
// unknown task does not start.
func TestM3MCPBadTask(t *testing.T) {
	_, err := New(Config{MCP: MCPConfig{Env: EnvSpec{Kind: "m3tooleval", Task: "no/such_task"}}})
	if !errors.Is(err, errBadEnv) || !strings.Contains(err.Error(), `no M3ToolEval task "no/such_task"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestM3MCP plays an M3ToolEval task over MCP (the Go SDK's client): the
// tools in run_code's description, code calling them, and the answer tool.
func TestM3MCP(t *testing.T) {
	srv, err := New(Config{NoIsolate: true, MCP: MCPConfig{Env: EnvSpec{Kind: "m3tooleval", Task: "full_alien_message_decoding"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ct, st := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeStdio(ctx, st)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
		if tl.Name == "run_code" && !strings.Contains(tl.Description, "Signature: reverse_string(string: str) -> str") {
			t.Errorf("run_code's description lacks the task's tools:\n%s", tl.Description)
		}
	}
	if strings.Join(names, ",") != "answer,estop,reset,run_code" {
		t.Fatalf("tools: %v", names)
	}
	tests := []struct {
		tool    string
		args    map[string]any
		text    string
		isError bool
	}{
		{"run_code", map[string]any{"code": "print(reverse_string(convert_hex_to_ascii('7a686b7a686d666d686b')))"}, "khmfmhzkhz", false},
		{"answer", map[string]any{"answer": "khmfmhzkhz"}, m3tooleval.MsgWrongAnswer, true},
		{"answer", map[string]any{"answer": "fchahcufcu"}, "Correct: the task is solved.", false},
	}
	for _, tt := range tests {
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tt.tool, Arguments: tt.args})
		if err != nil {
			t.Fatal(err)
		}
		if got := textOf(t, r); got != tt.text || r.IsError != tt.isError {
			t.Fatalf("%s %v: %q (error %t), want %q", tt.tool, tt.args, got, r.IsError, tt.text)
		}
	}
}
