package m3task_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/m3tooleval"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/m3task"
	"github.com/gantry-dev/gantry/tool"
)

func starlark(_ context.Context, reg *tool.Registry) (agent.Runtime, error) {
	return sandbox.New(reg, sandbox.Options{})
}

func python(t *testing.T) agent.RuntimeFactory {
	py := testenv.Python(t)
	testenv.LookPath(t, "bwrap")
	return func(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
		return bridge.New(ctx, reg, bridge.Options{Python: py})
	}
}

// play runs one episode of t through agent.NewEpisode and the loop.
// A script that ends before the episode ends it with an error (mayErr).
func play(t *testing.T, mt m3tooleval.Task, f task.Format, spec agent.Spec, mayErr bool) *agent.Transcript {
	t.Helper()
	ctx := context.Background()
	te, err := m3task.Start(mt, f)
	if err != nil {
		t.Fatal(err)
	}
	spec.Config.Format = f
	ep, cleanup, err := agent.NewEpisode(ctx, mt.Name, te, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	tr, err := ep.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason == agent.StopError && !mayErr {
		t.Fatalf("%s %s: errored: %s", mt.Name, f, tr.Error)
	}
	return tr
}

// expertScore plays the expert on all 82 tasks in format f.
func expertScore(t *testing.T, f task.Format, rt agent.RuntimeFactory) (solved, turns int, perFamily map[string]int) {
	perFamily = map[string]int{}
	for _, mt := range m3tooleval.Tasks() {
		tr := play(t, mt, f, agent.Spec{NewRuntime: rt}, false)
		if tr.Success {
			solved++
			turns += len(tr.Turns)
			perFamily[mt.Family]++
		} else if f == task.Code {
			t.Errorf("%s: lost (%s): last message %q", mt.Name, tr.StopReason, tr.Messages[len(tr.Messages)-1].Content)
		}
		if tr.TaskType != mt.Family {
			t.Errorf("%s: task type %q", mt.Name, tr.TaskType)
		}
	}
	return solved, turns, perFamily
}

// TestExpertCodeStarlark: the expert solves 82/82 in code through the
// loop, in the Starlark sandbox, in 2 turns each.
func TestExpertCodeStarlark(t *testing.T) {
	solved, turns, _ := expertScore(t, task.Code, starlark)
	if solved != 82 || turns != 164 {
		t.Errorf("expert in code (Starlark): %d/82 in %d turns; want 82 in 164", solved, turns)
	}
}

// TestExpertCodePython: the same in the Python worker.
func TestExpertCodePython(t *testing.T) {
	solved, turns, _ := expertScore(t, task.Code, python(t))
	if solved != 82 || turns != 164 {
		t.Errorf("expert in code (Python): %d/82 in %d turns; want 82 in 164", solved, turns)
	}
}

// TestExpertJSONText: the expert's tool sequence through the loop scores
// what m3tooleval's PlayPlan measures: 68/82 in json and in text.
func TestExpertJSONText(t *testing.T) {
	for _, f := range []task.Format{task.JSON, task.Text} {
		solved, _, per := expertScore(t, f, nil)
		want := map[string]int{m3tooleval.FamilyMessageDecoder: 5, m3tooleval.FamilyDNA: 8, m3tooleval.FamilyTrade: 11, m3tooleval.FamilyTravel: 14, m3tooleval.FamilyWeb: 30}
		if solved != 68 || fmt.Sprint(per) != fmt.Sprint(want) {
			t.Errorf("expert in %s: %d/82 %v; want 68 %v", f, solved, per, want)
		}
	}
}

// TestNotExpressible: where text cannot carry the plan, the expert says so
// and loses rather than erring.
func TestNotExpressible(t *testing.T) {
	mt, _ := m3tooleval.Lookup("message_decoder/maximum_value_decoding")
	tr := play(t, mt, task.Text, agent.Spec{}, false)
	if tr.Success || len(tr.Turns) != m3tooleval.MaxTurns {
		t.Fatalf("won %v in %d turns", tr.Success, len(tr.Turns))
	}
	last := tr.Turns[len(tr.Turns)-1].Assistant
	if want := "Answer: not expressible"; len(last) < len(want) || last[len(last)-len(want):] != want {
		t.Errorf("last reply %q", last)
	}
}

// scripted are replies, raw as a model might write them, per format.
var scripted = map[task.Format]map[string][]string{
	task.Code: {
		"message_decoder/hex_caesar_combined_decoding": {
			"I will think first.",
			"Thought: decode.\nAction:\nx = convert_hex_to_ascii('4d4f5252')\nx\nEnd Action\nThought: then shift.",
			"Action:\nprint(caesar_decode(x, 2))\nEnd Action\nAction:\nprint(1)\nEnd Action",
			"Action:\nprint(undefined_name)\nEnd Action",
			"Action:\ny = 1\nEnd Action",
			"Action:\nprint('1.50')\nEnd Action",
			"Answer: kmpp",
			"Answer: KMPP",
		},
		"trade_calculator/estimate_final_value": {
			"  Action:\nprint(calculate_tariff(150, 7.5))\nEnd Action",
			"Action:\nfor i in range(500):\n    print(i)\nEnd Action",
			"Answer: 161",
		},
		"web_browsing/people_in_sales": {
			"Action:\nprint(click_url('/team'))\nEnd Action",
			"Action:\nprint(scroll_down())\nEnd Action",
			"Answer: 3 Answer: 4",
		},
	},
	task.JSON: {
		"message_decoder/hex_caesar_combined_decoding": {
			"Nothing to do.",
			`Action: {"tool": "convert_hex_to_ascii", "args": "4d4f5252"} End Action`,
			`Action: {"tool": "caesar_decode" "args": ["MORR", 2]} End Action`,
			`Action: {"tool": "nope", "args": []} End Action`,
			`Action: {"tool": "caesar_decode", "args": ["MORR"]} End Action`,
			`Thought: now. Action: {"tool": "caesar_decode", "args": ["MORR", 2]} End Action Thought: done`,
			"Answer: KMPP",
		},
		"travel_itinerary_planning/plan_trip_to_0": {
			`Action: {"tool": "find_flights", "args": ["E", "A", "2023-12-25"]} End Action`,
			`Action: [1, 2] End Action`,
			"Answer: 1",
		},
	},
	task.Text: {
		"message_decoder/hex_caesar_combined_decoding": {
			"Action: convert_hex_to_ascii, 4d4f5252 End Action",
			"Action: caesar_decode, MORR End Action",
			"Action: missing_tool, 1 End Action",
			"Action: caesar_decode, MORR, 2 End Action",
			"Answer: 'KMPP'",
		},
		"trade_calculator/estimate_final_value": {
			"Action: calculator, 150 * 7.5 / 100 End Action",
			"Answer: 11.25 and more",
		},
	},
}

// TestTranscriptMatchesHarness: for scripted replies, the loop's
// conversation (the policy wrapped in Postprocessing) is the harness's
// (m3tooleval.Episode.Step) byte for byte: the first message, each kept
// reply, each observation and invalid-reply message, up to the last
// message the model would read.
func TestTranscriptMatchesHarness(t *testing.T) {
	ctx := context.Background()
	for f, tasks := range scripted {
		for name, replies := range tasks {
			t.Run(string(f)+"/"+name, func(t *testing.T) {
				mt, ok := m3tooleval.Lookup(name)
				if !ok {
					t.Fatalf("no task %s", name)
				}
				// The harness's conversation.
				mf, _ := m3tooleval.ParseFormat(string(f))
				he, err := m3tooleval.NewEpisode(mt, mf)
				if err != nil {
					t.Fatal(err)
				}
				var run m3tooleval.CodeRunner
				if f == task.Code {
					s, err := sandbox.New(he.CodeRegistry(), sandbox.Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					run = s
				}
				want := []task.Message{{Role: task.User, Content: mt.Prompt(mf)}}
				wantWon := false
				for _, r := range replies {
					turn, err := he.Step(ctx, r, run)
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, task.Message{Role: task.Assistant, Content: turn.Assistant})
					if turn.Done {
						wantWon = turn.Correct
						break
					}
					want = append(want, task.Message{Role: task.User, Content: turn.User})
				}
				// The loop's.
				tr := play(t, mt, f, agent.Spec{NewRuntime: starlark, NewPolicy: func(task.Episode) (agent.Policy, error) {
					return m3task.Postprocessing(&agent.ReplayPolicy{Messages: replies}), nil
				}}, true)
				got := tr.Messages
				if tr.Success || len(tr.Turns) == m3tooleval.MaxTurns {
					got = got[:len(got)-1] // the message after the end is never sent
				}
				if len(got) != len(want) {
					t.Fatalf("loop has %d messages, harness %d:\n%q\n%q", len(got), len(want), got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("message %d:\n loop    %q\n harness %q", i, got[i], want[i])
					}
				}
				if tr.Success != wantWon {
					t.Errorf("loop success %v, harness %v", tr.Success, wantWon)
				}
			})
		}
	}
}

// TestFormatMismatch: an episode started in one format refuses another's
// prompt with task.ErrFormat.
func TestFormatMismatch(t *testing.T) {
	te, err := m3task.StartNamed("message_decoder/hex_caesar_combined_decoding", task.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := te.Prompt(task.Code, task.Limits{}); !errors.Is(err, task.ErrFormat) {
		t.Errorf("err %v", err)
	}
	// Unbound, the first Prompt chooses the format.
	un, err := m3task.StartNamed("message_decoder/hex_caesar_combined_decoding", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := un.Prompt(task.Text, task.Limits{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := un.Tools().Lookup(m3task.ActionTool); !ok {
		t.Error("a text episode has no action tool")
	}
	if _, err := un.Prompt(task.JSON, task.Limits{}); !errors.Is(err, task.ErrFormat) {
		t.Errorf("err %v", err)
	}
	if _, err := m3task.StartNamed("no/such", task.Code); err == nil {
		t.Error("unknown task accepted")
	}
}

// TestSingleTool: for a task marked single-tool (none of the 82 is), an
// action whose result is the expected output wins, as in the harness; a
// printed str keeps its newline and does not.
func TestSingleTool(t *testing.T) {
	mt, _ := m3tooleval.Lookup("message_decoder/hex_caesar_combined_decoding")
	mt.SingleTool = true
	cases := []struct {
		format task.Format
		reply  string
		won    bool
	}{
		{task.JSON, `Action: {"tool": "caesar_decode", "args": ["MORR", 2]} End Action`, true},
		{task.Text, `Action: caesar_decode, MORR, 2 End Action`, true},
		{task.Text, `Action: caesar_decode, MORR, 3 End Action`, false},
		{task.Code, "Action:\ncaesar_decode('MORR', 2)\nEnd Action", true},
		{task.Code, "Action:\nprint(caesar_decode('MORR', 2))\nEnd Action", false},
	}
	for _, c := range cases {
		tr := play(t, mt, c.format, agent.Spec{NewRuntime: starlark, NewPolicy: func(task.Episode) (agent.Policy, error) {
			return &agent.ReplayPolicy{Messages: []string{c.reply}}, nil
		}}, true)
		mf, _ := m3tooleval.ParseFormat(string(c.format))
		he, _ := m3tooleval.NewEpisode(mt, mf)
		var run m3tooleval.CodeRunner
		if c.format == task.Code {
			s, _ := sandbox.New(he.CodeRegistry(), sandbox.Options{})
			defer s.Close()
			run = s
		}
		turn, err := he.Step(context.Background(), c.reply, run)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Success != c.won || turn.Correct != c.won || (c.won && (tr.StopReason != agent.StopSuccess || len(tr.Turns) != 1)) {
			t.Errorf("%s %q: loop won %v (%s, %d turns), harness %v; want %v", c.format, c.reply, tr.Success, tr.StopReason, len(tr.Turns), turn.Correct, c.won)
		}
	}
}
