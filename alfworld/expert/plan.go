package expert

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/alfworld/scene"
)

// ErrUnsolvable is returned (wrapped) when the state holds no way to reach
// the goal: no object of the type in a receptacle, no destination, no
// appliance or lamp.
var ErrUnsolvable = errors.New("no plan reaches the goal")

// Steps is a plan in the shape a code-writing agent renders as a program:
// find Count objects of type Object by looking in Search in order (opening
// closed receptacles), apply Transform with With, and put each in Dest.
//
//	for r in steps.Search:            # goto(r); open_receptacle(r) if closed
//	    if object seen in r: take_from(obj, r); break
//	clean/heat/cool(obj, steps.With)   # or toggle/use(steps.With) for examine
//	put(obj, steps.Dest)              # twice for put-two tasks
//
// Commands holds the same plan as text commands for the game's grammar.
type Steps struct {
	Kind   scene.Kind
	Object string // object type as the game writes it ("peppershaker")
	Count  int    // objects to place: 1, or 2 for put-two tasks
	// Search lists receptacle names to look in, in order: the ones the
	// plan takes from first, then the others that hold an object of the
	// type, then the other receptacles that could hold one.
	Search []string
	// Targets are the objects the plan takes, in order ("lettuce 1"),
	// from the first entries of Search.
	Targets []string
	// Transform is "clean", "heat" or "cool", "use" for examine tasks;
	// empty for put tasks and when the object (or lamp) is already in the
	// wanted state.
	Transform string
	// With is the receptacle Transform uses ("sinkbasin 1", "microwave 1",
	// "fridge 1") or, for examine tasks, the lamp ("desklamp 1").
	With string
	// Dest is the receptacle to put the objects in; empty for examine.
	Dest     string
	Commands []string
}

// SolveWorld plans from w and returns the plan with its structure.
func SolveWorld(w *World) (*Steps, error) {
	best, err := solve(w)
	if err != nil {
		return nil, err
	}
	st := &Steps{
		Kind:     w.Goal.Kind,
		Object:   strings.ToLower(w.Goal.Object),
		Count:    1,
		Commands: best.cmds,
	}
	if w.Goal.Kind == scene.PutTwo {
		st.Count = 2
	}
	if best.with != nil {
		st.With = best.with.Name
		st.Transform = transformVerb[w.Goal.Kind]
	}
	if best.lamp != nil {
		st.With = best.lamp.Name
		if best.used {
			st.Transform = "use"
		}
	}
	if best.dest != nil {
		st.Dest = best.dest.Name
	}
	seen := map[string]bool{}
	add := func(r *Receptacle) {
		if !seen[r.ID] {
			seen[r.ID] = true
			st.Search = append(st.Search, r.Name)
		}
	}
	for _, r := range best.sources {
		add(r)
	}
	st.Targets = best.targets
	p := newPlanner(w)
	for _, o := range w.Objects {
		if o.Type == w.Goal.Object {
			for _, id := range o.In {
				if r := p.rec[id]; r != nil && r.Type != w.Goal.Dest {
					add(r)
				}
			}
		}
	}
	for i := range w.Receptacles {
		r := &w.Receptacles[i]
		if r.Type != w.Goal.Dest && p.accepts(r, w.Goal.Object) {
			add(r)
		}
	}
	return st, nil
}

// PlanWorld returns text commands that, stepped from w, reach the goal.
func PlanWorld(w *World) ([]string, error) {
	best, err := solve(w)
	if err != nil {
		return nil, err
	}
	return best.cmds, nil
}

// NextWorld returns the first command of the plan from w, or "" when the
// goal already holds.
func NextWorld(w *World) (string, error) {
	cmds, err := PlanWorld(w)
	if err != nil || len(cmds) == 0 {
		return "", err
	}
	return cmds[0], nil
}

var transformVerb = map[scene.Kind]string{scene.Clean: "clean", scene.Heat: "heat", scene.Cool: "cool", scene.Examine: "use"}

var applianceType = map[scene.Kind]string{scene.Clean: "SinkBasin", scene.Heat: "Microwave", scene.Cool: "Fridge"}

// planner simulates the expert's own commands on the parts of the state
// they change.
type planner struct {
	w       *World
	rec     map[string]*Receptacle
	obj     map[string]*Object
	agent   string
	open    map[string]bool
	holding string
	in      map[string][]string // object id -> receptacle ids, as moved by the plan
	done    map[string]bool     // objects transformed by the plan
	toggled map[string]bool
	cmds    []string
	// what the plan used, for Steps
	sources []*Receptacle
	targets []string
	with    *Receptacle
	lamp    *Object
	used    bool // the plan switches the lamp on
	dest    *Receptacle
}

func newPlanner(w *World) *planner {
	p := &planner{
		w:       w,
		rec:     make(map[string]*Receptacle, len(w.Receptacles)),
		obj:     make(map[string]*Object, len(w.Objects)),
		agent:   w.Agent,
		open:    map[string]bool{},
		holding: w.Holding,
		in:      map[string][]string{},
		done:    map[string]bool{},
		toggled: map[string]bool{},
	}
	for i := range w.Receptacles {
		r := &w.Receptacles[i]
		p.rec[r.ID] = r
		if r.Open {
			p.open[r.ID] = true
		}
	}
	for i := range w.Objects {
		o := &w.Objects[i]
		p.obj[o.ID] = o
	}
	return p
}

func (p *planner) clone() *planner {
	q := *p
	q.open = cloneSet(p.open)
	q.done = cloneSet(p.done)
	q.toggled = cloneSet(p.toggled)
	q.in = make(map[string][]string, len(p.in))
	for k, v := range p.in {
		q.in[k] = v
	}
	q.cmds = append([]string(nil), p.cmds...)
	q.sources = append([]*Receptacle(nil), p.sources...)
	q.targets = append([]string(nil), p.targets...)
	return &q
}

func cloneSet(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (p *planner) accepts(r *Receptacle, objType string) bool {
	if p.w.CanContain == nil {
		return true
	}
	return p.w.CanContain[r.Type][objType]
}

// inOf is where an object is now, in the plan's simulation.
func (p *planner) inOf(o *Object) []string {
	if v, ok := p.in[o.ID]; ok {
		return v
	}
	return o.In
}

func (p *planner) goTo(r *Receptacle) {
	if p.agent != r.Loc {
		p.cmds = append(p.cmds, "go to "+r.Name)
		p.agent = r.Loc
	}
}

func (p *planner) openUp(r *Receptacle) {
	if r.Openable && !p.open[r.ID] {
		p.cmds = append(p.cmds, "open "+r.Name)
		p.open[r.ID] = true
	}
}

func (p *planner) take(o *Object, r *Receptacle) {
	p.goTo(r)
	p.openUp(r)
	p.cmds = append(p.cmds, "take "+o.Name+" from "+r.Name)
	p.holding = o.ID
	p.in[o.ID] = nil
	p.sources = append(p.sources, r)
	p.targets = append(p.targets, o.Name)
}

func (p *planner) put(o *Object, r *Receptacle) {
	p.goTo(r)
	p.openUp(r)
	if p.w.Move {
		p.cmds = append(p.cmds, "move "+o.Name+" to "+r.Name)
	} else {
		p.cmds = append(p.cmds, "put "+o.Name+" in/on "+r.Name)
	}
	p.holding = ""
	p.in[o.ID] = []string{r.ID}
}

func (p *planner) transform(kind scene.Kind, o *Object, r *Receptacle) {
	p.goTo(r)
	p.cmds = append(p.cmds, transformVerb[kind]+" "+o.Name+" with "+r.Name)
	p.done[o.ID] = true
	p.with = r
}

// transformed says whether o already has the state kind asks for.
func (p *planner) transformed(kind scene.Kind, o *Object) bool {
	if p.done[o.ID] {
		return true
	}
	switch kind {
	case scene.Clean:
		return o.Clean
	case scene.Heat:
		return o.Hot
	case scene.Cool:
		return o.Cool
	}
	return true
}

// canTransform says whether the domain lets kind apply to o.
func canTransform(kind scene.Kind, o *Object) bool {
	switch kind {
	case scene.Clean:
		return o.Cleanable
	case scene.Heat:
		return o.Heatable
	case scene.Cool:
		return o.Coolable
	}
	return true
}

// source is one way to get an object in hand: it is held already (r nil)
// or lies in r.
type source struct {
	o *Object
	r *Receptacle
}

// sources lists the ways to get an object of the goal's type in hand,
// skipping objects in skip.
func (p *planner) sourcesOf(typ string, skip func(*Object) bool) []source {
	var out []source
	if h := p.obj[p.holding]; h != nil && h.Type == typ && !skip(h) {
		out = append(out, source{o: h})
	}
	for i := range p.w.Objects {
		o := &p.w.Objects[i]
		if o.Type != typ || !o.Pickupable || o.ID == p.holding || skip(o) {
			continue
		}
		for _, id := range p.inOf(o) {
			if r := p.rec[id]; r != nil {
				out = append(out, source{o: o, r: r})
			}
		}
	}
	return out
}

func (p *planner) get(s source) {
	if s.r != nil {
		p.take(s.o, s.r)
	}
}

// clearHands puts down a held object the goal does not want, in the
// cheapest receptacle that accepts it.
func (p *planner) clearHands(keep func(*Object) bool) error {
	h := p.obj[p.holding]
	if p.holding == "" || (h != nil && keep(h)) {
		return nil
	}
	if h == nil {
		return fmt.Errorf("holding unknown object %q: %w", p.holding, ErrUnsolvable)
	}
	var best *planner
	for i := range p.w.Receptacles {
		r := &p.w.Receptacles[i]
		if !p.accepts(r, h.Type) {
			continue
		}
		q := p.clone()
		q.put(h, r)
		q.sources, q.targets = p.sources, p.targets
		if best == nil || len(q.cmds) < len(best.cmds) {
			best = q
		}
	}
	if best == nil {
		return fmt.Errorf("no receptacle takes the held %s: %w", h.Name, ErrUnsolvable)
	}
	*p = *best
	return nil
}

func solve(w *World) (*planner, error) {
	g := w.Goal
	if g.Object == "" {
		return nil, fmt.Errorf("goal has no object type: %w", ErrUnsolvable)
	}
	p := newPlanner(w)
	wanted := func(o *Object) bool { return o.Type == g.Object }
	if err := p.clearHands(wanted); err != nil {
		return nil, err
	}
	var best *planner
	consider := func(q *planner) {
		if best == nil || len(q.cmds) < len(best.cmds) {
			best = q
		}
	}
	switch g.Kind {
	case scene.Put, scene.Clean, scene.Heat, scene.Cool:
		p.solveOne(consider)
	case scene.PutTwo:
		p.solveTwo(consider)
	case scene.Examine:
		p.solveExamine(consider)
	default:
		return nil, fmt.Errorf("unknown task type %q", g.Kind)
	}
	if best == nil {
		return nil, fmt.Errorf("%s %s: %w", g.Kind, g.Object, ErrUnsolvable)
	}
	return best, nil
}

func (p *planner) dests() []*Receptacle {
	var out []*Receptacle
	for i := range p.w.Receptacles {
		r := &p.w.Receptacles[i]
		if r.Type == p.w.Goal.Dest && p.accepts(r, p.w.Goal.Object) {
			out = append(out, r)
		}
	}
	return out
}

func (p *planner) recsOfType(t string) []*Receptacle {
	var out []*Receptacle
	for i := range p.w.Receptacles {
		if r := &p.w.Receptacles[i]; r.Type == t {
			out = append(out, r)
		}
	}
	return out
}

// solveOne plans put, clean, heat and cool tasks: every source, appliance
// and destination is tried, the shortest plan wins.
func (p *planner) solveOne(consider func(*planner)) {
	g := p.w.Goal
	kind := g.Kind
	dests := p.dests()
	// Done already?
	for _, o := range p.w.Objects {
		if o.Type != g.Object || o.ID == p.holding || !p.transformed(kind, &o) {
			continue
		}
		for _, id := range p.inOf(&o) {
			if r := p.rec[id]; r != nil && r.Type == g.Dest {
				consider(p.clone())
				return
			}
		}
	}
	skip := func(o *Object) bool { return !canTransform(kind, o) }
	for _, s := range p.sourcesOf(g.Object, skip) {
		q := p.clone()
		q.get(s)
		var stages []*planner
		if q.transformed(kind, s.o) {
			stages = append(stages, q)
		} else {
			for _, a := range q.recsOfType(applianceType[kind]) {
				t := q.clone()
				t.transform(kind, s.o, a)
				stages = append(stages, t)
			}
		}
		for _, t := range stages {
			for _, d := range dests {
				u := t.clone()
				u.put(s.o, d)
				u.dest = d
				consider(u)
			}
		}
	}
}

// solveTwo plans put-two tasks: for each destination, the two cheapest
// objects are brought one after the other.
func (p *planner) solveTwo(consider func(*planner)) {
	g := p.w.Goal
	for _, d := range p.dests() {
		have := map[string]bool{}
		for i := range p.w.Objects {
			o := &p.w.Objects[i]
			if o.Type != g.Object || o.ID == p.holding {
				continue
			}
			for _, id := range p.inOf(o) {
				if id == d.ID {
					have[o.ID] = true
				}
			}
		}
		q := p.clone()
		q.dest = d
		ok := true
		for n := len(have); n < 2; n++ {
			var best *planner
			var bestObj string
			for _, s := range q.sourcesOf(g.Object, func(o *Object) bool { return have[o.ID] }) {
				t := q.clone()
				t.get(s)
				t.put(s.o, d)
				if best == nil || len(t.cmds) < len(best.cmds) {
					best, bestObj = t, s.o.ID
				}
			}
			if best == nil {
				ok = false
				break
			}
			q = best
			have[bestObj] = true
		}
		if ok {
			consider(q)
		}
	}
}

// solveExamine plans examine tasks: hold the object, stand at a lamp,
// switch it on.
func (p *planner) solveExamine(consider func(*planner)) {
	g := p.w.Goal
	for i := range p.w.Objects {
		lamp := &p.w.Objects[i]
		if lamp.Type != g.Toggle || !lamp.Toggleable {
			continue
		}
		for _, lid := range p.inOf(lamp) {
			lr := p.rec[lid]
			if lr == nil {
				continue
			}
			for _, s := range p.sourcesOf(g.Object, func(*Object) bool { return false }) {
				q := p.clone()
				q.get(s)
				q.goTo(lr)
				if !lamp.Toggled && !q.toggled[lamp.ID] {
					q.cmds = append(q.cmds, "use "+lamp.Name)
					q.toggled[lamp.ID] = true
					q.used = true
				}
				q.lamp = lamp
				consider(q)
			}
		}
	}
}
