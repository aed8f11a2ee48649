package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scripted plays fixed messages.
func scripted(msgs ...string) Policy { return &ReplayPolicy{Messages: msgs} }

func starlark(ctx context.Context, reg *tool.Registry) (Runtime, error) {
	// The time limit is a backstop a busy machine does not reach: no action
	// here is meant to run into it.
	return sandbox.New(reg, sandbox.Options{Timeout: time.Minute})
}

func counterTools() *tool.Registry {
	reg := tool.NewRegistry()
	n := 0
	reg.MustRegister(tool.Tool{Name: "bump", Doc: "Count.", Returns: tool.Int, Fn: func(context.Context, tool.Args) (any, error) { n++; return n, nil }})
	return reg
}

func TestLoopStops(t *testing.T) {
	answer := func(s string) bool { return s == "42" }
	tests := []struct {
		name    string
		cfg     Config
		msgs    []string
		checker Checker
		stop    string
		turns   int
		lastObs string
	}{
		{"solution accepted", Config{MaxTurns: 5}, []string{"<execute>x = 40 + 2\nprint(x)</execute>", "<solution>42</solution>"}, answer, StopSuccess, 2, "Your answer is correct."},
		{"proposals used up", Config{MaxTurns: 5, MaxProposals: 2}, []string{"<solution>1</solution>", "<solution>2</solution>", "<solution>42</solution>"}, answer, StopProposals, 2, "Your answer is wrong."},
		{"turn budget", Config{MaxTurns: 2}, []string{"<execute>bump()</execute>", "<execute>bump()</execute>", "<execute>bump()</execute>"}, answer, StopTurns, 2, "2"},
		{"stuck", Config{MaxTurns: 9, StuckAfter: 3}, []string{"<execute>1/0</execute>", "<execute>1/0</execute>", "<execute>1/0</execute>", "<execute>1/0</execute>"}, answer, StopStuck, 3, "ZeroDivisionError: division by zero"},
		{"no action", Config{MaxTurns: 1}, []string{"hmm"}, answer, StopTurns, 1, "I don't understand your input."},
		{"policy runs dry", Config{MaxTurns: 5}, []string{"<execute>print(1)</execute>"}, answer, StopError, 2, ""},
		{"MINT: no stuck rule, to the turn limit", MINTConfig(), []string{"<execute>1/0</execute>", "<execute>1/0</execute>", "<execute>1/0</execute>", "<execute>1/0</execute>", "<execute>1/0</execute>"}, answer, StopTurns, 5, "ZeroDivisionError"},
		{"MINT: unparseable replies to the turn limit", MINTConfig(), []string{"hmm", "hmm", "hmm", "hmm", "hmm"}, answer, StopTurns, 5, "I don't understand your input."},
		{"MINT: fenced python is not run", Config{MaxTurns: 2, Parse: ParseMINT}, []string{"```python\nbump()\n```", "<execute>print(bump())</execute>"}, answer, StopTurns, 2, "1"},
		{"MINT: unclosed solution counts as a proposal", MINTConfig(), []string{"<solution> 42", "<solution> 42"}, answer, StopProposals, 2, "I don't understand your input."},
		{"MINT: complete blocks before a cut-off one run", Config{MaxTurns: 1, Parse: ParseMINT}, []string{"<execute>bump()</execute><execute>print(bump())</execute><execute>print(bu"}, answer, StopTurns, 1, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := counterTools()
			rt, _ := starlark(context.Background(), reg)
			defer rt.Close()
			ep := &Episode{Prompt: "Task: answer", Policy: scripted(tc.msgs...), Runtime: rt, Tools: reg, Checker: tc.checker, Config: tc.cfg}
			tr, err := ep.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tr.StopReason != tc.stop || len(tr.Turns) != tc.turns {
				t.Fatalf("stop %s after %d turns, want %s after %d (error %q)", tr.StopReason, len(tr.Turns), tc.stop, tc.turns, tr.Error)
			}
			last := tr.Turns[len(tr.Turns)-1].Observation
			if !strings.Contains(last, tc.lastObs) {
				t.Fatalf("last observation %q, want it to contain %q", last, tc.lastObs)
			}
			if tr.Success != (tc.stop == StopSuccess) {
				t.Fatalf("success %v with stop %s", tr.Success, tr.StopReason)
			}
		})
	}
}

func TestBudgetLine(t *testing.T) {
	rt, _ := starlark(context.Background(), tool.NewRegistry())
	defer rt.Close()
	ep := &Episode{Prompt: "p", Policy: scripted("<execute>print(1)</execute>", "<execute>x = 1</execute>", "<solution>no</solution>", "<execute>1</execute>"), Runtime: rt,
		Checker: func(string) bool { return false }, Config: Config{MaxTurns: 5, MaxProposals: 2, BudgetLine: true, NotebookOut: true}}
	tr, err := ep.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Observation:\n1\nYou have 4 steps left and 2 chances to propose solution left.\n",
		"Observation:\n[Executed Successfully with No Output]\nYou have 3 steps left and 2 chances to propose solution left.\n",
		"Observation:\nYour answer is wrong.\nYou have 2 steps left and 1 chances to propose solution left.\n",
		"Observation:\nOut[3]: 1\nYou have 1 steps left and 1 chances to propose solution left.\nYou should take the last step to propose a solution.\n",
	}
	var got []string
	for _, m := range tr.Messages {
		if m.Role == User && strings.HasPrefix(m.Content, "Observation:") {
			got = append(got, m.Content)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("observations:\n%q\nwant\n%q", got, want)
	}
	for i, turn := range tr.Turns {
		if i >= len(want) {
			if turn.Budget != "" {
				t.Fatalf("the last turn (stopped) has a budget line %q", turn.Budget)
			}
			continue
		}
		if w := "Observation:\n" + turn.Observation + "\n" + turn.Budget + "\n"; w != want[i] {
			t.Fatalf("turn %d: observation %q and budget %q do not make the message %q", i, turn.Observation, turn.Budget, want[i])
		}
	}
}

func TestWallTimeAndCancel(t *testing.T) {
	rt, _ := starlark(context.Background(), tool.NewRegistry())
	defer rt.Close()
	ep := &Episode{Prompt: "p", Policy: scripted("<execute>import time\ntime.sleep(5)</execute>", "<execute>print(1)</execute>"), Runtime: rt, Config: Config{MaxTurns: 3, WallTime: 100 * time.Millisecond}}
	tr, err := ep.Run(context.Background())
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if tr.StopReason != StopWallTime {
		t.Fatalf("stop %s: %s", tr.StopReason, tr.Error)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr, err = (&Episode{Prompt: "p", Policy: scripted("<execute>1</execute>"), Runtime: rt}).Run(ctx)
	if !errors.Is(err, context.Canceled) || tr.StopReason != StopCancelled {
		t.Fatalf("cancelled run: %v %s", err, tr.StopReason)
	}
}
