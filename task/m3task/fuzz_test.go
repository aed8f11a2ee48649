package m3task_test

import (
	"testing"

	"github.com/gantry-dev/gantry/m3tooleval"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/m3task"
)

// FuzzHarnessParse: the harness's Parse reads a reply as the m3tooleval
// harness does, whether or not the reply was post-processed before
// (Postprocessing then Parse post-processes twice: it must not matter).
func FuzzHarnessParse(f *testing.F) {
	for _, s := range []string{"Action: x End Action", "Answer: 1 Answer: 2", "Thought: a Action:\nprint(1)\nEnd Action Thought: b Action: c", "Action:Answer:", " \tAnswer:", "End Action Action: x Thought: y"} {
		f.Add(s)
	}
	te, err := m3task.StartNamed("message_decoder/hex_caesar_combined_decoding", task.Text)
	if err != nil {
		f.Fatal(err)
	}
	h := te.Conventions().Harness
	f.Fuzz(func(t *testing.T, reply string) {
		once := m3tooleval.Postprocess(reply)
		if twice := m3tooleval.Postprocess(once); twice != once {
			t.Fatalf("Postprocess not idempotent: %q -> %q -> %q", reply, once, twice)
		}
		want := m3tooleval.Parse(once)
		got := h.Parse(reply, task.Text)
		switch want.Kind {
		case m3tooleval.KindAction:
			if got.Kind != task.ActExecute || got.Args["command"] != want.Content || got.Tool != m3task.ActionTool {
				t.Fatalf("%q: %+v, want action %q", reply, got, want.Content)
			}
		case m3tooleval.KindAnswer:
			if got.Kind != task.ActSolution || got.Solution != want.Content {
				t.Fatalf("%q: %+v, want answer %q", reply, got, want.Content)
			}
		default:
			if got.Kind != task.ActNone || got.Problem != want.Content {
				t.Fatalf("%q: %+v, want invalid %q", reply, got, want.Content)
			}
		}
	})
}
