package isolate

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// A session in a worker process gives the same results and observations
// as sandbox.Session. In gantry the worker is the gantry binary itself
// (the default Options.Command); here it is this test binary.
func ExampleNew() {
	exe, _ := os.Executable()
	ctx := context.Background()
	reg := tool.NewRegistry()
	s, err := New(ctx, reg, Options{
		Sandbox: sandbox.Options{Timeout: 10 * time.Second},
		Command: []string{exe}, Env: []string{workerEnv + "=serve"},
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	s.Exec(ctx, "x = 40")
	res, _ := s.Exec(ctx, "print(x + 2)\nx / 0")
	fmt.Println(res.Observation())
	// Output:
	// 42
	// Traceback (most recent call last):
	//   File "<action>", line 2, in <module>
	//     x / 0
	// ZeroDivisionError: division by zero
}
