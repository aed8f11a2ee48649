package main

import (
	"context"
	"errors"

	"github.com/gantry-dev/gantry/tool"
)

// newPythonRuntime starts a Python worker session.
func newPythonRuntime(ctx context.Context, opts runtimeOptions, reg *tool.Registry) (runtimeSession, error) {
	return nil, errors.New("the python runtime is not available in this build yet")
}
