//go:build edge

package main

// The edge build (go build -tags edge) is gantry for a Raspberry Pi-class
// board next to the robots: run, exec, eval, replay, devices, firmware,
// export, scene and version are here; the HTTP and MCP server (serve, mcp),
// distributed evaluation (worker, eval --queue) and report's charts are
// not, and with them the MCP SDK, the Prometheus client, the NATS client
// and gonum/plot with its fonts. A command left out is still listed, and
// says so when it is run.

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/agent"
)

// buildFlavour is what this build is, as gantry version prints it.
const buildFlavour = "edge"

// errNotInBuild is what every part left out of the edge build returns.
var errNotInBuild = errors.New("not in this build (edge); use the full build")

// notInBuild says that what (a command, a flag) is not in this build.
func notInBuild(what string) error {
	return fmt.Errorf("%s is %w", what, errNotInBuild)
}

// leftOut is a command the edge build lacks: listed, with its usual
// summary, failing when run whatever its arguments.
func leftOut(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short + " (not in this build: edge)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return notInBuild("gantry " + use)
		},
	}
}

func newServeCmd() *cobra.Command {
	return leftOut("serve", "Serve sessions over HTTP, MCP at /mcp and metrics")
}

func newMCPCmd() *cobra.Command {
	return leftOut("mcp", "Serve MCP over standard input and output")
}

func newWorkerCmd() *cobra.Command {
	return leftOut("worker", "Run episodes of distributed evaluations from a NATS JetStream queue")
}

// flagNote ends the help of flags the edge build keeps (so that
// configuration files and GANTRY_QUEUE still parse) but refuses.
const flagNote = " (not in this build: edge)"

// check refuses eval --queue before anything runs.
func (q *queueFlags) check() error {
	if q.url != "" || q.run != "" {
		return notInBuild("gantry eval --queue")
	}
	return nil
}

// eval is never reached: check refused the run first.
func (q *queueFlags) eval(string, []episodeFlags, string, string, string, io.Writer) func(context.Context, []agent.Job, []agent.Variant, agent.EvalOptions) (*agent.Report, error) {
	return func(context.Context, []agent.Job, []agent.Variant, agent.EvalOptions) (*agent.Report, error) {
		return nil, notInBuild("gantry eval --queue")
	}
}
