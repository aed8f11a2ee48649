package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/sandbox/isolate"
	"github.com/gantry-dev/gantry/tool"
)

// TestMain lets the test binary serve as the worker of --isolate, which
// starts this executable with the argument sandbox-worker.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == isolate.WorkerArg {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestExecIsolate(t *testing.T) {
	tests := []struct {
		name, code string
		args       []string
		want       string
		exitCode   int
	}{
		{"state and value", "x = [i * i for i in range(4)]\nprint(x)\nx[-1]", nil, "[0, 1, 4, 9]\n9\n", 0},
		{"tools", "print(goto('sinkbasin 1'))", []string{"--tools", "alfworld"}, "On the sinkbasin 1, you see", 0},
		{"tool argument error", "goto()", []string{"--tools", "alfworld"}, "TypeError: goto: receptacle is required", 1},
		{"timeout", "while True:\n    pass", []string{"--timeout", "50ms"}, "TimeoutError", 1},
		// 2 GB in one call: the sandbox refuses it, or the worker's
		// address-space limit kills the worker; gantry stays up either way.
		{"memory bomb", "s = 'a' * 1000000\nx = ''.join([s] * 2000)\nprint(len(x))", nil, "MemoryError", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"exec", "--isolate"}, tc.args...)
			out, err := runCLI(t, tc.code, append(args, "-")...)
			code := 0
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exitCode || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tc.exitCode, tc.want)
			}
		})
	}
}

func TestRunIsolate(t *testing.T) {
	ctx := context.Background()
	for _, isolated := range []bool{false, true} {
		sess, err := newRuntime(ctx, runtimeOptions{Name: "starlark", Isolate: isolated}, tool.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		_, isWorker := sess.(*isolate.Session)
		sess.Close()
		if isWorker != isolated {
			t.Fatalf("Isolate %v: runtime %T", isolated, sess)
		}
	}
	t.Setenv("GANTRY_ISOLATE", "true") // the config key isolate
	for _, cmd := range []*cobra.Command{newRunCmd(), newEvalCmd()} {
		if err := applyConfig(cmd); err != nil {
			t.Fatal(err)
		}
		if f := cmd.Flags().Lookup("isolate"); f == nil || f.Value.String() != "true" {
			t.Fatalf("%s: --isolate does not follow the config key isolate: %+v", cmd.Name(), f)
		}
	}
	out, err := runCLI(t, "", "run", "--isolate")
	if err != nil || !strings.Contains(out, "=== WON: ") {
		t.Fatalf("run: %v\n%s", err, out)
	}
}
