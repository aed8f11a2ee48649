// Package scene generates new ALFWorld games: rooms shaped like the real
// ones (kitchen, living room, bedroom, bathroom), objects placed as the
// ALFRED scenes place them, and a task of one of the six ALFWorld task
// types. A generated game is a PDDL problem plus a game.tw-pddl file in the
// layout of ALFWorld's own data, reproducible from its seed.
//
// The vocabulary and the distributions (which object types go in which
// receptacle types, how many receptacles of each type a room has, how many
// instances of each object type, which receptacles open) are derived from
// the 134 real games of ALFWorld's valid_unseen split; see DefaultTables.
package scene

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gantry-dev/gantry/alfworld"
)

// Room is a kind of room, as ALFRED names its four scene groups.
type Room string

// The four room kinds.
const (
	Kitchen    Room = "Kitchen"
	LivingRoom Room = "LivingRoom"
	Bedroom    Room = "Bedroom"
	Bathroom   Room = "Bathroom"
)

var rooms = [...]Room{Kitchen, LivingRoom, Bedroom, Bathroom}

// Rooms lists the room kinds in a fixed order.
func Rooms() []Room { return append([]Room(nil), rooms[:]...) }

// RoomOfFloorPlan maps an ALFRED floor plan number to its room kind
// (1–30 kitchens, 201–230 living rooms, 301–330 bedrooms, 401–430 bathrooms).
func RoomOfFloorPlan(n int) (Room, error) {
	switch {
	case n >= 1 && n <= 30:
		return Kitchen, nil
	case n >= 201 && n <= 230:
		return LivingRoom, nil
	case n >= 301 && n <= 330:
		return Bedroom, nil
	case n >= 401 && n <= 430:
		return Bathroom, nil
	}
	return "", fmt.Errorf("floor plan %d is not an ALFRED scene", n)
}

// Kind is an ALFWorld task type, named as ALFWorld names it.
type Kind string

// The six task types.
const (
	Put     Kind = "pick_and_place_simple"
	Clean   Kind = "pick_clean_then_place_in_recep"
	Heat    Kind = "pick_heat_then_place_in_recep"
	Cool    Kind = "pick_cool_then_place_in_recep"
	Examine Kind = "look_at_obj_in_light"
	PutTwo  Kind = "pick_two_obj_and_place"
)

var kinds = [...]Kind{Put, Clean, Heat, Cool, Examine, PutTwo}

// Kinds lists the six task types in a fixed order.
func Kinds() []Kind { return append([]Kind(nil), kinds[:]...) }

// Task is what the player must do: Object and Dest are ALFRED type names
// ("Mug", "CoffeeMachine"); Toggle is the lamp type for Examine tasks.
type Task struct {
	Kind   Kind
	Object string
	Dest   string // empty for Examine
	Toggle string // "DeskLamp" or "FloorLamp" for Examine, else empty
	Text   string // "Your task is to: ..."
}

// Receptacle is one receptacle of a scene. Type is the ALFRED type name
// without the "Type" suffix ("Cabinet").
type Receptacle struct {
	ID       string
	Type     string
	Loc      string
	Openable bool
}

// Object is one object of a scene. In names the receptacle that holds it,
// empty for objects that stand on their own (windows, chairs, floor lamps).
type Object struct {
	ID   string
	Type string
	Loc  string
	In   string
	// Also lists further receptacles holding the object at once (the real
	// games have a few: a bowl on a shelf and on the desk it overlaps).
	Also []string
	Cool bool // starts cool (objects kept in a fridge)
}

// Scene is one game: a room, its receptacles and objects, where the agent
// starts, and the task.
type Scene struct {
	Name        string // the PDDL problem name
	Room        Room
	FloorPlan   int // the ALFRED floor plan the room is modelled on (0 if unknown)
	Seed        int64
	Receptacles []Receptacle
	Objects     []Object
	AgentLoc    string
	Task        Task
}

var typeSuffix = regexp.MustCompile(`Type$`)

func stripType(s string) string { return typeSuffix.ReplaceAllString(s, "") }

// FromProblem reads the scene of a PDDL problem (real or generated): its
// receptacles, objects, placements, agent start and task. Room is left
// empty; the caller knows it from the floor plan.
func FromProblem(p *Problem) (*Scene, error) {
	s := &Scene{Name: p.Name}
	recIdx := map[string]int{}
	objIdx := map[string]int{}
	for _, d := range p.Objects {
		switch d.Type {
		case "receptacle":
			recIdx[d.Name] = len(s.Receptacles)
			s.Receptacles = append(s.Receptacles, Receptacle{ID: d.Name})
		case "object":
			if !strings.Contains(d.Name, "_bar_") {
				continue // the header lists every type name as an object
			}
			objIdx[d.Name] = len(s.Objects)
			s.Objects = append(s.Objects, Object{ID: d.Name})
		}
	}
	rec := func(f Fact, i int) (*Receptacle, error) {
		j, ok := recIdx[f[i]]
		if !ok {
			return nil, fmt.Errorf("fact %v: %q is not a declared receptacle", []string(f), f[i])
		}
		return &s.Receptacles[j], nil
	}
	obj := func(f Fact, i int) (*Object, error) {
		j, ok := objIdx[f[i]]
		if !ok {
			return nil, fmt.Errorf("fact %v: %q is not a declared object", []string(f), f[i])
		}
		return &s.Objects[j], nil
	}
	for _, f := range p.Init {
		var err error
		var r *Receptacle
		var o *Object
		switch strings.ToLower(f[0]) {
		case "receptacletype", "receptacleatlocation", "openable":
			want := 3
			if strings.EqualFold(f[0], "openable") {
				want = 2
			}
			if len(f) != want {
				return nil, fmt.Errorf("fact %v: want %d arguments", []string(f), want-1)
			}
			if r, err = rec(f, 1); err != nil {
				return nil, err
			}
			switch strings.ToLower(f[0]) {
			case "receptacletype":
				r.Type = stripType(f[2])
			case "receptacleatlocation":
				r.Loc = f[2]
			default:
				r.Openable = true
			}
		case "objecttype", "objectatlocation", "iscool":
			want := 3
			if strings.EqualFold(f[0], "iscool") {
				want = 2
			}
			if len(f) != want {
				return nil, fmt.Errorf("fact %v: want %d arguments", []string(f), want-1)
			}
			if o, err = obj(f, 1); err != nil {
				return nil, err
			}
			switch strings.ToLower(f[0]) {
			case "objecttype":
				o.Type = stripType(f[2])
			case "objectatlocation":
				o.Loc = f[2]
			default:
				o.Cool = true
			}
		case "inreceptacle":
			if len(f) != 3 {
				return nil, fmt.Errorf("fact %v: want 2 arguments", []string(f))
			}
			if o, err = obj(f, 1); err != nil {
				return nil, err
			}
			if _, err = rec(f, 2); err != nil {
				return nil, err
			}
			if o.In == "" {
				o.In = f[2]
			} else if o.In != f[2] {
				o.Also = append(o.Also, f[2])
			}
		case "atlocation":
			if len(f) != 3 {
				return nil, fmt.Errorf("fact %v: want 2 arguments", []string(f))
			}
			s.AgentLoc = f[2]
		}
	}
	for _, r := range s.Receptacles {
		if r.Type == "" || r.Loc == "" {
			return nil, fmt.Errorf("receptacle %s has no type or location", r.ID)
		}
	}
	t, err := TaskOfGoal(p.Goal)
	if err != nil {
		return nil, err
	}
	s.Task = t
	return s, nil
}

var (
	reObjType  = regexp.MustCompile(`\(objectType \?(o|o1) (\w+)Type\)`)
	reRecType  = regexp.MustCompile(`\(receptacleType \?r (\w+)Type\)`)
	reLampType = regexp.MustCompile(`\(objectType \?ot (\w+)Type\)`)
)

// TaskOfGoal recognises which of the six task types a goal formula states,
// and its object, destination and lamp types. Task.Text is left empty.
func TaskOfGoal(goal string) (Task, error) {
	var t Task
	if strings.Contains(goal, "inReceptacleObject") {
		return t, fmt.Errorf("goal puts an object in a movable receptacle (pick_and_place_with_movable_recep), which is not one of the six task types")
	}
	om := reObjType.FindStringSubmatch(goal)
	if om == nil {
		return t, fmt.Errorf("goal names no object type")
	}
	t.Object = om[2]
	switch {
	case strings.Contains(goal, "isToggled"):
		t.Kind = Examine
		lm := reLampType.FindStringSubmatch(goal)
		if lm == nil {
			return t, fmt.Errorf("examine goal names no lamp type")
		}
		t.Toggle = lm[1]
		return t, nil
	case strings.Contains(goal, "(not (= ?o1 ?o2))"):
		t.Kind = PutTwo
	case strings.Contains(goal, "isClean"):
		t.Kind = Clean
	case strings.Contains(goal, "isHot"):
		t.Kind = Heat
	case strings.Contains(goal, "isCool"):
		t.Kind = Cool
	default:
		t.Kind = Put
	}
	rm := reRecType.FindStringSubmatch(goal)
	if rm == nil {
		return t, fmt.Errorf("goal names no receptacle type")
	}
	t.Dest = rm[1]
	return t, nil
}

// FromGame reads the scene of a game the engine has parsed. An object in
// two receptacles at once has the first as In and the others in Also.
// Room and FloorPlan are left unset.
func FromGame(g *alfworld.Game) (*Scene, error) {
	task, err := TaskOfGoal(g.Goal)
	if err != nil {
		return nil, err
	}
	task.Text = "Your task is to: " + g.Task
	s := &Scene{
		AgentLoc:    g.Locations[g.AgentStart].ID,
		Task:        task,
		Receptacles: make([]Receptacle, len(g.Receptacles)),
		Objects:     make([]Object, len(g.Objects)),
	}
	for i, r := range g.Receptacles {
		s.Receptacles[i] = Receptacle{ID: r.ID, Type: r.Type, Loc: g.Locations[r.Loc].ID, Openable: r.Openable}
	}
	for i, o := range g.Objects {
		so := Object{ID: o.ID, Type: o.Type, Cool: o.Cool}
		if o.Loc >= 0 {
			so.Loc = g.Locations[o.Loc].ID
		}
		for j, r := range o.In {
			if j == 0 {
				so.In = g.Receptacles[r].ID
			} else {
				so.Also = append(so.Also, g.Receptacles[r].ID)
			}
		}
		s.Objects[i] = so
	}
	return s, nil
}
