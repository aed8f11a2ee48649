// Package expert solves ALFWorld games from their state: an oracle that
// knows where every object is (as ALFWorld's own handcoded expert reads the
// engine's facts) and plans the shortest command sequence it can find for
// the six task types.
//
// Plan returns text commands for an Env's current state; Next returns one
// command per turn, for text-mode agents; Solve returns the plan as Steps,
// a structure a code-writing agent renders as a program with loops and
// conditions. PlanWorld, NextWorld and SolveWorld do the same from a plain
// World, for states that do not come from an Env.
package expert

import (
	"github.com/gantry-dev/gantry/alfworld/scene"
)

// World is the state the expert plans from: where the agent is, what it
// holds, every receptacle and object with its text name, and the goal.
// Types are ALFRED type names without the "Type" suffix ("Cabinet", "Mug").
type World struct {
	Agent       string // the agent's location
	Holding     string // id of the held object, "" for none
	Receptacles []Receptacle
	Objects     []Object
	Goal        Goal
	// CanContain says which object types a receptacle type accepts
	// (receptacle type -> object type). Nil accepts everything.
	CanContain map[string]map[string]bool
	// Move selects the current grammar's "move X to Y" over the classic
	// "put X in/on Y".
	Move bool
}

// Receptacle is one receptacle as the expert sees it.
type Receptacle struct {
	ID       string
	Name     string // text name, "cabinet 3"
	Type     string
	Loc      string
	Openable bool
	Open     bool
}

// Object is one object as the expert sees it.
type Object struct {
	ID   string
	Name string   // text name, "mug 2"
	Type string   //
	In   []string // ids of the receptacles holding it (an object in a bowl on a counter is in both)
	// State.
	Clean, Hot, Cool, Toggled bool
	// Properties.
	Pickupable, Cleanable, Heatable, Coolable, Toggleable bool
}

// Goal is the task: the object type, the destination receptacle type, and
// for examine tasks the lamp type.
type Goal struct {
	Kind   scene.Kind
	Object string
	Dest   string
	Toggle string
}
