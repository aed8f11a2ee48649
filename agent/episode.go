package agent

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// RuntimeFactory starts a runtime whose code can call the tools of reg.
type RuntimeFactory func(ctx context.Context, reg *tool.Registry) (Runtime, error)

// PolicyFactory makes the policy of one episode; it may use the task
// episode (its tools, for a model offered function calls).
type PolicyFactory func(te task.Episode) (Policy, error)

// Spec says how to play episodes of any task: the loop's configuration,
// the runtime of code actions and the policy.
type Spec struct {
	// Config are the budgets and conventions; zero MaxTurns and
	// MaxProposals take the task's (task.Conventions), then MINT's.
	Config     Config
	NewRuntime RuntimeFactory
	// NewPolicy makes the episode's policy; nil plays the task's expert.
	NewPolicy  PolicyFactory
	PolicyName string
	Runtime    string
}

// NewEpisode prepares the loop for a started task episode: the task's
// tools, a runtime for code actions, the policy, the first message and the
// task's checker and harness. id names the episode in its transcript. Call
// the returned function when done: it stops the runtime and closes te.
func NewEpisode(ctx context.Context, id string, te task.Episode, spec Spec) (*Episode, func(), error) {
	conv := te.Conventions()
	cfg := spec.Config
	if cfg.MaxTurns <= 0 {
		cfg.MaxTurns = conv.MaxTurns
	}
	if cfg.MaxProposals <= 0 {
		cfg.MaxProposals = conv.MaxProposals
	}
	cfg = cfg.withDefaults()
	info := te.Info()
	first, err := te.Prompt(cfg.Format, task.Limits{MaxTurns: cfg.MaxTurns, MaxProposals: cfg.MaxProposals})
	if err != nil {
		te.Close()
		return nil, nil, err
	}
	reg := te.Tools()
	var rt Runtime
	cleanup := func() { te.Close() }
	if cfg.Format == Code {
		rt, err = spec.NewRuntime(ctx, reg)
		if err != nil {
			te.Close()
			return nil, nil, fmt.Errorf("start runtime: %w", err)
		}
		cleanup = func() { rt.Close(); te.Close() }
	}
	var pol Policy
	if spec.NewPolicy != nil {
		pol, err = spec.NewPolicy(te)
	} else {
		pol, err = te.Expert(cfg.Format)
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	ep := &Episode{
		ID: id, Prompt: first, Task: info.Task, TaskType: info.Type,
		Policy: pol, Runtime: rt, Tools: reg, Env: te, Config: cfg,
		Checker:    func(solution string) bool { return te.Check(ctx, solution) },
		Harness:    conv.Harness,
		PolicyName: spec.PolicyName, RuntimeName: spec.Runtime,
	}
	return ep, cleanup, nil
}
