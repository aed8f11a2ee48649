package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/internal/ipytb"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/sandbox/isolate"
	"github.com/gantry-dev/gantry/tool"
)

// runtimeSession is a code runtime as the commands use it.
type runtimeSession interface {
	Exec(ctx context.Context, code string) (tool.Result, error)
	Close() error
}

// runtimeOptions are the runtime flags shared by exec, run and eval.
type runtimeOptions struct {
	Name        string        // starlark | python
	Timeout     time.Duration // per action
	Python      string        // interpreter for the python runtime
	NoIsolation bool          // run the Python worker without its sandbox
	Isolate     bool          // run Starlark sessions in worker processes
	Errors      string        // error display: ipython | python
}

// registerErrors adds the --errors flag (config key errors) to fs.
func (o *runtimeOptions) registerErrors(fs *pflag.FlagSet, def string) {
	fs.StringVar(&o.Errors, "errors", def, "how code errors are shown: ipython (IPython's display, \"Cell In[N], line L\", as MINT's "+
		"executor showed them and CodeActAgent was trained on) or python (CPython's plain traceback)")
}

// registerIsolate adds the --isolate flag (config key isolate) to fs.
func (o *runtimeOptions) registerIsolate(fs *pflag.FlagSet, def bool) {
	fs.BoolVar(&o.Isolate, "isolate", def, "run Starlark code in a worker process with its own memory and CPU limits, "+
		"so that code escaping the sandbox's limits kills the worker, not gantry (the python runtime always runs in a worker)")
}

// runtimeNames lists the runtimes newRuntime knows.
var runtimeNames = []string{"starlark", "python"}

// newRuntime starts a session of the named runtime with the tools of reg.
func newRuntime(ctx context.Context, opts runtimeOptions, reg *tool.Registry) (runtimeSession, error) {
	errs, err := ipytb.ParseStyle(opts.Errors)
	if err != nil {
		return nil, fmt.Errorf("--errors: %w", err)
	}
	switch opts.Name {
	case "", "starlark":
		if opts.Isolate {
			return isolate.New(ctx, reg, isolate.Options{Sandbox: sandbox.Options{Timeout: opts.Timeout, Errors: errs}})
		}
		return sandbox.New(reg, sandbox.Options{Timeout: opts.Timeout, Errors: errs})
	case "python":
		return newPythonRuntime(ctx, opts, reg)
	}
	return nil, fmt.Errorf("unknown runtime %q (choose one of %s)", opts.Name, strings.Join(runtimeNames, ", "))
}

// toolsets are the named sets of tools the --tools flag selects. Each adds
// its tools to a registry; the cleanup function, if any, releases what the
// set started.
type toolset func(ctx context.Context, reg *tool.Registry) (cleanup func(), err error)

func toolsets() map[string]toolset {
	return map[string]toolset{
		"none": func(context.Context, *tool.Registry) (func(), error) { return nil, nil },
		// alfworld: MINT's ALFWorld functions on the first valid_unseen game
		// (GANTRY_GAME picks another: a task id or a game.tw-pddl path).
		"alfworld": func(ctx context.Context, reg *tool.Registry) (func(), error) {
			id, g, err := pickGame(games.NewSet(), os.Getenv("GANTRY_GAME"), "", "", 0)
			if err != nil {
				return nil, err
			}
			env := alfworld.NewEnv(g, alfworld.Options{})
			env.Reset()
			if err := alfworld.RegisterTools(reg, env); err != nil {
				return nil, fmt.Errorf("game %s: %w", id, err)
			}
			return nil, nil
		},
	}
}

// buildTools makes a registry from a comma-separated list of tool sets.
func buildTools(ctx context.Context, names string) (*tool.Registry, func(), error) {
	reg := tool.NewRegistry()
	sets := toolsets()
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		set, ok := sets[name]
		if !ok {
			known := make([]string, 0, len(sets))
			for k := range sets {
				known = append(known, k)
			}
			sort.Strings(known)
			cleanup()
			return nil, nil, fmt.Errorf("unknown tool set %q (choose from %s)", name, strings.Join(known, ", "))
		}
		c, err := set(ctx, reg)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("tool set %s: %w", name, err)
		}
		if c != nil {
			cleanups = append(cleanups, c)
		}
	}
	return reg, cleanup, nil
}
