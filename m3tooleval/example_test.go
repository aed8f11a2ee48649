package m3tooleval_test

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/m3tooleval"
)

// An episode in the json format: the prompt goes to the model, each reply
// goes through Step, and Step says what the model reads next.
func ExampleEpisode_Step() {
	task, _ := m3tooleval.Lookup("message_decoder/hex_caesar_combined_decoding")
	ep, _ := m3tooleval.NewEpisode(task, m3tooleval.JSON)
	_ = task.Prompt(m3tooleval.JSON) // the first user message
	ctx := context.Background()
	for _, reply := range []string{
		`Thought: decode the hex first. Action: {"tool": "convert_hex_to_ascii", "args": ["4d4f5252"]} End Action`,
		`Action: {"tool": "caesar_decode", "args": ["MORR", 2]} End Action`,
		`Answer: KMPP`,
	} {
		turn, _ := ep.Step(ctx, reply, nil)
		fmt.Printf("%q correct=%v done=%v\n", turn.User, turn.Correct, turn.Done)
	}
	// Output:
	// "MORR" correct=false done=false
	// "KMPP" correct=false done=false
	// "" correct=true done=true
}

// The calculator follows Python's numeric rules.
func ExampleCalculator() {
	for _, e := range []string{"7/2", "-7//2", "7 % -3", "2**64", "0.1+0.2", "round(2.675, 2)", "1,2", "abc"} {
		fmt.Println(m3tooleval.Repr(m3tooleval.Calculator(e)))
	}
	// Output:
	// 3.5
	// -4
	// -2
	// 18446744073709551616
	// 0.30000000000000004
	// 2.67
	// (1, 2)
	// 'Failed to evaluate expression: abc'
}

// A code action's printed output becomes the observation through
// ast.literal_eval and str(), as in the harness.
func ExampleCodeObservation() {
	for _, out := range []string{"1.50\n", "'abc'\n", "Out[1]: (1, 2)\n", "hello\n", ""} {
		fmt.Printf("%q\n", m3tooleval.StrOf(m3tooleval.CodeObservation(out)))
	}
	// Output:
	// "1.5"
	// "abc"
	// "(1, 2)"
	// "hello\n"
	// "[Executed Successfully with No Output, Did you forget to print?]"
}
