//go:build !edge

package main

import (
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/server"
)

func newMCPCmd() *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve MCP over standard input and output, for hosts that start their tools",
		Long: `mcp serves the run_code, reset and estop tools over MCP's stdio transport:
an MCP host starts "gantry mcp" and each connection gets one session whose
code keeps its state across calls. Logs go to standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("log-level") {
				sf.logLevel = "warn"
			}
			cfg, err := sf.config(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			closeDevices, err := sf.devs.connect(cmd.Context(), &cfg, cmd.ErrOrStderr(), sf.mcpGame != "" || sf.mcpSeed != 0)
			if err != nil {
				return err
			}
			defer closeDevices()
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			defer srv.Close()
			return srv.ServeStdio(cmd.Context(), nil)
		},
	}
	sf.register(cmd.Flags())
	return cmd
}
