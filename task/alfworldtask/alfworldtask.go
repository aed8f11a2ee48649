// Package alfworldtask is ALFWorld as a task of the agent loop: an episode
// of one game (a fresh alfworld.Env), MINT's tools over it, MINT's first
// user message (with the in-context example MINT chose by task type) and
// the built-in expert policy. It implements task.Episode.
package alfworldtask

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/prompt"
	"github.com/gantry-dev/gantry/tool"
)

//go:embed examples/*.txt
var examples embed.FS

// Sources are the in-context examples, for a run's prompt hash.
func Sources() fs.FS { return examples }

// Options configure ALFWorld episodes.
type Options struct {
	// Grammar is the text grammar of the environment (Classic: ReAct's and
	// MINT's).
	Grammar alfworld.Grammar
	// MaxSteps is the environment's step limit (0: 50).
	MaxSteps int
	// Example shows MINT's in-context example in the code format's prompt.
	Example bool
}

// Episode is one ALFWorld game being played.
type Episode struct {
	game    *alfworld.Game
	env     *alfworld.Env
	reg     *tool.Registry
	task    string
	options Options
}

var _ task.Episode = (*Episode)(nil)

// Start begins an episode of game g: a fresh environment, reset, and MINT's
// tools bound to it.
func Start(g *alfworld.Game, opts Options) (*Episode, error) {
	env := alfworld.NewEnv(g, alfworld.Options{Grammar: opts.Grammar, MaxSteps: opts.MaxSteps})
	opening := env.Reset()
	reg := tool.NewRegistry()
	if err := alfworld.RegisterTools(reg, env); err != nil {
		return nil, fmt.Errorf("alfworld tools: %w", err)
	}
	return &Episode{game: g, env: env, reg: reg, task: TaskText(opening), options: opts}, nil
}

// Env is the episode's environment.
func (e *Episode) Env() *alfworld.Env { return e.env }

// Info gives the task text and the game's task type
// ("pick_heat_then_place_in_recep").
func (e *Episode) Info() task.Info {
	return task.Info{Task: e.task, Type: e.game.TaskType.Short()}
}

// Tools are MINT's ALFWorld functions and the text interface step.
func (e *Episode) Tools() *tool.Registry { return e.reg }

// Commands are the text format's command forms, by grammar.
func Commands(g alfworld.Grammar) string {
	if g == alfworld.Current {
		return "go to X, open X, close X, take X from Y, move X to Y, clean X with Y, heat X with Y, cool X with Y, use X, examine X, look, inventory"
	}
	return "go to X, open X, close X, take X from Y, put X in/on Y, clean X with Y, heat X with Y, cool X with Y, use X, examine X, look, inventory"
}

// Prompt renders the first user message. In code format with
// Options.Example it is MINT's, byte for byte: its instructions, the tools,
// the in-context example of the game's task type, and the task.
func (e *Episode) Prompt(f task.Format, l task.Limits) (string, error) {
	data := prompt.Data{Limits: l, Task: e.task, Commands: Commands(e.options.Grammar)}
	if e.options.Example && f == task.Code {
		data.Example = Example(e.game.TaskType)
	}
	return prompt.Render(f, e.reg, data)
}

// Check accepts a solution when the environment is won: ALFWorld decides
// success, not the answer's text.
func (e *Episode) Check(context.Context, string) bool { return e.env.Won() }

// Done reports ALFWorld's done flag (a win, or the step limit).
func (e *Episode) Done() bool { return e.env.Done() }

// Won reports whether the goal is met.
func (e *Episode) Won() bool { return e.env.Won() }

// Expert is the built-in ALFWorld expert writing in format f.
func (e *Episode) Expert(f task.Format) (task.Policy, error) {
	return &ExpertPolicy{Env: e.env, Format: f}, nil
}

// Conventions are MINT's (the loop's defaults).
func (e *Episode) Conventions() task.Conventions { return task.Conventions{} }

// Close does nothing: the environment holds no outside resources.
func (e *Episode) Close() error { return nil }

// TaskText is the task text MINT gives the model for a game, from the
// environment's opening observation: "Interact with a household to solve a
// task. \n" then the room and the task, without TextWorld's banner.
func TaskText(opening string) string {
	s := strings.TrimPrefix(opening, "-= Welcome to TextWorld, ALFRED! =-\n\n")
	s = strings.Replace(s, "\n\nYour task is to: ", "\nYour task is to: ", 1)
	return "Interact with a household to solve a task. \n" + strings.TrimRight(s, "\n")
}

// ExampleName is the name MINT gives a task type's in-context example: put,
// clean, heat, cool, examine or puttwo (MINT matches the game folder's
// prefix, so pick_and_place_with_movable_recep shows put). An unknown type
// shows puttwo.
func ExampleName(t alfworld.TaskType) string {
	switch t {
	case alfworld.Put, alfworld.PutMovable:
		return "put"
	case alfworld.Clean:
		return "clean"
	case alfworld.Heat:
		return "heat"
	case alfworld.Cool:
		return "cool"
	case alfworld.Examine:
		return "examine"
	}
	return "puttwo"
}

// Example is the in-context example MINT shows for a task type in the code
// format (MINT's in_context_examples/alfworld/<type>/with_tool.txt, as its
// recorded prompts hold it).
func Example(t alfworld.TaskType) string {
	data, err := examples.ReadFile("examples/" + ExampleName(t) + ".txt")
	if err != nil {
		panic(err) // embedded; a test reads every one
	}
	return string(data)
}
