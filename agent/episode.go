package agent

import (
	"context"
	"fmt"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/tool"
)

// RuntimeFactory starts a runtime whose code can call the tools of reg.
type RuntimeFactory func(ctx context.Context, reg *tool.Registry) (Runtime, error)

// PolicyFactory makes the policy of one ALFWorld episode.
type PolicyFactory func(env *alfworld.Env) (Policy, error)

// ALFWorldSpec says how to play ALFWorld episodes.
type ALFWorldSpec struct {
	Config     Config
	Grammar    alfworld.Grammar
	MaxSteps   int // the environment's step limit (0: 50)
	Example    bool
	NewRuntime RuntimeFactory
	NewPolicy  PolicyFactory
	PolicyName string
	Runtime    string
}

// ALFWorldEpisode prepares an episode of game g: a fresh environment, its
// tools, a runtime for code actions and the policy. Close the returned
// function when done.
func ALFWorldEpisode(ctx context.Context, id string, g *alfworld.Game, spec ALFWorldSpec) (*Episode, *alfworld.Env, func(), error) {
	env := alfworld.NewEnv(g, alfworld.Options{Grammar: spec.Grammar, MaxSteps: spec.MaxSteps})
	opening := env.Reset()
	reg := tool.NewRegistry()
	if err := alfworld.RegisterTools(reg, env); err != nil {
		return nil, nil, nil, fmt.Errorf("alfworld tools: %w", err)
	}
	cfg := spec.Config.withDefaults()
	var rt Runtime
	cleanup := func() {}
	if cfg.Format == Code {
		var err error
		rt, err = spec.NewRuntime(ctx, reg)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("start runtime: %w", err)
		}
		cleanup = func() { rt.Close() }
	}
	pol, err := spec.NewPolicy(env)
	if err != nil {
		cleanup()
		return nil, nil, nil, fmt.Errorf("policy: %w", err)
	}
	task := ALFWorldTask(opening)
	data := PromptData{MaxTurns: cfg.MaxTurns, MaxProposals: cfg.MaxProposals, Task: task,
		Commands: "go to X, open X, close X, take X from Y, put X in/on Y, clean X with Y, heat X with Y, cool X with Y, use X, examine X, look, inventory"}
	if spec.Grammar == alfworld.Current {
		data.Commands = "go to X, open X, close X, take X from Y, move X to Y, clean X with Y, heat X with Y, cool X with Y, use X, examine X, look, inventory"
	}
	if spec.Example && cfg.Format == Code {
		data.Example = ALFWorldExample()
	}
	prompt, err := Prompt(cfg.Format, reg, data)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	ep := &Episode{
		ID: id, Prompt: prompt, Task: task, TaskType: g.TaskType.String(),
		Policy: pol, Runtime: rt, Tools: reg, Env: env, Config: cfg,
		PolicyName: spec.PolicyName, RuntimeName: spec.Runtime,
	}
	return ep, env, cleanup, nil
}
