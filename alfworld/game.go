package alfworld

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// TaskType is one of ALFWorld's task families, named after the prefix of
// the game's folder (pick_and_place_simple, ...).
type TaskType int

// The task types. Unknown is a game whose type could not be told.
const (
	Unknown    TaskType = iota
	Put                 // pick_and_place_simple
	Clean               // pick_clean_then_place_in_recep
	Heat                // pick_heat_then_place_in_recep
	Cool                // pick_cool_then_place_in_recep
	Examine             // look_at_obj_in_light
	PutTwo              // pick_two_obj_and_place
	PutMovable          // pick_and_place_with_movable_recep (train split only)
)

var taskPrefixes = [...]string{"", "pick_and_place_simple", "pick_clean_then_place_in_recep",
	"pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "look_at_obj_in_light",
	"pick_two_obj_and_place", "pick_and_place_with_movable_recep"}

// String is the folder-name prefix of the task type ("pick_and_place_simple").
func (t TaskType) String() string {
	if t <= Unknown || int(t) >= len(taskPrefixes) {
		return "unknown"
	}
	return taskPrefixes[t]
}

// ParseTaskType reads a task type from a game folder name or its prefix
// ("pick_heat_then_place_in_recep-Egg-None-GarbageCan-10" gives Heat).
func ParseTaskType(s string) (TaskType, error) {
	s = filepath.Base(s)
	for t := Put; int(t) < len(taskPrefixes); t++ {
		p := taskPrefixes[t]
		if s == p || strings.HasPrefix(s, p+"-") {
			return t, nil
		}
	}
	return Unknown, fmt.Errorf("unknown ALFWorld task type %q", s)
}

// taskTypeOfText guesses the type from the task sentence, for games that
// do not sit in a named folder.
func taskTypeOfText(task string) TaskType {
	switch {
	case strings.Contains(task, " two "):
		return PutTwo
	case strings.Contains(task, "desklamp") || strings.HasPrefix(task, "look at") || strings.HasPrefix(task, "examine"):
		return Examine
	case strings.Contains(task, "clean"):
		return Clean
	case strings.Contains(task, "hot ") || strings.HasPrefix(task, "heat"):
		return Heat
	case strings.Contains(task, "cool ") || strings.HasPrefix(task, "cool"):
		return Cool
	case task != "":
		return Put
	}
	return Unknown
}

// Object is one object of a game as the problem declares it, with its
// initial state.
type Object struct {
	ID   string // the PDDL id, "Apple_bar__minus_01_dot_05_bar_..."
	Name string // the text name, "apple 1"
	Type string // the ALFRED type without "Type": "Apple"

	Pickupable, Cleanable, Heatable, Coolable, Toggleable, Sliceable, ReceptacleObject bool

	// Initial state.
	In                                    []int // receptacles holding it (an object can be in two)
	Loc                                   int   // location, -1 for none
	Clean, Hot, Cool, Toggled, On, Sliced bool
	Contains                              []int // objects inside it (inReceptacleObject)
}

// Receptacle is one receptacle of a game.
type Receptacle struct {
	ID       string
	Name     string // "cabinet 3"
	Type     string // "Cabinet"
	Loc      int    // location index
	Openable bool
	Opened   bool // initially
}

// Location is one location of a game.
type Location struct {
	ID   string
	Name string // "loc 12"
}

// Game is a parsed ALFWorld problem: a read-only view for planners and
// the shared, immutable part of every Env playing it.
type Game struct {
	// Path is the file the game was loaded from, if any.
	Path string
	// TaskType is the task family; Task is the task sentence
	// ("put a clean cloth in countertop.") without "Your task is to: ".
	TaskType TaskType
	Task     string
	// Objects, Receptacles and Locations are sorted by PDDL id, the order
	// the reference lists them in.
	Objects     []Object
	Receptacles []Receptacle
	Locations   []Location
	// AgentStart is the agent's initial location.
	AgentStart int
	// HoldStart is the object the agent holds initially, -1 for none.
	HoldStart int
	// CanContain maps a receptacle type to the object types it accepts
	// (types without the "Type" suffix).
	CanContain map[string][]string
	// Goal is the problem's goal formula as written.
	Goal string
	// Solvable is the game file's own flag (true for bare problems).
	Solvable bool

	goal       *formula
	nVars      int
	canContain []bool // [rtype*nOT+otype]
	objType    []int  // object -> otype index
	recType    []int  // receptacle -> rtype index
	otypes     []string
	rtypes     []string
	otypeIdx   map[string]int // lower-case "appletype" -> index
	rtypeIdx   map[string]int
	objByName  map[string]int
	recByName  map[string]int
	cleanRT    []bool // rtype usable to clean / heat / cool
	heatRT     []bool
	coolRT     []bool
	knifeOT    []bool
	recsAt     [][]int // location -> receptacles, sorted
	objsOfType [][]int
	recsOfType [][]int
	agentName  string

	cmdOnce [2]sync.Once
	cmds    [2]*commandTable
	init0   *State
}

// gameFile is the JSON layout of a game.tw-pddl file.
type gameFile struct {
	Domain   string `json:"pddl_domain"`
	Grammar  string `json:"grammar"`
	Problem  string `json:"pddl_problem"`
	Solvable *bool  `json:"solvable"`
}

var taskRE = regexp.MustCompile(`"task"\s*:\s*\[\s*\{\s*"rhs"\s*:\s*"((?:[^"\\]|\\.)*)"`)

// ParseGameFile parses a game.tw-pddl file (JSON with pddl_domain,
// grammar, pddl_problem, solvable). Errors in the PDDL name the line
// within pddl_problem.
func ParseGameFile(data []byte) (*Game, error) {
	var f gameFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("game file: %w", err)
	}
	if f.Problem == "" {
		return nil, errors.New("game file: no pddl_problem")
	}
	task := ""
	if m := taskRE.FindStringSubmatch(f.Grammar); m != nil {
		var s string
		if err := json.Unmarshal([]byte(`"`+m[1]+`"`), &s); err == nil {
			task = s
		}
	}
	task = strings.TrimPrefix(task, "Your task is to: ")
	g, err := parseProblem(f.Problem, f.Domain, task)
	if err != nil {
		return nil, fmt.Errorf("pddl_problem: %w", err)
	}
	g.Solvable = f.Solvable == nil || *f.Solvable
	return g, nil
}

// LoadGameFile reads and parses a game.tw-pddl file. The task type comes
// from the name of the folder above the trial folder when it has one.
func LoadGameFile(path string) (*Game, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load game: %w", err)
	}
	g, err := ParseGameFile(data)
	if err != nil {
		return nil, fmt.Errorf("load game %s: %w", path, err)
	}
	g.Path = path
	if t, err := ParseTaskType(filepath.Base(filepath.Dir(filepath.Dir(path)))); err == nil {
		g.TaskType = t
	}
	return g, nil
}

// ParseProblem parses a bare PDDL problem of the ALFRED domain. task is
// the task sentence shown after "Your task is to: " (the reference takes
// it from the game's grammar; "" shows "UNKNOWN GOAL." as the plain
// grammar does). domain may be "" for ALFWorld's own domain.
func ParseProblem(problem []byte, task string) (*Game, error) {
	g, err := parseProblem(string(problem), "", strings.TrimPrefix(task, "Your task is to: "))
	if err != nil {
		return nil, err
	}
	g.Solvable = true
	return g, nil
}

// LoadDir lists the game files under an ALFWorld data directory laid out
// as json_2.1.1/<split>/<task>/<trial>/game.tw-pddl (any depth), sorted.
func LoadDir(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "game.tw-pddl" {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list games in %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list games in %s: no game.tw-pddl files", dir)
	}
	sort.Strings(out)
	return out, nil
}

// ObjectByName finds an object by its text name ("apple 1").
func (g *Game) ObjectByName(name string) (int, bool) { i, ok := g.objByName[name]; return i, ok }

// ReceptacleByName finds a receptacle by its text name ("cabinet 3").
func (g *Game) ReceptacleByName(name string) (int, bool) { i, ok := g.recByName[name]; return i, ok }

// Accepts reports whether receptacle r may hold object o (the domain's
// canContain).
func (g *Game) Accepts(r, o int) bool {
	return g.canContain[g.recType[r]*len(g.otypes)+g.objType[o]]
}

// ReceptaclesAt lists the receptacles at location l, sorted by id.
func (g *Game) ReceptaclesAt(l int) []int { return g.recsAt[l] }

// demangle names entities as ALFWorld does: ids lower-cased and sorted;
// the text name is the part before the first "_bar_" (plus "basin" for
// basins), numbered per name from the highest down in id order.
func demangle(lowerIDs []string) map[string]string {
	ids := append([]string(nil), lowerIDs...)
	sort.Strings(ids)
	count := map[string]int{}
	base := func(id string) (string, bool) {
		name, _, ok := strings.Cut(id, "_bar_")
		if !ok {
			return id, false
		}
		if strings.Contains(id, "basin") {
			name += "basin"
		}
		return name, true
	}
	for _, id := range ids {
		if b, ok := base(id); ok {
			count[b]++
		}
	}
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		b, ok := base(id)
		if !ok {
			out[id] = id
			continue
		}
		out[id] = fmt.Sprintf("%s %d", b, count[b])
		count[b]--
	}
	return out
}

// taskTypeNames are the short names of the task types, the one spelling
// gantry prints.
var taskTypeNames = [...]string{Unknown: "unknown", Put: "put", Clean: "clean", Heat: "heat",
	Cool: "cool", Examine: "examine", PutTwo: "puttwo", PutMovable: "movable"}

// Short is the task type's short name, the one spelling gantry prints:
// "heat" for pick_heat_then_place_in_recep.
func (t TaskType) Short() string {
	if t <= Unknown || int(t) >= len(taskTypeNames) {
		return "unknown"
	}
	return taskTypeNames[t]
}

// TaskTypeName is the short name of a task type given in either spelling:
// "heat" for "pick_heat_then_place_in_recep" (or a game folder starting
// with it) and for "heat". Anything else reads "unknown".
func TaskTypeName(s string) string {
	t, err := ParseTaskTypeName(s)
	if err != nil {
		return "unknown"
	}
	return t.Short()
}

// ParseTaskTypeName reads a task type in either spelling: a short name
// (put, clean, heat, cool, examine, puttwo, movable) or ALFWorld's folder
// prefix (pick_heat_then_place_in_recep).
func ParseTaskTypeName(s string) (TaskType, error) {
	for t, name := range taskTypeNames {
		if s == name && t != int(Unknown) {
			return TaskType(t), nil
		}
	}
	t, err := ParseTaskType(s)
	if err != nil {
		return Unknown, fmt.Errorf("unknown task type %q (%s, or ALFWorld's folder names)", s, strings.Join(taskTypeNames[1:], ", "))
	}
	return t, nil
}
