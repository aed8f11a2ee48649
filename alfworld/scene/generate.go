package scene

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Options choose what Generate makes. Zero values choose at random.
type Options struct {
	Kind Kind // task type; "" draws one of the six
	Room Room // room kind; "" draws one where the task type is possible
}

// validRooms says in which rooms ALFRED poses each task type.
var validRooms = map[Kind][]Room{
	Put:     {Kitchen, LivingRoom, Bedroom, Bathroom},
	PutTwo:  {Kitchen, LivingRoom, Bedroom, Bathroom},
	Examine: {LivingRoom, Bedroom},
	Clean:   {Kitchen, Bathroom},
	Heat:    {Kitchen},
	Cool:    {Kitchen},
}

// taskTemplates are ALFWorld's two phrasings of each task type.
var taskTemplates = map[Kind][2]string{
	Put:     {"put a {obj} in {recep}", "put some {obj} on {recep}"},
	Clean:   {"put a clean {obj} in {recep}", "clean some {obj} and put it in {recep}"},
	Heat:    {"put a hot {obj} in {recep}", "heat some {obj} and put it in {recep}"},
	Cool:    {"put a cool {obj} in {recep}", "cool some {obj} and put it in {recep}"},
	PutTwo:  {"put two {obj} in {recep}", "find two {obj} and put them in {recep}"},
	Examine: {"look at {obj} under the {toggle}", "examine the {obj} with the {toggle}"},
}

// appliance is the receptacle type a task type's transformation needs,
// which is never its destination.
var appliance = map[Kind]string{Clean: "SinkBasin", Heat: "Microwave", Cool: "Fridge"}

// Generator makes scenes from a set of tables. It is safe for concurrent use.
type Generator struct {
	t     *Tables
	can   map[string]map[string]bool
	rooms map[Kind][]Room // rooms whose model can pose each task type
}

// NewGenerator returns a generator drawing from t.
func NewGenerator(t *Tables) *Generator {
	g := &Generator{t: t, can: map[string]map[string]bool{}}
	for rt, ots := range t.CanContain {
		g.can[rt] = map[string]bool{}
		for _, ot := range ots {
			g.can[rt][ot] = true
		}
	}
	g.rooms = map[Kind][]Room{}
	for _, k := range kinds {
		for _, r := range validRooms[k] {
			if m := t.Rooms[r]; m != nil && modelPoses(t, m, k) {
				g.rooms[k] = append(g.rooms[k], r)
			}
		}
	}
	return g
}

// modelPoses says whether rooms drawn from m can have a task of kind k:
// the appliance it needs, or for examine tasks a lamp on a receptacle.
func modelPoses(t *Tables, m *RoomModel, k Kind) bool {
	if app, ok := appliance[k]; ok {
		for _, rm := range m.Receptacles {
			if rm.Type == app {
				return true
			}
		}
		return false
	}
	if k == Examine {
		for _, om := range m.Objects {
			if !t.Objects[om.Type].Toggleable {
				continue
			}
			for place, n := range om.Places {
				if place != "" && n > 0 {
					return true
				}
			}
		}
		return false
	}
	return true
}

// Tables returns the generator's tables (read only).
func (g *Generator) Tables() *Tables { return g.t }

var defaultGenerator = sync.OnceValue(func() *Generator { return NewGenerator(DefaultTables()) })

// Default returns the generator over DefaultTables.
func Default() *Generator { return defaultGenerator() }

// Generate makes the scene of seed with the default tables.
func Generate(seed int64, opts Options) (*Scene, error) {
	return Default().Generate(seed, opts)
}

// Generate makes one scene. The same seed and options give the same scene.
// The scene's task is never satisfied at the start and always reachable:
// the objects it needs exist in receptacles, and so do the destination and
// the appliance or lamp it needs.
func (g *Generator) Generate(seed int64, opts Options) (*Scene, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	kind := opts.Kind
	if kind == "" {
		var ks []Kind
		for _, k := range kinds {
			for _, r := range g.rooms[k] {
				if opts.Room == "" || r == opts.Room {
					ks = append(ks, k)
					break
				}
			}
		}
		if len(ks) == 0 {
			return nil, fmt.Errorf("generate: no task type is posed in room %q", opts.Room)
		}
		kind = ks[rng.IntN(len(ks))]
	}
	if _, ok := validRooms[kind]; !ok {
		return nil, fmt.Errorf("generate: unknown task type %q", kind)
	}
	var cands []Room
	for _, r := range g.rooms[kind] {
		if opts.Room == "" || opts.Room == r {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		if opts.Room != "" {
			return nil, fmt.Errorf("generate: task type %s is not posed in a %s", kind, opts.Room)
		}
		return nil, fmt.Errorf("generate: no room model for task type %s", kind)
	}
	// A room layout may, rarely, leave no feasible task; draw again.
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		room := cands[rng.IntN(len(cands))]
		s := g.layout(rng, room)
		if err := g.pickTask(rng, s, kind); err != nil {
			lastErr = err
			continue
		}
		s.Seed = seed
		if fps := g.t.Rooms[room].FloorPlans; len(fps) > 0 {
			s.FloorPlan = fps[0]
		}
		s.Name = fmt.Sprintf("plan_gen_%s_%d", strings.ToLower(string(room)), seed)
		return s, nil
	}
	return nil, fmt.Errorf("generate seed %d: %w", seed, lastErr)
}

type namer struct {
	rng  *rand.Rand
	m    *RoomModel
	ids  map[string]bool
	locs map[string]bool
}

// appendCoord appends a coordinate as ALFRED ids write it: "_plus_00_dot_95".
func appendCoord(b []byte, v float64) []byte {
	if v < 0 {
		b = append(b, "_minus_"...)
		v = -v
	} else {
		b = append(b, "_plus_"...)
	}
	c := int(math.Round(v * 100))
	b = append2(b, c/100)
	b = append(b, "_dot_"...)
	return append2(b, c%100)
}

// append2 appends n with at least two digits.
func append2(b []byte, n int) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// id makes a fresh ALFRED-style id "Type_bar_+x_bar_+y_bar_+z" inside the room.
func (n *namer) id(prefix, suffix string) string {
	b := make([]byte, 0, 96)
	for {
		b = append(b[:0], prefix...)
		for i := 0; i < 3; i++ {
			v := n.m.Min[i] + n.rng.Float64()*(n.m.Max[i]-n.m.Min[i])
			b = append(b, "_bar_"...)
			b = appendCoord(b, v)
		}
		b = append(b, suffix...)
		if id := string(b); !n.ids[id] {
			n.ids[id] = true
			return id
		}
	}
}

var rotations = []int{0, 1, 2, 3}
var horizons = []int{0, 30, 45, 60, -30}

func appendInt(b []byte, v int) []byte {
	if v < 0 {
		b = append(b, "_minus_"...)
		v = -v
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// loc makes a fresh location name "loc_bar_X_bar_Z_bar_R_bar_H".
func (n *namer) loc() string {
	for {
		x := int(math.Round((n.m.Min[0] + n.rng.Float64()*(n.m.Max[0]-n.m.Min[0])) / 0.25))
		z := int(math.Round((n.m.Min[2] + n.rng.Float64()*(n.m.Max[2]-n.m.Min[2])) / 0.25))
		r := rotations[n.rng.IntN(len(rotations))]
		h := horizons[n.rng.IntN(len(horizons))]
		b := make([]byte, 0, 48)
		b = append(b, "loc_bar_"...)
		b = appendInt(b, x)
		b = append(b, "_bar_"...)
		b = appendInt(b, z)
		b = append(b, "_bar_"...)
		b = appendInt(b, r)
		b = append(b, "_bar_"...)
		b = appendInt(b, h)
		if l := string(b); !n.locs[l] {
			n.locs[l] = true
			return l
		}
	}
}

// basinParent names the fixture a basin receptacle belongs to in ALFRED ids.
var basinParent = map[string]string{"SinkBasin": "Sink", "BathtubBasin": "Bathtub"}

// layout draws the receptacles and objects of a room.
func (g *Generator) layout(rng *rand.Rand, room Room) *Scene {
	m := g.t.Rooms[room]
	n := &namer{rng: rng, m: m, ids: map[string]bool{}, locs: map[string]bool{}}
	s := &Scene{Room: room}
	byType := map[string][]int{}
	startCool := map[string]float64{}
	for _, rm := range m.Receptacles {
		if rm.StartCool > 0 {
			startCool[rm.Type] = rm.StartCool
		}
		count := rm.Count
		if count >= 2 {
			count += rng.IntN(3) - 1
		}
		for i := 0; i < count; i++ {
			var id string
			if p, ok := basinParent[rm.Type]; ok {
				id = n.id(p, "_bar_"+rm.Type)
			} else {
				id = n.id(rm.Type, "")
			}
			r := Receptacle{ID: id, Type: rm.Type, Openable: rng.Float64() < rm.Openable}
			if rm.ShareLoc > 0 && len(s.Receptacles) > 0 && rng.Float64() < rm.ShareLoc {
				// Share a spot, with a sibling where there is one.
				if same := byType[rm.Type]; len(same) > 0 {
					r.Loc = s.Receptacles[same[rng.IntN(len(same))]].Loc
				} else {
					r.Loc = s.Receptacles[rng.IntN(len(s.Receptacles))].Loc
				}
			} else {
				r.Loc = n.loc()
			}
			byType[rm.Type] = append(byType[rm.Type], len(s.Receptacles))
			s.Receptacles = append(s.Receptacles, r)
		}
	}
	partners := g.overlaps(rng, m, s, byType)
	for _, om := range m.Objects {
		if om.Type == "" || len(om.Counts) == 0 {
			continue
		}
		count := om.Counts[rng.IntN(len(om.Counts))]
		places, weights := placeWeights(om, byType)
		if len(places) == 0 {
			continue
		}
		for i := 0; i < count; i++ {
			place := places[pickWeighted(rng, weights)]
			o := Object{ID: n.id(om.Type, ""), Type: om.Type}
			if place == "" {
				o.Loc = n.loc()
			} else {
				ri := byType[place][rng.IntN(len(byType[place]))]
				r := s.Receptacles[ri]
				o.In, o.Loc = r.ID, r.Loc
				if p := startCool[r.Type]; p > 0 && g.t.Objects[o.Type].Coolable {
					o.Cool = rng.Float64() < p
				}
				for _, pt := range partners[ri] {
					q := s.Receptacles[pt.rec]
					if g.can[q.Type][o.Type] && rng.Float64() < pt.share && !slices.Contains(o.Also, q.ID) {
						o.Also = append(o.Also, q.ID)
					}
				}
			}
			s.Objects = append(s.Objects, o)
		}
	}
	s.AgentLoc = n.loc()
	return s
}

type partner struct {
	rec   int
	share float64
}

// overlaps links the receptacles of a laid-out room that overlap, by the
// room model's overlap pairs.
func (g *Generator) overlaps(rng *rand.Rand, m *RoomModel, s *Scene, byType map[string][]int) map[int][]partner {
	out := map[int][]partner{}
	link := func(i, j int, share float64) {
		out[i] = append(out[i], partner{j, share})
		out[j] = append(out[j], partner{i, share})
	}
	for _, ov := range m.Overlaps {
		as, bs := byType[ov.A], byType[ov.B]
		if ov.SameLoc {
			for _, i := range as {
				for _, j := range bs {
					if i != j && (ov.A != ov.B || i < j) && s.Receptacles[i].Loc == s.Receptacles[j].Loc {
						link(i, j, ov.Share)
					}
				}
			}
			continue
		}
		if len(as) == 0 || len(bs) == 0 {
			continue
		}
		n := int(ov.Pairs)
		if rng.Float64() < ov.Pairs-float64(n) {
			n++
		}
		for k := 0; k < n; k++ {
			i, j := as[rng.IntN(len(as))], bs[rng.IntN(len(bs))]
			if i != j {
				link(i, j, ov.Share)
			}
		}
	}
	return out
}

// placeWeights lists the places an object type is found in that the room
// has, in a fixed order, with their weights.
func placeWeights(om ObjModel, byType map[string][]int) ([]string, []int) {
	keys := make([]string, 0, len(om.Places))
	for k := range om.Places {
		if k == "" || len(byType[k]) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	w := make([]int, len(keys))
	for i, k := range keys {
		w[i] = om.Places[k]
	}
	return keys, w
}

func pickWeighted(rng *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	r := rng.IntN(total)
	for i, x := range w {
		if r < x {
			return i
		}
		r -= x
	}
	return len(w) - 1
}

type taskCand struct{ obj, dest string }

// pickTask chooses a feasible task of kind for s and rearranges s so that
// the task is not already done.
func (g *Generator) pickTask(rng *rand.Rand, s *Scene, kind Kind) error {
	recTypes := map[string]bool{}
	recType := map[string]string{}
	for _, r := range s.Receptacles {
		recTypes[r.Type] = true
		recType[r.ID] = r.Type
	}
	inRec := map[string]int{}            // object type -> instances inside receptacles
	count := map[string]map[string]int{} // object type -> receptacle type -> instances
	for _, o := range s.Objects {
		if o.In != "" {
			inRec[o.Type]++
			if count[o.Type] == nil {
				count[o.Type] = map[string]int{}
			}
			count[o.Type][recType[o.In]]++
			for _, r := range o.Also {
				count[o.Type][recType[r]]++
			}
		}
	}
	objTypes := make([]string, 0, len(inRec))
	for ot := range inRec {
		objTypes = append(objTypes, ot)
	}
	sort.Strings(objTypes)
	need := 1
	if kind == PutTwo {
		need = 2
	}
	if app, ok := appliance[kind]; ok && !recTypes[app] {
		return fmt.Errorf("%s task needs a %s, the room has none", kind, app)
	}
	var toggle string
	if kind == Examine {
		var lamps []string
		seen := map[string]bool{}
		for _, o := range s.Objects {
			if o.In != "" && g.t.Objects[o.Type].Toggleable && !seen[o.Type] {
				seen[o.Type] = true
				lamps = append(lamps, o.Type)
			}
		}
		if len(lamps) == 0 {
			return fmt.Errorf("examine task needs a lamp on a receptacle, the room has none")
		}
		toggle = lamps[rng.IntN(len(lamps))]
	}
	var dests []string
	for rt := range recTypes {
		dests = append(dests, rt)
	}
	sort.Strings(dests)
	var cands []taskCand
	for _, ot := range objTypes {
		p := g.t.Objects[ot]
		if !p.Pickupable || p.Toggleable || inRec[ot] < need {
			continue
		}
		switch kind {
		case Clean:
			if !p.Cleanable {
				continue
			}
		case Heat:
			if !p.Heatable {
				continue
			}
		case Cool:
			if !p.Coolable {
				continue
			}
		case Examine:
			cands = append(cands, taskCand{obj: ot})
			continue
		}
		for _, rt := range dests {
			if !g.can[rt][ot] || rt == appliance[kind] {
				continue
			}
			if g.movable(s, count, ot, rt, need) {
				cands = append(cands, taskCand{obj: ot, dest: rt})
			}
		}
	}
	if len(cands) == 0 {
		return fmt.Errorf("no feasible %s task in this %s", kind, s.Room)
	}
	c := cands[rng.IntN(len(cands))]
	if c.dest != "" {
		g.clearDest(rng, s, c.obj, c.dest)
	}
	s.Task = Task{Kind: kind, Object: c.obj, Dest: c.dest, Toggle: toggle}
	tmpl := taskTemplates[kind][rng.IntN(2)]
	s.Task.Text = "Your task is to: " + strings.NewReplacer(
		"{obj}", strings.ToLower(c.obj),
		"{recep}", strings.ToLower(c.dest),
		"{toggle}", strings.ToLower(toggle),
	).Replace(tmpl) + "."
	return nil
}

// altPlaces lists the receptacles other than those of type dest that can
// hold objects of type ot, as the room's model places them.
func (g *Generator) altPlaces(s *Scene, ot, dest string) []int {
	m := g.t.Rooms[s.Room]
	var places map[string]int
	for _, om := range m.Objects {
		if om.Type == ot {
			places = om.Places
		}
	}
	var out []int
	for i, r := range s.Receptacles {
		if r.Type != dest && places[r.Type] > 0 && g.can[r.Type][ot] {
			out = append(out, i)
		}
	}
	return out
}

// movable says whether, once every instance of ot in a dest receptacle is
// moved elsewhere, at least need instances remain to pick up. count holds
// the instances of each object type in receptacles, by receptacle type.
func (g *Generator) movable(s *Scene, count map[string]map[string]int, ot, dest string, need int) bool {
	outside, inside := 0, 0
	for rt, n := range count[ot] {
		if rt == dest {
			inside += n
		} else {
			outside += n
		}
	}
	if inside == 0 {
		return outside >= need
	}
	return len(g.altPlaces(s, ot, dest)) > 0
}

// clearDest moves every instance of ot out of receptacles of type dest.
func (g *Generator) clearDest(rng *rand.Rand, s *Scene, ot, dest string) {
	recType := map[string]string{}
	for _, r := range s.Receptacles {
		recType[r.ID] = r.Type
	}
	alts := g.altPlaces(s, ot, dest)
	for i := range s.Objects {
		o := &s.Objects[i]
		if o.Type != ot || o.In == "" {
			continue
		}
		inDest := recType[o.In] == dest
		for _, a := range o.Also {
			inDest = inDest || recType[a] == dest
		}
		if !inDest {
			continue
		}
		r := s.Receptacles[alts[rng.IntN(len(alts))]]
		o.In, o.Loc, o.Also = r.ID, r.Loc, nil
	}
}
