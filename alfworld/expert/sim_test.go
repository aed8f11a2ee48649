package expert

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/scene"
)

// worldOfScene builds the expert's view of a generated scene's start,
// numbering names per type in declaration order (the engine's own
// numbering is checked by the engine tests).
func worldOfScene(s *scene.Scene, t *scene.Tables) *World {
	w := &World{Agent: s.AgentLoc, Goal: Goal{Kind: s.Task.Kind, Object: s.Task.Object, Dest: s.Task.Dest, Toggle: s.Task.Toggle}}
	w.CanContain = map[string]map[string]bool{}
	for rt, ots := range t.CanContain {
		w.CanContain[rt] = map[string]bool{}
		for _, ot := range ots {
			w.CanContain[rt][ot] = true
		}
	}
	var ids []string
	for _, r := range s.Receptacles {
		ids = append(ids, r.ID)
	}
	for _, o := range s.Objects {
		ids = append(ids, o.ID)
	}
	names := demangle(ids)
	for _, r := range s.Receptacles {
		w.Receptacles = append(w.Receptacles, Receptacle{ID: r.ID, Name: names[r.ID], Type: r.Type, Loc: r.Loc, Openable: r.Openable})
	}
	for _, o := range s.Objects {
		p := t.Objects[o.Type]
		ob := Object{ID: o.ID, Name: names[o.ID], Type: o.Type, Cool: o.Cool,
			Pickupable: p.Pickupable, Cleanable: p.Cleanable, Heatable: p.Heatable, Coolable: p.Coolable, Toggleable: p.Toggleable}
		if o.In != "" {
			ob.In = []string{o.In}
		}
		w.Objects = append(w.Objects, ob)
	}
	return w
}

// demangle names ids as ALFWorld's text environment does: lower-cased
// ids sorted, numbered per name, the first id in order getting the highest
// number ("sinkbasin" for basins).
func demangle(ids []string) map[string]string {
	low := make([]string, len(ids))
	orig := map[string]string{}
	for i, id := range ids {
		low[i] = strings.ToLower(id)
		orig[low[i]] = id
	}
	sort.Strings(low)
	base := func(id string) string {
		name, _, _ := strings.Cut(id, "_bar_")
		if strings.Contains(id, "basin") {
			name += "basin"
		}
		return name
	}
	count := map[string]int{}
	for _, id := range low {
		count[base(id)]++
	}
	out := map[string]string{}
	for _, id := range low {
		b := base(id)
		out[orig[id]] = fmt.Sprintf("%s %d", b, count[b])
		count[b]--
	}
	return out
}

// sim applies commands to a World under the domain's preconditions.
type sim struct{ w *World }

func (s *sim) rec(name string) *Receptacle {
	for i := range s.w.Receptacles {
		if s.w.Receptacles[i].Name == name {
			return &s.w.Receptacles[i]
		}
	}
	return nil
}

func (s *sim) obj(name string) *Object {
	for i := range s.w.Objects {
		if s.w.Objects[i].Name == name {
			return &s.w.Objects[i]
		}
	}
	return nil
}

func (s *sim) step(cmd string) error {
	w := s.w
	at := func(r *Receptacle) error {
		if r == nil {
			return fmt.Errorf("no such receptacle")
		}
		if w.Agent != r.Loc {
			return fmt.Errorf("not at %s", r.Name)
		}
		return nil
	}
	two := func(prefix, sep string) (*Object, *Receptacle, bool) {
		rest, ok := strings.CutPrefix(cmd, prefix)
		if !ok {
			return nil, nil, false
		}
		a, b, ok := strings.Cut(rest, sep)
		if !ok {
			return nil, nil, false
		}
		return s.obj(a), s.rec(b), true
	}
	switch {
	case strings.HasPrefix(cmd, "go to "):
		r := s.rec(strings.TrimPrefix(cmd, "go to "))
		if r == nil || r.Loc == w.Agent {
			return fmt.Errorf("nothing happens")
		}
		w.Agent = r.Loc
	case strings.HasPrefix(cmd, "open "):
		r := s.rec(strings.TrimPrefix(cmd, "open "))
		if err := at(r); err != nil {
			return err
		}
		if !r.Openable || r.Open {
			return fmt.Errorf("cannot open")
		}
		r.Open = true
	case strings.HasPrefix(cmd, "take "):
		o, r, _ := two("take ", " from ")
		if err := at(r); err != nil {
			return err
		}
		if o == nil || w.Holding != "" || !o.Pickupable || (r.Openable && !r.Open) {
			return fmt.Errorf("cannot take")
		}
		found := false
		for _, id := range o.In {
			found = found || id == r.ID
		}
		if !found {
			return fmt.Errorf("%s not in %s", o.Name, r.Name)
		}
		o.In, w.Holding = nil, o.ID
	case strings.HasPrefix(cmd, "put "), strings.HasPrefix(cmd, "move "):
		o, r, ok := two("put ", " in/on ")
		if !ok {
			o, r, _ = two("move ", " to ")
		}
		if err := at(r); err != nil {
			return err
		}
		if o == nil || w.Holding != o.ID || (r.Openable && !r.Open) || !w.CanContain[r.Type][o.Type] {
			return fmt.Errorf("cannot put")
		}
		o.In, w.Holding = []string{r.ID}, ""
	case strings.HasPrefix(cmd, "clean "), strings.HasPrefix(cmd, "heat "), strings.HasPrefix(cmd, "cool "):
		verb, _, _ := strings.Cut(cmd, " ")
		o, r, _ := two(verb+" ", " with ")
		if err := at(r); err != nil {
			return err
		}
		if o == nil || w.Holding != o.ID {
			return fmt.Errorf("not holding")
		}
		switch {
		case verb == "clean" && o.Cleanable && r.Type == "SinkBasin":
			o.Clean = true
		case verb == "heat" && o.Heatable && r.Type == "Microwave":
			o.Hot, o.Cool = true, false
		case verb == "cool" && o.Coolable && r.Type == "Fridge":
			o.Cool, o.Hot = true, false
		default:
			return fmt.Errorf("cannot %s", verb)
		}
	case strings.HasPrefix(cmd, "use "):
		o := s.obj(strings.TrimPrefix(cmd, "use "))
		if o == nil || !o.Toggleable || len(o.In) == 0 {
			return fmt.Errorf("cannot use")
		}
		if err := at(s.recByID(o.In[0])); err != nil {
			return err
		}
		o.Toggled = true
	default:
		return fmt.Errorf("unknown command")
	}
	return nil
}

func (s *sim) recByID(id string) *Receptacle {
	for i := range s.w.Receptacles {
		if s.w.Receptacles[i].ID == id {
			return &s.w.Receptacles[i]
		}
	}
	return nil
}

func (s *sim) won() bool {
	w, g := s.w, s.w.Goal
	count := map[string]int{}
	for _, o := range w.Objects {
		if o.Type != g.Object {
			continue
		}
		ok := true
		switch g.Kind {
		case scene.Clean:
			ok = o.Clean
		case scene.Heat:
			ok = o.Hot
		case scene.Cool:
			ok = o.Cool
		case scene.Examine:
			if w.Holding != o.ID {
				continue
			}
			for _, l := range w.Objects {
				if l.Type == g.Toggle && l.Toggled && len(l.In) > 0 && s.recByID(l.In[0]).Loc == w.Agent {
					return true
				}
			}
			continue
		}
		for _, id := range o.In {
			if r := s.recByID(id); ok && r.Type == g.Dest {
				count[id]++
			}
		}
	}
	need := 1
	if g.Kind == scene.PutTwo {
		need = 2
	}
	for _, n := range count {
		if n >= need {
			return true
		}
	}
	return false
}

func clone(w *World) *World {
	c := *w
	c.Receptacles = append([]Receptacle(nil), w.Receptacles...)
	c.Objects = append([]Object(nil), w.Objects...)
	for i := range c.Objects {
		c.Objects[i].In = append([]string(nil), c.Objects[i].In...)
	}
	return &c
}

// TestPlanWinsGenerated plans every generated game from its start and
// checks the plan under the domain's rules.
func TestPlanWinsGenerated(t *testing.T) {
	g := scene.Default()
	lengths := map[scene.Kind][]int{}
	for seed := int64(0); seed < 1200; seed++ {
		s, err := g.Generate(seed, scene.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := worldOfScene(s, g.Tables())
		cmds, err := PlanWorld(clone(w))
		if err != nil {
			t.Fatalf("seed %d (%s): %v", seed, s.Task.Text, err)
		}
		sm := &sim{w: clone(w)}
		for i, c := range cmds {
			if err := sm.step(c); err != nil {
				t.Fatalf("seed %d (%s): step %d %q: %v\nplan: %q", seed, s.Task.Text, i, c, err, cmds)
			}
		}
		if !sm.won() {
			t.Fatalf("seed %d (%s): plan %q does not win", seed, s.Task.Text, cmds)
		}
		if len(cmds) > 50 {
			t.Fatalf("seed %d: %d steps", seed, len(cmds))
		}
		lengths[s.Task.Kind] = append(lengths[s.Task.Kind], len(cmds))
	}
	for _, k := range scene.Kinds() {
		l := lengths[k]
		sort.Ints(l)
		if len(l) == 0 {
			t.Errorf("no %s game generated", k)
			continue
		}
		t.Logf("%-32s games %4d  steps min %d median %d max %d", k, len(l), l[0], l[len(l)/2], l[len(l)-1])
	}
}

// TestPlanWinsRealLayouts plans the 134 real games' starts under the
// domain's rules (names numbered per type; the engine test checks the
// engine's own numbering and text).
func TestPlanWinsRealLayouts(t *testing.T) {
	tb := scene.DefaultTables()
	games, err := readRealProblems()
	if err != nil {
		t.Fatal(err)
	}
	if len(games) != 134 {
		t.Fatalf("%d real games, want 134", len(games))
	}
	won := 0
	for path, p := range games {
		s, err := scene.FromProblem(p)
		if err != nil {
			t.Fatal(err)
		}
		w := worldOfScene(s, tb)
		cmds, err := PlanWorld(clone(w))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		sm := &sim{w: clone(w)}
		for i, c := range cmds {
			if err := sm.step(c); err != nil {
				t.Fatalf("%s: step %d %q: %v", path, i, c, err)
			}
		}
		if !sm.won() {
			t.Errorf("%s: plan %q does not win", path, cmds)
			continue
		}
		won++
	}
	t.Logf("won %d of %d real layouts", won, len(games))
}

// TestDumpPlans writes generated games and the expert's plans to
// $EXPERT_DUMP, for playing them in the reference engine by hand; it does
// nothing otherwise.
func TestDumpPlans(t *testing.T) {
	dir := os.Getenv("EXPERT_DUMP")
	if dir == "" {
		return
	}
	g := scene.Default()
	for seed := int64(0); seed < 60; seed++ {
		s, err := g.Generate(seed, scene.Options{Kind: scene.Kinds()[seed%6]})
		if err != nil {
			t.Fatal(err)
		}
		data, err := g.MarshalGameFile(s)
		if err != nil {
			t.Fatal(err)
		}
		game, err := alfworld.ParseGameFile(data)
		if err != nil {
			t.Fatal(err)
		}
		env := alfworld.NewEnv(game, alfworld.Options{})
		env.Reset()
		cmds, err := Plan(env)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, s.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "game.tw-pddl"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "plan.txt"), []byte(strings.Join(cmds, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// The engine's observations, one JSON string a line, opening first.
		env.Reset()
		var obs []string
		for _, o := range append([]string{""}, cmds...) {
			if o == "" {
				obs = append(obs, strconv.Quote(env.Reset()))
				continue
			}
			text, _, _ := env.Step(o)
			obs = append(obs, strconv.Quote(text))
		}
		if err := os.WriteFile(filepath.Join(d, "engine_obs.txt"), []byte(strings.Join(obs, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDumpRealPlans writes the expert's plans for the 134 real games to
// $EXPERT_DUMP_REAL/<task>/<trial>/plan.txt, for playing them in the
// reference engine by hand; it does nothing otherwise.
func TestDumpRealPlans(t *testing.T) {
	dir := os.Getenv("EXPERT_DUMP_REAL")
	if dir == "" {
		return
	}
	games, err := readRealProblems()
	if err != nil {
		t.Fatal(err)
	}
	tb := scene.DefaultTables()
	for path, p := range games {
		s, err := scene.FromProblem(p)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := PlanWorld(worldOfScene(s, tb))
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, path)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "plan.txt"), []byte(strings.Join(cmds, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
