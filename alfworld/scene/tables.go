package scene

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Tables holds everything the generator draws from: the vocabulary, the
// domain constraints and one model per room kind. DefaultTables derives
// them from the 134 real games; Derive builds them from any set of games.
type Tables struct {
	// Header is the fixed start of every problem's :objects section, as
	// declarations: the agent, every ALFRED type name as an object, every
	// otype and every rtype.
	Header []Decl `json:"header"`
	// Objects holds the properties of each object type.
	Objects map[string]ObjectProps `json:"objects"`
	// CanContain lists, per receptacle type, the object types it accepts.
	CanContain map[string][]string `json:"can_contain"`
	// Goals holds the goal formula of each task type, with {obj}, {recep}
	// and {toggle} in place of the type names.
	Goals map[Kind]string `json:"goals"`
	// Rooms holds one model per room kind.
	Rooms map[Room]*RoomModel `json:"rooms"`
}

// ObjectProps are the domain properties of an object type.
type ObjectProps struct {
	Pickupable       bool `json:"pickupable,omitempty"`
	Cleanable        bool `json:"cleanable,omitempty"`
	Heatable         bool `json:"heatable,omitempty"`
	Coolable         bool `json:"coolable,omitempty"`
	Sliceable        bool `json:"sliceable,omitempty"`
	Toggleable       bool `json:"toggleable,omitempty"`
	ReceptacleObject bool `json:"receptacle_object,omitempty"`
}

// RoomModel describes the rooms of one kind: which receptacles they have,
// which objects, and where the objects are found.
type RoomModel struct {
	FloorPlans  []int      `json:"floor_plans"`
	Games       int        `json:"games"`
	Receptacles []RecModel `json:"receptacles"`
	Objects     []ObjModel `json:"objects"`
	// Overlaps are pairs of receptacle types whose instances overlap, so
	// that an object in one is also in the other.
	Overlaps []Overlap `json:"overlaps,omitempty"`
	// Min and Max bound the x, y, z coordinates of everything in the room.
	Min [3]float64 `json:"min"`
	Max [3]float64 `json:"max"`
}

// RecModel is one receptacle type of a room model.
type RecModel struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	// Openable is the share of instances that open and close.
	Openable float64 `json:"openable"`
	// ShareLoc is the share of instances reached from the same spot as an
	// earlier receptacle of the room (stove burners, cabinets side by side).
	ShareLoc float64 `json:"share_loc"`
	// StartCool is the share of objects in it that start cool (fridges).
	StartCool float64 `json:"start_cool,omitempty"`
}

// Overlap is a pair of receptacle types whose instances overlap (stove
// burners side by side, a coffee machine on a counter, a shelf above a
// desk): an object in one is, with probability Share, in the other too.
type Overlap struct {
	A, B string
	// SameLoc pairs the instances reached from one spot; otherwise one
	// instance of A overlaps one of B (pairs counts them per game).
	SameLoc bool    `json:"same_loc"`
	Share   float64 `json:"share"`
	// Pairs is the mean number of overlapping pairs per game.
	Pairs float64 `json:"pairs"`
}

// ObjModel is one object type of a room model.
type ObjModel struct {
	Type string `json:"type"`
	// Counts holds the number of instances in each real game of the room
	// (zero where the type was absent); a generated room draws one.
	Counts []int `json:"counts"`
	// Places counts where instances were found, by receptacle type; ""
	// counts instances that stand on their own.
	Places map[string]int `json:"places"`
}

//go:embed tables.json
var tablesJSON []byte

// DefaultTables returns the tables derived from ALFWorld's 134 valid_unseen
// games (regenerate with `go test ./alfworld/scene -run TestTables -update`).
// Each call returns a fresh copy.
func DefaultTables() *Tables {
	t := &Tables{}
	if err := json.Unmarshal(tablesJSON, t); err != nil {
		panic(fmt.Sprintf("scene: embedded tables.json: %v", err))
	}
	return t
}

// SourceGame is one real game given to Derive.
type SourceGame struct {
	FloorPlan int
	Problem   *Problem
}

var coordRe = regexp.MustCompile(`_bar__(plus|minus)_(\d+)_dot_(\d+)_bar__(plus|minus)_(\d+)_dot_(\d+)_bar__(plus|minus)_(\d+)_dot_(\d+)`)

// coords reads the x, y, z position encoded in an ALFRED object id.
func coords(id string) ([3]float64, bool) {
	m := coordRe.FindStringSubmatch(id)
	var c [3]float64
	if m == nil {
		return c, false
	}
	for i := 0; i < 3; i++ {
		v, _ := strconv.ParseFloat(m[2+3*i]+"."+m[3+3*i], 64)
		if m[1+3*i] == "minus" {
			v = -v
		}
		c[i] = v
	}
	return c, true
}

// Derive builds tables from real games.
func Derive(games []SourceGame) (*Tables, error) {
	if len(games) == 0 {
		return nil, fmt.Errorf("derive tables: no games")
	}
	t := &Tables{
		Objects:    map[string]ObjectProps{},
		CanContain: map[string][]string{},
		Goals:      map[Kind]string{},
		Rooms:      map[Room]*RoomModel{},
	}
	canContain := map[string]map[string]bool{}
	rooms := map[Room]*roomAcc{}
	for gi, g := range games {
		p := g.Problem
		room, err := RoomOfFloorPlan(g.FloorPlan)
		if err != nil {
			return nil, fmt.Errorf("game %d (%s): %w", gi, p.Name, err)
		}
		// The header: declarations that are not scene instances.
		var header []Decl
		for _, d := range p.Objects {
			if strings.Contains(d.Name, "_bar_") || strings.HasPrefix(d.Name, "loc_bar_") {
				continue
			}
			header = append(header, d)
		}
		if t.Header == nil {
			t.Header = header
		} else if !equalDecls(t.Header, header) {
			return nil, fmt.Errorf("game %s: :objects header differs from the first game's", p.Name)
		}
		sc, err := FromProblem(p)
		if err != nil {
			return nil, fmt.Errorf("game %s: %w", p.Name, err)
		}
		objType := map[string]string{}
		for _, o := range sc.Objects {
			objType[o.ID] = o.Type
		}
		for _, f := range p.Init {
			if len(f) < 2 {
				continue
			}
			switch strings.ToLower(f[0]) {
			case "cancontain":
				if len(f) == 3 {
					rt, ot := stripType(f[1]), stripType(f[2])
					if canContain[rt] == nil {
						canContain[rt] = map[string]bool{}
					}
					canContain[rt][ot] = true
				}
			case "pickupable", "cleanable", "heatable", "coolable", "sliceable", "toggleable", "isreceptacleobject":
				ot, ok := objType[f[1]]
				if !ok {
					continue
				}
				pr := t.Objects[ot]
				switch strings.ToLower(f[0]) {
				case "pickupable":
					pr.Pickupable = true
				case "cleanable":
					pr.Cleanable = true
				case "heatable":
					pr.Heatable = true
				case "coolable":
					pr.Coolable = true
				case "sliceable":
					pr.Sliceable = true
				case "toggleable":
					pr.Toggleable = true
				case "isreceptacleobject":
					pr.ReceptacleObject = true
				}
				t.Objects[ot] = pr
			}
		}
		for _, o := range sc.Objects {
			if _, ok := t.Objects[o.Type]; !ok && o.Type != "" {
				t.Objects[o.Type] = ObjectProps{}
			}
		}
		// Goal template.
		if _, ok := t.Goals[sc.Task.Kind]; !ok {
			t.Goals[sc.Task.Kind] = goalTemplate(p.Goal, sc.Task)
		}
		// Room model.
		ra := rooms[room]
		if ra == nil {
			ra = &roomAcc{
				model:     &RoomModel{Min: [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}, Max: [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}},
				recs:      map[string]*RecModel{},
				openable:  map[string]int{},
				shared:    map[string]int{},
				held:      map[string]int{},
				cool:      map[string]int{},
				overlap:   map[Overlap]*overlapAcc{},
				objCounts: map[string][]int{},
				places:    map[string]map[string]int{},
				plans:     map[int]bool{},
			}
			rooms[room] = ra
		}
		ra.plans[g.FloorPlan] = true
		gameIdx := ra.model.Games
		ra.model.Games++
		recType := map[string]string{}
		seenLoc := map[string]bool{}
		counts := map[string]int{}
		for _, r := range sc.Receptacles {
			recType[r.ID] = r.Type
			counts[r.Type]++
			if ra.recs[r.Type] == nil {
				ra.recs[r.Type] = &RecModel{Type: r.Type}
				ra.recOrder = append(ra.recOrder, r.Type)
			}
			if r.Openable {
				ra.openable[r.Type]++
			}
			if seenLoc[r.Loc] {
				ra.shared[r.Type]++
			}
			seenLoc[r.Loc] = true
			ra.extend(r.ID)
		}
		for typ, n := range counts {
			ra.recs[typ].Count += n
		}
		objN := map[string]int{}
		for _, o := range sc.Objects {
			if o.Type == "" {
				continue // declared without a type (faucets, lamps fixed to walls)
			}
			objN[o.Type]++
			if _, ok := ra.objCounts[o.Type]; !ok {
				ra.objCounts[o.Type] = make([]int, gameIdx) // absent in earlier games
				ra.objOrder = append(ra.objOrder, o.Type)
				ra.places[o.Type] = map[string]int{}
			}
			ra.places[o.Type][recType[o.In]]++
			if o.In != "" {
				ra.held[recType[o.In]]++
				if o.Cool {
					ra.cool[recType[o.In]]++
				}
			}
			ra.extend(o.ID)
		}
		for _, typ := range ra.objOrder {
			ra.objCounts[typ] = append(ra.objCounts[typ], objN[typ])
		}
		ra.addOverlaps(sc)
	}
	for rt, set := range canContain {
		l := make([]string, 0, len(set))
		for ot := range set {
			l = append(l, ot)
		}
		sort.Strings(l)
		t.CanContain[rt] = l
	}
	for room, ra := range rooms {
		m := ra.model
		for p := range ra.plans {
			m.FloorPlans = append(m.FloorPlans, p)
		}
		sort.Ints(m.FloorPlans)
		for _, typ := range ra.recOrder {
			rm := ra.recs[typ]
			total := float64(rm.Count)
			rm.Openable = round3(float64(ra.openable[typ]) / total)
			rm.ShareLoc = round3(float64(ra.shared[typ]) / total)
			if ra.held[typ] > 0 {
				rm.StartCool = round3(float64(ra.cool[typ]) / float64(ra.held[typ]))
			}
			rm.Count = int(math.Round(total / float64(m.Games)))
			if rm.Count < 1 {
				rm.Count = 1
			}
			m.Receptacles = append(m.Receptacles, *rm)
		}
		for _, typ := range ra.objOrder {
			m.Objects = append(m.Objects, ObjModel{Type: typ, Counts: ra.objCounts[typ], Places: ra.places[typ]})
		}
		for key, acc := range ra.overlap {
			if acc.exposed == 0 {
				continue
			}
			o := key
			o.Share = round3(float64(acc.both) / float64(acc.exposed))
			o.Pairs = round3(float64(acc.pairs) / float64(m.Games))
			m.Overlaps = append(m.Overlaps, o)
		}
		sort.Slice(m.Overlaps, func(i, j int) bool {
			a, b := m.Overlaps[i], m.Overlaps[j]
			if a.A != b.A {
				return a.A < b.A
			}
			return a.B < b.B
		})
		t.Rooms[room] = m
	}
	return t, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

type roomAcc struct {
	model     *RoomModel
	recs      map[string]*RecModel
	recOrder  []string
	openable  map[string]int
	shared    map[string]int
	held      map[string]int // objects in receptacles, by receptacle type
	cool      map[string]int // of those, objects that start cool
	overlap   map[Overlap]*overlapAcc
	objCounts map[string][]int
	objOrder  []string
	places    map[string]map[string]int
	plans     map[int]bool
}

type overlapAcc struct {
	both    int // objects in both receptacles of a pair
	exposed int // objects in either receptacle of a pair
	pairs   int // overlapping pairs seen
}

// addOverlaps finds the receptacle pairs of a real scene that share
// objects and counts, per type pair, how many of the objects in a pair's
// receptacles are in both.
func (ra *roomAcc) addOverlaps(sc *Scene) {
	rec := map[string]*Receptacle{}
	for i := range sc.Receptacles {
		rec[sc.Receptacles[i].ID] = &sc.Receptacles[i]
	}
	type pair struct{ a, b string }
	pairs := map[pair]bool{}
	for _, o := range sc.Objects {
		all := append([]string{o.In}, o.Also...)
		for i := 0; i < len(all); i++ {
			for j := i + 1; j < len(all); j++ {
				a, b := all[i], all[j]
				if rec[a] == nil || rec[b] == nil {
					continue
				}
				if rec[a].Type > rec[b].Type || (rec[a].Type == rec[b].Type && a > b) {
					a, b = b, a
				}
				pairs[pair{a, b}] = true
			}
		}
	}
	for p := range pairs {
		ra0, rb := rec[p.a], rec[p.b]
		key := Overlap{A: ra0.Type, B: rb.Type, SameLoc: ra0.Loc == rb.Loc}
		acc := ra.overlap[key]
		if acc == nil {
			acc = &overlapAcc{}
			ra.overlap[key] = acc
		}
		acc.pairs++
		for _, o := range sc.Objects {
			inA, inB := false, false
			for _, r := range append([]string{o.In}, o.Also...) {
				inA = inA || r == p.a
				inB = inB || r == p.b
			}
			if inA || inB {
				acc.exposed++
			}
			if inA && inB {
				acc.both++
			}
		}
	}
}

// extend widens the room's bounds to the position in an object id.
func (ra *roomAcc) extend(id string) {
	c, ok := coords(id)
	if !ok {
		return
	}
	for i := range c {
		ra.model.Min[i] = math.Min(ra.model.Min[i], c[i])
		ra.model.Max[i] = math.Max(ra.model.Max[i], c[i])
	}
}

func equalDecls(a, b []Decl) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// goalTemplate turns a real goal into a template by replacing the task's
// type names with placeholders.
func goalTemplate(goal string, t Task) string {
	r := []string{" " + t.Object + "Type)", " {obj}Type)"}
	if t.Dest != "" {
		r = append(r, " "+t.Dest+"Type)", " {recep}Type)")
	}
	if t.Toggle != "" {
		r = append(r, " "+t.Toggle+"Type)", " {toggle}Type)")
	}
	return strings.NewReplacer(r...).Replace(goal)
}

// GoalText fills a goal template with a task's type names.
func (t *Tables) GoalText(task Task) (string, error) {
	tmpl, ok := t.Goals[task.Kind]
	if !ok {
		return "", fmt.Errorf("no goal template for task type %q", task.Kind)
	}
	return strings.NewReplacer("{obj}", task.Object, "{recep}", task.Dest, "{toggle}", task.Toggle).Replace(tmpl), nil
}
