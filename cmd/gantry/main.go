// Command gantry runs language-model agents that act by writing code: the
// code runs in a sandbox whose functions drive a simulated ALFWorld household
// or real devices, and its output goes back to the model.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit statuses of gantry run and gantry eval (other commands use 0 and 1).
const (
	exitOK          = 0   // run: the episode was won; eval: every episode was played (won or lost)
	exitUsage       = 1   // usage, configuration or set-up error
	exitLost        = 2   // run: the episode was played and lost
	exitModel       = 3   // the model failed: unreachable, key refused, or errored episodes remain
	exitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM); what was recorded stays
)

// exitError carries a process exit code through cobra; err, when set, is
// printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gantry",
		Short:         "A CodeAct gateway: agents act by writing code that drives simulated and real worlds",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flags the command line left unset come from GANTRY_<FLAG> and
		// the config file (run and eval).
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyConfig(cmd) },
	}
	root.AddCommand(
		newVersionCmd(),
		newFirmwareCmd(),
		newExecCmd(),
		newRunCmd(),
		newEvalCmd(),
		newReportCmd(),
		newExportCmd(),
		newWorkerCmd(),
		newReplayCmd(),
		newSceneCmd(),
		newDevicesCmd(),
		newSandboxWorkerCmd(),
		newServeCmd(),
		newMCPCmd(),
	)
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "gantry:", ee.err)
			}
			os.Exit(ee.code)
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "gantry: interrupted")
			os.Exit(exitInterrupted)
		}
		fmt.Fprintln(os.Stderr, "gantry:", err)
		os.Exit(exitUsage)
	}
}
