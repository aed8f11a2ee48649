package export_test

import (
	"fmt"
	"os"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/export"
)

// A won episode becomes one line of training data; the observation after
// the model's last reply is left out.
func ExampleWriter() {
	tr := &agent.Transcript{ID: "g1", TaskType: "look_at_obj_in_light", Success: true, StopReason: agent.StopSuccess,
		Messages: []agent.Message{
			{Role: agent.User, Content: "Task: look at the mug under the desklamp."},
			{Role: agent.Assistant, Content: "<execute>print(goto('desk 1'))</execute>"},
			{Role: agent.User, Content: "Observation:\nYou arrive at desk 1.\n"},
		},
		Turns: []agent.Turn{{Action: agent.Action{Kind: agent.ActExecute}}},
	}
	x, err := export.NewWriter(os.Stdout, export.Options{Format: export.ShareGPT})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := x.Write(export.Episode{Env: "alfworld", Variant: "openai/code/starlark", Game: "g1", Transcript: tr}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(x.Summary().ByEnv["alfworld"].Written, "written")
	// Output:
	// {"id":"openai/code/starlark/g1","conversations":[{"from":"human","value":"Task: look at the mug under the desklamp."},{"from":"gpt","value":"<execute>print(goto('desk 1'))</execute>"}]}
	// 1 written
}
