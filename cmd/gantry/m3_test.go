package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/internal/testenv"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, *updateGolden, name, got)
}

// m3Section is the M3ToolEval table section of a report.md.
func m3Section(t *testing.T, dir string) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(md), "## M3ToolEval, as the CodeAct paper's table\n")
	if !ok {
		t.Fatalf("report.md has no M3ToolEval table:\n%s", md)
	}
	return sec
}

// TestEvalM3Expert: the expert on all 82 tasks in three formats, one
// command; the table (golden) has 82/82 in code and 68/82 in json and
// text, and the identity the harness's limits.
func TestEvalM3Expert(t *testing.T) {
	out := t.TempDir()
	text, err := runCLI(t, "", "eval", "--env", "m3tooleval", "--compare", "code,json,text", "--quiet", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, want := range []string{"expert/code/starlark: 82/82 won", "expert/json/starlark: 68/82 won", "expert/text/starlark: 68/82 won", "| **overall** (82) |"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	goldenFile(t, "m3table.md", []byte(m3Section(t, out)))
	rep := readReport(t, out)
	for _, v := range rep.Variants {
		if v.Run == nil || v.Run.MaxTurns != 10 || v.Run.MaxProposals != 10 || v.Run.PromptHash == "" {
			t.Errorf("%s: identity %+v", v.Name, v.Run)
		}
	}
	// The same command again resumes: nothing to play, the same table.
	if _, err := runCLI(t, "", "eval", "--env", "m3tooleval", "--compare", "code,json,text", "--quiet", "--out", out); err != nil {
		t.Fatal(err)
	}
}

// TestEvalM3Tasks: --tasks selects by regular expression; one that
// matches nothing is refused.
func TestEvalM3Tasks(t *testing.T) {
	out := t.TempDir()
	text, err := runCLI(t, "", "eval", "--env", "m3tooleval", "--tasks", "^trade_calculator/", "--quiet", "--out", out)
	if err != nil || !strings.Contains(text, "expert/code/starlark: 17/17 won") || strings.Contains(text, "web_browsing") {
		t.Fatalf("%v\n%s", err, text)
	}
	// A given flag wins over the harness's convention, and is recorded.
	out = t.TempDir()
	text, err = runCLI(t, "", "eval", "--env", "m3tooleval", "--tasks", "hex_caesar", "--format", "json", "--turns", "2", "--quiet", "--out", out)
	if err != nil || !strings.Contains(text, "expert/json/starlark: 0/1 won") {
		t.Fatalf("--turns 2: %v\n%s", err, text)
	}
	if v := readReport(t, out).Variants[0]; v.Run.MaxTurns != 2 || v.Run.Options["action-timeout"] != "30s" || v.Run.Options["stuck"] != "0" {
		t.Errorf("identity %+v", v.Run)
	}
	if _, err := runCLI(t, "", "eval", "--env", "m3tooleval", "--tasks", "^nothing$", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "matches none") {
		t.Fatalf("err %v", err)
	}
	if _, err := runCLI(t, "", "eval", "--env", "m3tooleval", "--policy", "replay", "--replay", "x", "--out", t.TempDir()); err == nil {
		t.Fatal("replay accepted")
	}
}

// TestRunM3: one episode by name (full or short), in each format; an
// unknown name is refused.
func TestRunM3(t *testing.T) {
	for _, f := range []string{"code", "json", "text"} {
		text, err := runCLI(t, "", "run", "--env", "m3tooleval", "--task", "hex_caesar_combined_decoding", "--format", f)
		if err != nil || !strings.Contains(text, "=== WON: message_decoder/hex_caesar_combined_decoding") ||
			!strings.Contains(text, "Instruction: Decode a message") || strings.Contains(text, "steps left") {
			t.Fatalf("%s: %v\n%s", f, err, text)
		}
	}
	// After a correct answer the harness sends nothing: the verdict is
	// printed instead of an empty observation.
	text, err := runCLI(t, "", "run", "--env", "m3tooleval", "--task", "plan_trip_to_0")
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "m3run.txt", []byte(text))
	tr := filepath.Join(t.TempDir(), "tr.jsonl")
	_, err = runCLI(t, "", "run", "--env", "m3tooleval", "--task", "message_decoder/maximum_value_decoding", "--format", "text", "--transcript", tr)
	if exitCode(err) != exitLost {
		t.Fatalf("not expressible: %v", err)
	}
	data, _ := os.ReadFile(tr)
	if !strings.Contains(string(data), "Answer: not expressible") || !strings.Contains(string(data), `"max_turns":10`) {
		t.Errorf("transcript:\n%s", data)
	}
	if _, err := runCLI(t, "", "run", "--env", "m3tooleval", "--task", "no_such_task"); err == nil || !strings.Contains(err.Error(), "no such M3ToolEval task") {
		t.Fatalf("err %v", err)
	}
}

// TestExecM3: a family's tools, fresh state, the harness's observation.
func TestExecM3(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.py")
	os.WriteFile(file, []byte("print(convert_currency(5000, 1.5))\n"), 0o644)
	text, err := runCLI(t, "", "exec", "--env", "m3tooleval:trade_calculator", file)
	if err != nil || text != "7500.0\n" {
		t.Fatalf("%v %q", err, text)
	}
	// The browser starts at "/" in every exec.
	for range 2 {
		text, err = runCLI(t, "click_url('/products')\nprint(scroll_down().split('\\n')[2])\n", "exec", "--env", "m3tooleval:web_browsing", "-")
		if err != nil || text != "[Viewing page 2 of 2]\n" {
			t.Fatalf("%v %q", err, text)
		}
	}
	text, err = runCLI(t, "print(undefined)\n", "exec", "--env", "m3tooleval:message_decoder", "-")
	if exitCode(err) != 1 || !strings.Contains(text, "undefined") {
		t.Fatalf("%v %q", err, text)
	}
	for _, env := range []string{"m3tooleval:nope", "alfworld"} {
		if _, err := runCLI(t, "", "exec", "--env", env, file); err == nil {
			t.Errorf("--env %s accepted", env)
		}
	}
	if _, err := runCLI(t, "", "exec", "--env", "m3tooleval:trade_calculator", "--tools", "alfworld", file); err == nil {
		t.Error("--env with --tools accepted")
	}
}

// m3Model is an OpenAI-compatible server that solves
// hex_caesar_combined_decoding in the format its prompt asks for, and
// records the requests.
type m3Model struct {
	mu   sync.Mutex
	reqs []map[string]any
}

func (m *m3Model) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/v1/models" {
		io.WriteString(w, `{"object":"list","data":[]}`)
		return
	}
	var req map[string]any
	json.Unmarshal(body, &req)
	m.mu.Lock()
	m.reqs = append(m.reqs, req)
	m.mu.Unlock()
	msgs, _ := req["messages"].([]any)
	first, _ := msgs[0].(map[string]any)["content"].(string)
	turn := (len(msgs) - 1) / 2
	var replies []string
	switch {
	case strings.Contains(first, "block of Python code"):
		replies = []string{"Thought: decode, then shift.\nAction:\nprint(caesar_decode(convert_hex_to_ascii('4d4f5252'), 2))\nEnd Action\nThought: it printed KMPP\nAnswer: KMPP", "Answer: KMPP"}
	case strings.Contains(first, "JSON object"):
		replies = []string{"I shall begin.", `Action: {"tool": "convert_hex_to_ascii", "args": ["4d4f5252"]} End Action`, `Action: {"tool": "caesar_decode", "args": ["MORR", 2]} End Action`, "Answer: KMPP"}
	default:
		replies = []string{"Action: convert_hex_to_ascii, 4d4f5252 End Action", "Action: caesar_decode, MORR, 2 End Action", "Answer: KMPQ", "Answer: KMPP"}
	}
	content, _ := json.Marshal(replies[min(turn, len(replies)-1)])
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, content)
}

// TestEvalM3FakeServer: eval --policy openai in three formats against a
// fake server: the table, with the paper's figures beside (the model's
// name matches), the post-processed replies in the transcripts, and the
// harness's sampling settings in the requests.
func TestEvalM3FakeServer(t *testing.T) {
	noKeys(t)
	m := &m3Model{}
	srv := httptest.NewServer(m)
	defer srv.Close()
	out := t.TempDir()
	text, err := runCLI(t, "", "eval", "--env", "m3tooleval", "--tasks", "hex_caesar", "--policy", "openai", "--model", "gpt-4-1106-preview",
		"--base-url", srv.URL+"/v1", "--compare", "code,json,text", "--quiet", "--workers", "1", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	sec := m3Section(t, out)
	for _, want := range []string{
		"| message_decoder (1) | 100.0% (1/1) | 2.0 | 100.0% (1/1) | 4.0 | 100.0% (1/1) | 4.0 |",
		"| CodeAct paper, gpt-4-1106-preview | 74.4% | 5.5 | 52.4% | 7.6 | 53.7% | 7.7 |",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("table lacks %q:\n%s", want, sec)
		}
	}
	if len(m.reqs) != 10 {
		t.Errorf("%d chat requests, want 10", len(m.reqs))
	}
	for _, r := range m.reqs {
		if r["max_tokens"] != float64(512) || r["stop"] != nil || (r["temperature"] != nil && r["temperature"] != float64(0)) {
			t.Errorf("request settings: max_tokens %v stop %v temperature %v", r["max_tokens"], r["stop"], r["temperature"])
		}
	}
	res, err := agent.ReadResults(filepath.Join(out, "transcripts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		tr := r.Transcript
		if tr.Format == "code" && tr.Messages[1].Content != "Thought: decode, then shift.\nAction:\nprint(caesar_decode(convert_hex_to_ascii('4d4f5252'), 2))\nEnd Action" {
			t.Errorf("code reply kept as %q", tr.Messages[1].Content)
		}
		if tr.Format == "json" && !strings.HasPrefix(tr.Messages[2].Content, "Invalid generation.") {
			t.Errorf("json: %q", tr.Messages[2].Content)
		}
		if tr.Format == "text" && !strings.HasPrefix(tr.Messages[6].Content, "Your answer is incorrect.") {
			t.Errorf("text: %q", tr.Messages[6].Content)
		}
	}
}

// TestPromptSourcesM3: the identity's prompt hash covers M3ToolEval's
// prompts.
func TestPromptSourcesM3(t *testing.T) {
	if a, b := agent.PromptHash(promptSources(envM3)...), agent.PromptHash(promptSources("alfworld")...); a == b || a == agent.PromptHash() {
		t.Errorf("m3tooleval prompt hash %s", a)
	}
}

// TestM3Python: exec and eval in the Python worker: the same results as
// in Starlark but for a tuple, which crosses as a list.
func TestM3Python(t *testing.T) {
	py := testenv.Python(t)
	testenv.LookPath(t, "bwrap")
	text, err := runCLI(t, "print(convert_currency(5000, 1.5))\nprint(calculator('7 % -3'))\n", "exec", "--env", "m3tooleval:trade_calculator", "--runtime", "python", "--python", py, "-")
	if err != nil || text != "7500.0\n-2\n" {
		t.Fatalf("%v %q", err, text)
	}
	out := t.TempDir()
	text, err = runCLI(t, "", "eval", "--env", "m3tooleval", "--tasks", "^(cryptobotanists|travel)", "--runtime", "python", "--python", py, "--quiet", "--workers", "1", "--out", out)
	if err != nil || !strings.Contains(text, "expert/code/python: 23/23 won") {
		t.Fatalf("%v\n%s", err, text)
	}
}
