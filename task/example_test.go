package task_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// sumEpisode is a task with one tool, add(a, b), and one question. It is
// judged by its answer and talks in its own harness's conventions.
type sumEpisode struct{ reg *tool.Registry }

func newSumEpisode() *sumEpisode {
	reg := tool.NewRegistry()
	reg.MustRegister(tool.Tool{
		Name: "add", Doc: "Add two integers.", Returns: tool.Int,
		Params: []tool.Param{{Name: "a", Type: tool.Int, Required: true}, {Name: "b", Type: tool.Int, Required: true}},
		Fn:     func(_ context.Context, a tool.Args) (any, error) { return a.Int("a") + a.Int("b"), nil },
	})
	return &sumEpisode{reg: reg}
}

func (e *sumEpisode) Info() task.Info       { return task.Info{Task: "What is 2 + 3?", Type: "arithmetic"} }
func (e *sumEpisode) Tools() *tool.Registry { return e.reg }
func (e *sumEpisode) Prompt(f task.Format, l task.Limits) (string, error) {
	if f != task.Text {
		return "", fmt.Errorf("sum: %s: %w", f, task.ErrFormat)
	}
	return fmt.Sprintf("[1] add(a: int, b: int) -> int\nReply with Action: add, A, B End Action or Answer: N (%d turns).\n%s", l.MaxTurns, e.Info().Task), nil
}
func (e *sumEpisode) Check(_ context.Context, s string) bool { return strings.TrimSpace(s) == "5" }
func (e *sumEpisode) Done() bool                             { return false }
func (e *sumEpisode) Won() bool                              { return false }
func (e *sumEpisode) Expert(task.Format) (task.Policy, error) {
	return nil, fmt.Errorf("sum: %w", task.ErrNoExpert)
}
func (e *sumEpisode) Close() error { return nil }

// Conventions: 10 turns, as many answers, and a harness of its own.
func (e *sumEpisode) Conventions() task.Conventions {
	return task.Conventions{Limits: task.Limits{MaxTurns: 10, MaxProposals: 10}, Harness: actionHarness{}}
}

// actionHarness reads "Action: tool, arg, ... End Action" and "Answer: ...",
// in the manner of M3ToolEval's harness, and sends observations bare.
type actionHarness struct{}

func (actionHarness) Parse(reply string, _ task.Format) task.Action {
	if _, ans, ok := strings.Cut(reply, "Answer:"); ok {
		return task.Action{Kind: task.ActSolution, Solution: strings.TrimSpace(ans)}
	}
	_, act, ok := strings.Cut(reply, "Action:")
	if !ok {
		return task.Action{Kind: task.ActNone, Problem: "neither Action: nor Answer:"}
	}
	act, _, _ = strings.Cut(act, "End Action")
	parts := strings.Split(act, ",")
	a := task.Action{Kind: task.ActExecute, Tool: strings.TrimSpace(parts[0]), Code: strings.TrimSpace(act)}
	for _, p := range parts[1:] {
		if n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil {
			a.Positional = append(a.Positional, n)
		} else {
			a.Positional = append(a.Positional, strings.TrimSpace(p))
		}
	}
	return a
}

func (actionHarness) Observe(_ task.Action, res tool.Result, _ int) string {
	if res.Err != nil {
		return "Failed to execute tool: " + res.Err.Message
	}
	return res.Stdout
}

func (actionHarness) Invalid(task.Action, task.Format) string {
	return "Invalid generation. Your output should contain either 'Action:' or 'Answer:'"
}

func (actionHarness) Verdict(correct bool) string {
	if correct {
		return "Correct."
	}
	return "Your answer is incorrect. Please try again."
}

func (actionHarness) Message(obs string, _ *task.Limits) (string, string) { return obs, "" }

// A new environment is a package that implements task.Episode; a harness
// with other conventions than MINT's comes with it. The loop runs it
// unchanged.
func Example() {
	ep, cleanup, err := agent.NewEpisode(context.Background(), "sum-1", newSumEpisode(), agent.Spec{
		Config: agent.Config{Format: task.Text},
		NewPolicy: func(task.Episode) (agent.Policy, error) {
			return &agent.ReplayPolicy{Messages: []string{"Let me add.", "Action: add, 2, 3 End Action", "Answer: 6", "Answer: 5"}}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()
	tr, err := ep.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range tr.Messages {
		fmt.Printf("%s: %s\n", m.Role, m.Content)
	}
	fmt.Println(tr.StopReason, len(tr.Turns))
	// Output:
	// user: [1] add(a: int, b: int) -> int
	// Reply with Action: add, A, B End Action or Answer: N (10 turns).
	// What is 2 + 3?
	// assistant: Let me add.
	// user: Invalid generation. Your output should contain either 'Action:' or 'Answer:'
	// assistant: Action: add, 2, 3 End Action
	// user: 5
	// assistant: Answer: 6
	// user: Your answer is incorrect. Please try again.
	// assistant: Answer: 5
	// user: Correct.
	// task_success 4
}
