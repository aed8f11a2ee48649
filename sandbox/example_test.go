package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// roverTools is a registry with one tool, rover.drive, which fails when
// asked to drive backwards: the device is offline then.
func roverTools() *tool.Registry {
	reg := tool.NewRegistry()
	reg.MustRegister(tool.Tool{
		Name: "rover.drive",
		Doc:  "Drive the rover straight.",
		Params: []tool.Param{
			{Name: "speed", Type: tool.Float, Required: true, Unit: "m/s", Min: tool.Bound(-1), Max: tool.Bound(1)},
		},
		Returns: tool.Dict,
		Fn: func(_ context.Context, a tool.Args) (any, error) {
			if a.Float("speed") < 0 {
				return nil, tool.Errorf(tool.Offline, "rover.drive: device offline")
			}
			return map[string]any{"moved_m": a.Float("speed") * 2}, nil
		},
	})
	return reg
}

// A session runs one action after another; res.Observation() is what the
// model reads next.
func ExampleNew() {
	s, err := sandbox.New(roverTools(), sandbox.Options{Timeout: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()
	res, err := s.Exec(ctx, "r = rover.drive(speed=0.5)\nprint(r)")
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Observation())
	// Output: {'moved_m': 1.0}
}

// Variables and functions defined in one action are there in the next,
// and output printed before a failing line is kept.
func ExampleSession_Exec_state() {
	s, _ := sandbox.New(nil, sandbox.Options{})
	defer s.Close()
	ctx := context.Background()
	s.Exec(ctx, "seen = []\ndef note(x):\n    seen.append(x)\n    return len(seen)")
	res, _ := s.Exec(ctx, "note('a')\nprint(note('b'))\nprint({'a': 1}['b'])")
	fmt.Println(res.Observation())
	// Output:
	// 2
	// Traceback (most recent call last):
	//   File "<action>", line 3, in <module>
	//     print({'a': 1}['b'])
	// KeyError: 'b'
}

// A tool's failure is the Python exception its kind names, with the tool's
// message; the Go error stays reachable with errors.Is and tool.KindOf.
func ExampleSession_Exec_toolError() {
	s, _ := sandbox.New(roverTools(), sandbox.Options{})
	defer s.Close()
	ctx := context.Background()
	res, _ := s.Exec(ctx, "rover.drive(speed=-0.5)")
	fmt.Println(res.Err)
	fmt.Println(errors.Is(res.Err, tool.Offline), tool.KindOf(res.Err))
	res, _ = s.Exec(ctx, "rover.drive(speed=3)")
	fmt.Println(res.Err)
	// Output:
	// ConnectionError: rover.drive: device offline
	// true offline
	// ValueError: rover.drive: speed must be <= 1.0, got 3
}
