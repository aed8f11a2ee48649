package agent_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
	"github.com/gantry-dev/gantry/tool"
)

// An ALFWorld episode: start the task's episode, prepare the loop for it
// (the task's tools in a Starlark runtime, the task's expert as policy),
// and run it.
func ExampleNewEpisode() {
	ctx := context.Background()
	eg, err := games.Find("pick_heat_then_place_in_recep-Tomato-None-GarbageCan-10/trial_T20190908_225359_617900")
	if err != nil {
		fmt.Println(err)
		return
	}
	game, err := eg.Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	te, err := alfworldtask.Start(game, alfworldtask.Options{Example: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	ep, cleanup, err := agent.NewEpisode(ctx, eg.ID, te, agent.Spec{
		Config: agent.Config{Format: agent.Code, MaxTurns: 10},
		NewRuntime: func(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
			return sandbox.New(reg, sandbox.Options{})
		},
		// NewPolicy: nil plays the task's expert.
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()
	tr, err := ep.Run(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tr.TaskType, tr.StopReason)
	fmt.Println(strings.Contains(ep.Prompt, `heat("apple 1", "microwave 1")`)) // MINT's heat example
	// Output:
	// heat task_success
	// true
}

// MINT's conventions are the default harness; MINTHarness gives them to a
// task that wants them with other settings.
func ExampleMINTHarness() {
	h := agent.MINTHarness(agent.MINTConfig())
	a := h.Parse("<thought> Look. </thought>\n<execute>\nprint(look())\n</execute>", agent.Code)
	fmt.Printf("%s %q\n", a.Kind, a.Code)
	obs := h.Observe(a, tool.Result{Value: "'a room'"}, 3)
	msg, budget := h.Message(obs, &task.Limits{MaxTurns: 2, MaxProposals: 1})
	fmt.Print(msg)
	fmt.Println(budget == "You have 2 steps left and 1 chances to propose solution left.")
	// Output:
	// execute "print(look())"
	// Observation:
	// Out[3]: 'a room'
	// You have 2 steps left and 1 chances to propose solution left.
	// true
}
