package sandbox_test

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// An action's output as it is printed: the function in the context hears
// every print before the action ends (gantry serve streams it to its
// clients as server-sent events).
func Example_output() {
	s, _ := sandbox.New(nil, sandbox.Options{})
	defer s.Close()
	ctx := tool.WithOutput(context.Background(), func(chunk string) { fmt.Printf("printed %q\n", chunk) })
	res, _ := s.Exec(ctx, "for i in range(2):\n    print('step', i)\n'done'")
	fmt.Println("result:", res.Value)
	// Output:
	// printed "step 0\n"
	// printed "step 1\n"
	// result: 'done'
}
