package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/tool"
)

func newExecCmd() *cobra.Command {
	var (
		rt    runtimeOptions
		tools string
		env   string
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
			code, err := readCode(cmd.InOrStdin(), args[0], tool.DefaultMaxCodeSize)
			if err != nil {
				var tooLarge *codeTooLarge
				if errors.As(err, &tooLarge) {
					fmt.Fprintln(cmd.OutOrStdout(), tool.Result{Err: tool.CodeSizeError(tooLarge.size, tooLarge.limit)}.Observation())
					return &exitError{code: 1}
				}
				return fmt.Errorf("read code: %w", err)
			}
			ctx := cmd.Context()
			reg, cleanup, err := buildTools(ctx, tools)
			if err != nil {
				return err
			}
			defer cleanup()
			if env != "" {
				if tools != "none" {
					return fmt.Errorf("--env and --tools: choose one")
				}
				if reg, err = m3ExecTools(env); err != nil {
					return err
				}
			}
			sess, err := newRuntime(ctx, rt, reg)
			if err != nil {
				return err
			}
			defer sess.Close()
			res, err := sess.Exec(ctx, string(code))
			if err != nil {
				return fmt.Errorf("%s runtime: %w", rt.Name, err)
			}
			obs := res.Observation()
			if env != "" {
				obs = strings.TrimSuffix(m3ExecObservation(res), "\n")
			}
			fmt.Fprintln(cmd.OutOrStdout(), obs)
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
	rt.registerErrors(f, "python")
	f.StringVar(&tools, "tools", "none", "comma-separated tool sets to expose")
	f.StringVar(&env, "env", "", "m3tooleval:FAMILY: the tools of an M3ToolEval family (one fresh episode's state), the observation as its harness shows it")
	return cmd
}

// codeTooLarge refuses code over the code-size limit; size is -1 when the
// input was read no further than the limit.
type codeTooLarge struct {
	size  int64
	limit int
}

func (e *codeTooLarge) Error() string {
	return tool.CodeSizeError(e.size, e.limit).Message
}

// readCode reads the code of an action from the file name, or from stdin
// for "-", reading at most limit+1 bytes: a larger input (an endless one,
// such as /dev/zero, or a 100 MB file) is refused with *codeTooLarge
// without being read further. A regular file's size is checked first.
func readCode(stdin io.Reader, name string, limit int) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > int64(limit) {
			return nil, &codeTooLarge{size: fi.Size(), limit: limit}
		}
		r = f
	}
	code, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(code) > limit {
		return nil, &codeTooLarge{size: -1, limit: limit}
	}
	return code, nil
}
