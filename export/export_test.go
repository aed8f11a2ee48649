package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/tool"
)

// turn kinds of the episodes built below.
const (
	ok      = "ok"      // code that ran
	raised  = "raised"  // code that raised an error
	invalid = "invalid" // a reply without an action
	solve   = "solve"   // a proposed solution
)

// episode builds a transcript whose turns are of the given kinds.
func episode(id string, success bool, stop string, kinds ...string) Episode {
	tr := &agent.Transcript{ID: id, TaskType: "pick_and_place_simple", Success: success, StopReason: stop,
		Messages: []agent.Message{{Role: agent.User, Content: "Task: put a mug in the desk. Tools: goto(receptacle)"}}}
	if stop == agent.StopError {
		tr.Error = "policy: status 500"
	}
	for i, k := range kinds {
		t := agent.Turn{Index: i, Assistant: k + " reply"}
		obs := "You arrive at desk 1."
		switch k {
		case ok:
			t.Action = agent.Action{Kind: agent.ActExecute, Code: "goto('desk 1')"}
			t.Result = &tool.Result{Stdout: obs}
		case raised:
			t.Action = agent.Action{Kind: agent.ActExecute, Code: "gto('desk 1')"}
			t.Result = &tool.Result{Err: &tool.CodeError{Type: "NameError", Message: "name 'gto' is not defined"}}
			obs = "NameError: name 'gto' is not defined"
		case invalid:
			t.Action = agent.Action{Kind: agent.ActNone, Problem: "no action"}
			obs = "I don't understand your input."
		case solve:
			t.Action = agent.Action{Kind: agent.ActSolution, Solution: "done"}
			obs = "Your answer is correct."
		}
		t.Observation = obs
		tr.Turns = append(tr.Turns, t)
		tr.Messages = append(tr.Messages, agent.Message{Role: agent.Assistant, Content: t.Assistant},
			agent.Message{Role: agent.User, Content: "Observation:\n" + obs + "\n"})
	}
	return Episode{Env: "alfworld", Variant: "openai/code/starlark", Game: id, Transcript: tr}
}

func episodes() []Episode {
	return []Episode{
		episode("clean-win", true, agent.StopSuccess, ok, ok),
		episode("recovered-win", true, agent.StopSuccess, ok, raised, ok),
		episode("invalid-then-solution", true, agent.StopSuccess, invalid, solve),
		episode("error-at-the-end", true, agent.StopSuccess, ok, raised),
		episode("recovered-loss", false, agent.StopTurns, raised, ok),
		episode("loss", false, agent.StopTurns, ok, ok),
		episode("errored", false, agent.StopError, raised, ok),
	}
}

func TestWriterFilters(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
		c    Counts
	}{
		{"default: successes", Options{}, []string{"clean-win", "recovered-win", "invalid-then-solution", "error-at-the-end"},
			Counts{Read: 7, Errored: 1, Lost: 2, NoRecovery: 2, Written: 4}},
		{"require recovery", Options{RequireRecovery: true}, []string{"recovered-win", "invalid-then-solution"},
			Counts{Read: 7, Errored: 1, Lost: 2, NoRecovery: 2, Written: 2}},
		{"all", Options{All: true}, []string{"clean-win", "recovered-win", "invalid-then-solution", "error-at-the-end", "recovered-loss", "loss"},
			Counts{Read: 7, Errored: 1, Lost: 2, NoRecovery: 3, Written: 6}},
		{"all, require recovery", Options{All: true, RequireRecovery: true}, []string{"recovered-win", "invalid-then-solution", "recovered-loss"},
			Counts{Read: 7, Errored: 1, Lost: 2, NoRecovery: 3, Written: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = ShareGPT
			var buf bytes.Buffer
			x, err := NewWriter(&buf, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, ep := range episodes() {
				if err := x.Write(ep); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var r struct{ ID string }
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				got = append(got, strings.TrimPrefix(r.ID, "openai/code/starlark/"))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("wrote %q, want %q", got, tc.want)
			}
			if c := *x.Summary().ByEnv["alfworld"]; c != tc.c {
				t.Errorf("counts %+v, want %+v", c, tc.c)
			}
		})
	}
}

// TestFormats: each format's record of one episode, byte for byte. The
// observation that follows the model's last reply is left out.
func TestFormats(t *testing.T) {
	ep := episode("g1", true, agent.StopSuccess, raised, ok)
	tests := map[Format]string{
		OpenAI: `{"messages":[{"role":"user","content":"Task: put a mug in the desk. Tools: goto(receptacle)"},{"role":"assistant","content":"raised reply"},` +
			`{"role":"user","content":"Observation:\nNameError: name 'gto' is not defined\n"},{"role":"assistant","content":"ok reply"}]}` + "\n",
		ShareGPT: `{"id":"openai/code/starlark/g1","conversations":[{"from":"human","value":"Task: put a mug in the desk. Tools: goto(receptacle)"},{"from":"gpt","value":"raised reply"},` +
			`{"from":"human","value":"Observation:\nNameError: name 'gto' is not defined\n"},{"from":"gpt","value":"ok reply"}]}` + "\n",
	}
	for f, want := range tests {
		var buf bytes.Buffer
		x, err := NewWriter(&buf, Options{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Write(ep); err != nil {
			t.Fatal(err)
		}
		if buf.String() != want {
			t.Errorf("%s:\n%s\nwant\n%s", f, buf.String(), want)
		}
	}
	if _, err := NewWriter(nil, Options{Format: "alpaca"}); err == nil || !strings.Contains(err.Error(), "openai or sharegpt") {
		t.Errorf("unknown format: %v", err)
	}
}

// TestSystemKept: a system message stays first, in both formats.
func TestSystemKept(t *testing.T) {
	ep := episode("g1", true, agent.StopSuccess, ok)
	ep.Transcript.Messages = append([]agent.Message{{Role: agent.System, Content: "You are a helpful assistant."}}, ep.Transcript.Messages...)
	for f, want := range map[Format]string{OpenAI: `{"messages":[{"role":"system","content":"You are a helpful assistant."},`,
		ShareGPT: `{"id":"openai/code/starlark/g1","conversations":[{"from":"system","value":"You are a helpful assistant."},`} {
		var buf bytes.Buffer
		x, _ := NewWriter(&buf, Options{Format: f})
		if err := x.Write(ep); err != nil || !strings.HasPrefix(buf.String(), want) {
			t.Errorf("%s: %v %s", f, err, buf.String())
		}
	}
}

func TestParseLine(t *testing.T) {
	tr := `{"id":"g","task_type":"rover_approach","messages":[{"role":"user","content":"go"}],"turns":[],"success":true,"stop_reason":"task_success"}`
	tests := []struct {
		line    string
		env     string
		game    string
		variant string
		err     error
	}{
		{`{"variant":"v","game":"g2","transcript":` + tr + `}`, "rover", "g2", "v", nil},
		{tr, "rover", "g", "", nil},
		{`{"variant":"v","game":"g2","env":"m3tooleval","transcript":` + tr + `}`, "m3tooleval", "g2", "v", nil},
		{`{"variant":"v","game":"g2","transcript":{"env":"house","messages":[]}}`, "house", "g2", "v", nil},
		{`{"variant":"v","game":"g2","transcript":{"task_type":"pick_two_obj_and_place","messages":[]}}`, "alfworld", "g2", "v", nil},
		{`{"variant":"v","ga`, "", "", "", errNotJSON},
	}
	for _, tc := range tests {
		ep, err := ParseLine([]byte(tc.line))
		if !errors.Is(err, tc.err) || err == nil && (ep.Env != tc.env || ep.Game != tc.game || ep.Variant != tc.variant) {
			t.Errorf("%s: %+v, %v", tc.line, ep, err)
		}
	}
	if _, err := ParseLine([]byte(`{"hello":1}`)); err == nil {
		t.Error("a line that is neither was accepted")
	}
}

// TestRun reads run folders (every transcripts.jsonl under them) and
// files, skips a torn line, and refuses a folder without transcripts.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for _, ep := range episodes() {
		data, err := json.Marshal(agent.EpisodeResult{Variant: ep.Variant, Game: ep.Game, Transcript: ep.Transcript})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(data))
	}
	run := filepath.Join(dir, "run", "sub")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "transcripts.jsonl"), []byte(strings.Join(lines[:4], "\n")+"\n{\"variant\":\"torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "more.jsonl")
	if err := os.WriteFile(single, []byte(strings.Join(lines[4:], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := Files([]string{filepath.Join(dir, "run"), single})
	if err != nil || len(files) != 2 {
		t.Fatalf("files %q, %v", files, err)
	}
	var buf bytes.Buffer
	sum, err := Run(&buf, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tot := sum.Total(); tot.Read != 7 || tot.Written != 4 || sum.Files != 2 {
		t.Fatalf("summary %+v", tot)
	}
	var table bytes.Buffer
	if err := sum.WriteTable(&table, Options{}); err != nil {
		t.Fatal(err)
	}
	want := "environment    read  errored   lost  no-recovery  no-assistant  written\n" +
		"alfworld          7        1      2            2             0        4\n" +
		"dropped: errored, lost, no-assistant (an episode is counted under each filter it fails, up to the one that drops it)\n"
	if table.String() != want {
		t.Errorf("table:\n%s\nwant\n%s", table.String(), want)
	}
	if _, err := Files([]string{dir + "/nothing"}); err == nil {
		t.Error("a missing run was accepted")
	}
	empty := t.TempDir()
	if _, err := Files([]string{empty}); err == nil || !strings.Contains(err.Error(), "no transcripts.jsonl") {
		t.Errorf("empty folder: %v", err)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"variant":"v","game":"g","transcript":{"messages":[{"role":"user","content":"x"}],"turns":[{"action":{"kind":"none"}}]}}`))
	f.Add([]byte(`{"messages":null}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ep, err := ParseLine(data)
		if err != nil {
			return
		}
		x, _ := NewWriter(&bytes.Buffer{}, Options{All: true})
		if err := x.Write(ep); err != nil {
			t.Fatal(err)
		}
		_ = Recovered(ep.Transcript)
	})
}
