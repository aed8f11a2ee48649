package m3tooleval

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

func starlarkRunner(reg *tool.Registry) (CodeRunner, func(), error) {
	s, err := sandbox.New(reg, sandbox.Options{})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

// TestExpertJSONText plays the expert's tool sequence in the json and text
// formats. The scores are what the formats allow within 10 turns; the test
// pins them, and checks that whatever is played is scored honestly.
func TestExpertJSONText(t *testing.T) {
	ctx := context.Background()
	solved := map[Format]int{}
	expressible := map[Format]int{}
	perFamily := map[Format]map[string]int{JSON: {}, Text: {}}
	for _, task := range Tasks() {
		plan, err := NewExpertPlan(ctx, task, starlarkRunner)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []Format{JSON, Text} {
			out, err := PlayPlan(ctx, task, f, plan)
			if err != nil {
				t.Fatal(err)
			}
			if out.Expressible {
				expressible[f]++
			}
			if out.Correct {
				solved[f]++
				perFamily[f][task.Family]++
				if out.Turns != len(plan.Calls)+1 {
					t.Errorf("%s %s: solved in %d turns, plan has %d calls", f, task.Name, out.Turns, len(plan.Calls))
				}
			}
			if testing.Verbose() {
				t.Logf("%s %-70s calls=%2d expressible=%v correct=%v turns=%d %s", f, task.Name, len(plan.Calls), out.Expressible, out.Correct, out.Turns, out.Reason)
			}
		}
	}
	// The replayed tool sequence fits in 10 turns for 68 tasks in each
	// format; text cannot express one plan at all ("123" becomes 123).
	if solved[JSON] != 68 || solved[Text] != 68 || expressible[JSON] != 82 || expressible[Text] != 81 {
		t.Errorf("expert json %d/82 (%d expressible), text %d/82 (%d expressible); want 68 (82) and 68 (81)", solved[JSON], expressible[JSON], solved[Text], expressible[Text])
	}
	t.Logf("json: %d/82 solved (%d expressible) %v; text: %d/82 solved (%d expressible) %v",
		solved[JSON], expressible[JSON], perFamily[JSON], solved[Text], expressible[Text], perFamily[Text])
}
