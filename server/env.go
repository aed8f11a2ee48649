package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/alfworld/scene"
	"github.com/gantry-dev/gantry/tool"
)

// environment is the task a session plays, as the server needs it: a text
// environment with gym-style steps and the tools its code calls. It is the
// one seam between the server and the task packages; an implementation is
// used by one action at a time (the session's lock), never concurrently.
type environment interface {
	// Reset restarts the episode and returns the opening observation.
	Reset() string
	// Step takes one plain text command.
	Step(command string) (obs string, done, won bool)
	// Admissible lists the commands that do something in the current state.
	Admissible() []string
	// Status reports the episode's state after the last step or action.
	Status() status
	// RegisterTools adds the functions code calls to reg.
	RegisterTools(reg *tool.Registry) error
	// Info describes the environment for API responses.
	Info() EnvInfo
}

// status is an episode's state.
type status struct {
	Done, Won bool
	Reward    float64
	Steps     int
}

// EnvSpec chooses a session's task environment.
type EnvSpec struct {
	// Kind is the environment: "alfworld" (default) or "m3tooleval".
	Kind string `json:"kind"`
	// Task is the M3ToolEval task ("family/task", or the last part of one
	// task's name); Format its action format: code (default), json or text.
	Task   string `json:"task,omitempty"`
	Format string `json:"format,omitempty"`
	// Game is an embedded ALFWorld game by its id ("<task>/<trial>").
	Game string `json:"game,omitempty"`
	// Seed generates a new game with the scene generator when Game is empty.
	// Seed 0 with no Game picks one of the embedded games at random.
	Seed int64 `json:"seed,omitempty"`
	// MaxSteps ends the episode after this many commands (0: 50).
	MaxSteps int `json:"max_steps,omitempty"`
}

// EnvInfo describes a session's environment.
type EnvInfo struct {
	Kind string `json:"kind"`
	Game string `json:"game"`
	Task string `json:"task"`
	Seed int64  `json:"seed,omitempty"`
	// Format is the action format of an M3ToolEval session.
	Format string `json:"format,omitempty"`
}

// errBadEnv marks an environment request that cannot be met (unknown kind or
// game); the API answers it with 400.
var errBadEnv = errors.New("bad environment")

// envFactory makes environments. It is safe for concurrent use.
type envFactory struct {
	gen *scene.Generator
	// games holds the embedded games parsed so far (at most 134): a Game is
	// immutable and shared by every Env playing it.
	games sync.Map // id → *alfworld.Game
	// list is the embedded games, unpacked once.
	list func() ([]games.Game, error)
}

// find returns the embedded game id.
func (f *envFactory) find(id string) (games.Game, error) {
	all, err := f.list()
	if err != nil {
		return games.Game{}, err
	}
	for _, g := range all {
		if g.ID == id {
			return g, nil
		}
	}
	return games.Game{}, fmt.Errorf("no embedded game %q (ids look like pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012)", id)
}

// embedded returns a parsed embedded game.
func (f *envFactory) embedded(eg games.Game) (*alfworld.Game, error) {
	if g, ok := f.games.Load(eg.ID); ok {
		return g.(*alfworld.Game), nil
	}
	g, err := eg.Load()
	if err != nil {
		return nil, fmt.Errorf("load game %s: %w", eg.ID, err)
	}
	f.games.Store(eg.ID, g)
	return g, nil
}

func newEnvFactory() *envFactory {
	return &envFactory{gen: scene.Default(), list: sync.OnceValues(games.ValidUnseen)}
}

// kinds lists the environment kinds the factory makes.
func (f *envFactory) kinds() []string { return []string{"alfworld", envM3} }

// make builds the environment spec asks for.
func (f *envFactory) make(spec EnvSpec) (environment, error) {
	switch spec.Kind {
	case "alfworld", "":
	case envM3:
		return makeM3(spec) // m3.go
	default:
		return nil, fmt.Errorf("%w: unknown environment kind %q (known: alfworld, m3tooleval)", errBadEnv, spec.Kind)
	}
	if spec.Task != "" || spec.Format != "" {
		return nil, fmt.Errorf("%w: \"task\" and \"format\" are fields of m3tooleval environments", errBadEnv)
	}
	if spec.MaxSteps < 0 || spec.MaxSteps > 10000 {
		return nil, fmt.Errorf("%w: max_steps %d out of range 0..10000", errBadEnv, spec.MaxSteps)
	}
	var (
		g    *alfworld.Game
		id   string
		seed int64
	)
	switch {
	case spec.Game != "":
		eg, err := f.find(spec.Game)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadEnv, err)
		}
		if g, err = f.embedded(eg); err != nil {
			return nil, err
		}
		id = eg.ID
	case spec.Seed != 0:
		s, err := f.gen.Generate(spec.Seed, scene.Options{})
		if err != nil {
			return nil, fmt.Errorf("%w: seed %d: %v", errBadEnv, spec.Seed, err)
		}
		if g, err = f.gen.Game(s); err != nil {
			return nil, fmt.Errorf("game of seed %d: %w", spec.Seed, err)
		}
		id, seed = s.TaskDir()+"/"+s.TrialDir(), spec.Seed
	default:
		all, err := f.list()
		if err != nil {
			return nil, fmt.Errorf("embedded games: %w", err)
		}
		eg := all[rand.IntN(len(all))]
		if g, err = f.embedded(eg); err != nil {
			return nil, err
		}
		id = eg.ID
	}
	env := alfworld.NewEnv(g, alfworld.Options{MaxSteps: spec.MaxSteps})
	return &alfEnv{env: env, info: EnvInfo{Kind: "alfworld", Game: id, Task: g.Task, Seed: seed}}, nil
}

// alfEnv is an ALFWorld game as an environment.
type alfEnv struct {
	env  *alfworld.Env
	info EnvInfo
}

func (a *alfEnv) Reset() string { return a.env.Reset() }

func (a *alfEnv) Step(cmd string) (string, bool, bool) { return a.env.Step(cmd) }

func (a *alfEnv) Admissible() []string { return a.env.Admissible() }

func (a *alfEnv) Status() status {
	st := status{Done: a.env.Done(), Won: a.env.Won(), Steps: a.env.Steps()}
	if st.Won {
		st.Reward = 1
	}
	return st
}

func (a *alfEnv) RegisterTools(reg *tool.Registry) error { return alfworld.RegisterTools(reg, a.env) }

func (a *alfEnv) Info() EnvInfo { return a.info }
