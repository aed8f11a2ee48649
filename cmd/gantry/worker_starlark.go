package main

import (
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/sandbox/isolate"
)

// newSandboxWorkerCmd is the hidden command a gantry process starts to run
// a Starlark session in a worker (--isolate). It speaks the isolate
// protocol over file descriptors 3 and 4 and is of no use by hand.
func newSandboxWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    isolate.WorkerArg,
		Short:  "Serve one Starlark session to the gantry process that started this one (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return isolate.ServeWorker(cmd.Context())
		},
	}
}
