package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

func newExecCmd() *cobra.Command {
	var (
		rt    runtimeOptions
		tools string
	)
	cmd := &cobra.Command{
		Use:   "exec [flags] FILE|-",
		Short: "Run a code file (or stdin) as one action in a fresh session and print the observation",
		Long: `exec runs the code in FILE, or on standard input for "-", as one action in a
fresh session of the chosen runtime, with the chosen tools, and prints the
observation a model would read. It exits with status 1 when the code raised an
error or hit a limit.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var code []byte
			var err error
			if args[0] == "-" {
				code, err = io.ReadAll(cmd.InOrStdin())
			} else {
				code, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("read code: %w", err)
			}
			ctx := cmd.Context()
			reg, cleanup, err := buildTools(ctx, tools)
			if err != nil {
				return err
			}
			defer cleanup()
			sess, err := newRuntime(ctx, rt, reg)
			if err != nil {
				return err
			}
			defer sess.Close()
			res, err := sess.Exec(ctx, string(code))
			if err != nil {
				return fmt.Errorf("%s runtime: %w", rt.Name, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Observation())
			if res.Err != nil {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rt.Name, "runtime", "starlark", "runtime: starlark or python")
	f.DurationVar(&rt.Timeout, "timeout", 10*time.Second, "wall-time limit of the action")
	f.StringVar(&rt.Python, "python", "", "Python interpreter for --runtime python (default $GANTRY_PYTHON, else python3)")
	f.BoolVar(&rt.NoIsolation, "no-isolation", false, "run the Python worker without its sandbox (unsafe)")
	rt.registerIsolate(f, false)
	f.StringVar(&tools, "tools", "none", "comma-separated tool sets to expose")
	return cmd
}
