package main

import (
	"context"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/ipytb"
	"github.com/gantry-dev/gantry/tool"
)

// newPythonRuntime starts a Python worker session.
func newPythonRuntime(ctx context.Context, opts runtimeOptions, reg *tool.Registry) (runtimeSession, error) {
	return bridge.New(ctx, reg, bridge.Options{Python: opts.Python, Timeout: opts.Timeout, NoIsolation: opts.NoIsolation, Errors: ipytb.Style(opts.Errors)})
}
