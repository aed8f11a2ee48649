package expert

import (
	"fmt"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/scene"
)

// Plan returns text commands, in env's grammar, that stepped from env's
// current state win the game. An empty plan means the goal holds already.
func Plan(env *alfworld.Env) ([]string, error) {
	w, err := FromEnv(env)
	if err != nil {
		return nil, err
	}
	return PlanWorld(w)
}

// Next returns the command to step next in env ("" when the goal holds):
// the first of Plan, replanned from the live state each turn.
func Next(env *alfworld.Env) (string, error) {
	w, err := FromEnv(env)
	if err != nil {
		return "", err
	}
	return NextWorld(w)
}

// Solve returns the plan from env's current state with its structure.
func Solve(env *alfworld.Env) (*Steps, error) {
	w, err := FromEnv(env)
	if err != nil {
		return nil, err
	}
	return SolveWorld(w)
}

// FromEnv is the expert's view of an Env's live state.
func FromEnv(env *alfworld.Env) (*World, error) {
	return FromState(env.State(), env.Options().Grammar)
}

// FromState is the expert's view of a game state; grammar selects the
// command text.
func FromState(s *alfworld.State, grammar alfworld.Grammar) (*World, error) {
	g := s.Game()
	task, err := scene.TaskOfGoal(g.Goal)
	if err != nil {
		return nil, fmt.Errorf("expert: goal of %s: %w", gameName(g), err)
	}
	w := &World{
		Agent:       g.Locations[s.AgentLoc()].ID,
		Goal:        Goal{Kind: task.Kind, Object: task.Object, Dest: task.Dest, Toggle: task.Toggle},
		Move:        grammar == alfworld.Current,
		CanContain:  make(map[string]map[string]bool, len(g.CanContain)),
		Receptacles: make([]Receptacle, len(g.Receptacles)),
		Objects:     make([]Object, len(g.Objects)),
	}
	if h := s.Holding(); h >= 0 {
		w.Holding = g.Objects[h].ID
	}
	for rt, ots := range g.CanContain {
		m := make(map[string]bool, len(ots))
		for _, ot := range ots {
			m[ot] = true
		}
		w.CanContain[rt] = m
	}
	for i := range g.Receptacles {
		r := &g.Receptacles[i]
		w.Receptacles[i] = Receptacle{ID: r.ID, Name: r.Name, Type: r.Type, Loc: g.Locations[r.Loc].ID,
			Openable: r.Openable, Open: s.Opened(i)}
	}
	var in []int
	for i := range g.Objects {
		o := &g.Objects[i]
		wo := Object{ID: o.ID, Name: o.Name, Type: o.Type,
			Clean: s.Clean(i), Hot: s.Hot(i), Cool: s.Cool(i), Toggled: s.Toggled(i),
			Pickupable: o.Pickupable, Cleanable: o.Cleanable, Heatable: o.Heatable,
			Coolable: o.Coolable, Toggleable: o.Toggleable}
		in = s.AppendReceptaclesOf(in[:0], i)
		for _, r := range in {
			wo.In = append(wo.In, g.Receptacles[r].ID)
		}
		w.Objects[i] = wo
	}
	return w, nil
}

func gameName(g *alfworld.Game) string {
	if g.Path != "" {
		return g.Path
	}
	return "game"
}
