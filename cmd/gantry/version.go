package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/internal/buildinfo"
)

// newVersionCmd is "gantry version": the version, commit, build date, Go
// version (internal/buildinfo) and the build's flavour (full or edge), one
// per line.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gantry's version, commit, build date, Go version and build flavour",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "gantry %s\ncommit: %s\nbuilt: %s\ngo: %s %s/%s\nbuild: %s\n",
				buildinfo.Version(), buildinfo.Commit(), buildinfo.Date(), buildinfo.GoVersion(), runtime.GOOS, runtime.GOARCH, buildFlavour)
			return nil
		},
	}
}
