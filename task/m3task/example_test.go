package m3task_test

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/m3tooleval"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/m3task"
)

// An M3ToolEval task in the json format, played by the unchanged loop
// with the task's expert; a model's policy would be wrapped in
// m3task.Postprocessing.
func Example() {
	mt, _ := m3tooleval.Lookup("message_decoder/hex_caesar_combined_decoding")
	te, err := m3task.Start(mt, task.JSON)
	if err != nil {
		fmt.Println(err)
		return
	}
	ep, cleanup, err := agent.NewEpisode(context.Background(), mt.Name, te, agent.Spec{Config: agent.Config{Format: task.JSON}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()
	tr, _ := ep.Run(context.Background())
	for _, t := range tr.Turns {
		fmt.Printf("%q -> %q\n", t.Assistant, t.Observation)
	}
	fmt.Println(tr.StopReason, tr.TaskType)
	// Output:
	// "Action: {\"tool\": \"convert_hex_to_ascii\", \"args\": [\"4d4f5252\"]} End Action" -> "MORR"
	// "Action: {\"tool\": \"caesar_decode\", \"args\": [\"MORR\", 2]} End Action" -> "KMPP"
	// "Answer: KMPP\n" -> ""
	// task_success message_decoder
}
