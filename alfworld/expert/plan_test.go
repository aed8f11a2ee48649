package expert

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/alfworld/scene"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenPlans checks the plans of one generated game per task type
// against testdata/plans.golden (-update rewrites it).
func TestGoldenPlans(t *testing.T) {
	g := scene.Default()
	var b strings.Builder
	for i, k := range scene.Kinds() {
		s, err := g.Generate(int64(100+i), scene.Options{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		st, err := SolveWorld(worldOfScene(s, g.Tables()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "## seed %d %s: %s\n", 100+i, k, s.Task.Text)
		fmt.Fprintf(&b, "object=%s count=%d targets=%q transform=%q with=%q dest=%q\nsearch=%q\n", st.Object, st.Count, st.Targets, st.Transform, st.With, st.Dest, st.Search)
		for _, c := range st.Commands {
			fmt.Fprintf(&b, "> %s\n", c)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "plans.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("plans differ from %s (-update rewrites it):\n%s", golden, b.String())
	}
}

// TestStepsAgreeWithCommands checks that the structured plan says what the
// command list does.
func TestStepsAgreeWithCommands(t *testing.T) {
	g := scene.Default()
	for seed := int64(0); seed < 300; seed++ {
		s, err := g.Generate(seed, scene.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := worldOfScene(s, g.Tables())
		st, err := SolveWorld(w)
		if err != nil {
			t.Fatal(err)
		}
		cmds, _ := PlanWorld(w)
		if strings.Join(cmds, "\n") != strings.Join(st.Commands, "\n") {
			t.Fatalf("seed %d: Solve and Plan disagree", seed)
		}
		next, _ := NextWorld(w)
		if next != cmds[0] {
			t.Fatalf("seed %d: Next %q, plan starts %q", seed, next, cmds[0])
		}
		takes := 0
		var froms []string
		for _, c := range cmds {
			if rest, ok := strings.CutPrefix(c, "take "); ok {
				_, from, _ := strings.Cut(rest, " from ")
				if len(froms) == 0 || froms[len(froms)-1] != from {
					froms = append(froms, from)
				}
				if from != st.Search[len(froms)-1] {
					t.Fatalf("seed %d: take %d from %q, Search %q", seed, takes, from, st.Search)
				}
				if !strings.HasPrefix(rest, st.Object+" ") {
					t.Fatalf("seed %d: takes %q, object %q", seed, rest, st.Object)
				}
				if obj, _, _ := strings.Cut(rest, " from "); takes >= len(st.Targets) || st.Targets[takes] != obj {
					t.Fatalf("seed %d: take %d of %q, Targets %q", seed, takes, obj, st.Targets)
				}
				takes++
			}
		}
		if takes != st.Count {
			t.Fatalf("seed %d: %d takes, count %d", seed, takes, st.Count)
		}
		last := cmds[len(cmds)-1]
		switch s.Task.Kind {
		case scene.Examine:
			if last != "use "+st.With || st.Transform != "use" || st.Dest != "" {
				t.Fatalf("seed %d: examine plan ends %q, steps %+v", seed, last, st)
			}
		default:
			if !strings.HasSuffix(last, " in/on "+st.Dest) {
				t.Fatalf("seed %d: plan ends %q, dest %q", seed, last, st.Dest)
			}
		}
		if tr := st.Transform; tr == "clean" || tr == "heat" || tr == "cool" {
			found := false
			for _, c := range cmds {
				found = found || (strings.HasPrefix(c, tr+" ") && strings.HasSuffix(c, " with "+st.With))
			}
			if !found {
				t.Fatalf("seed %d: no %q with %q in %q", seed, tr, st.With, cmds)
			}
		}
	}
}

// TestPlanFromMidGame plans from states a game reaches on the way: holding
// a stray object, holding the target, the target already transformed, the
// goal already reached.
func TestPlanFromMidGame(t *testing.T) {
	g := scene.Default()
	for seed := int64(0); seed < 200; seed++ {
		s, err := g.Generate(seed, scene.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w := worldOfScene(s, g.Tables())
		full, err := PlanWorld(clone(w))
		if err != nil {
			t.Fatal(err)
		}
		// Replay every prefix of the plan, then plan again from there.
		for cut := 0; cut <= len(full); cut++ {
			sm := &sim{w: clone(w)}
			for _, c := range full[:cut] {
				if err := sm.step(c); err != nil {
					t.Fatal(err)
				}
			}
			rest, err := PlanWorld(clone(sm.w))
			if err != nil {
				t.Fatalf("seed %d after %d steps: %v", seed, cut, err)
			}
			if len(rest) > len(full)-cut {
				t.Fatalf("seed %d after %d steps: replan has %d steps, %d were left", seed, cut, len(rest), len(full)-cut)
			}
			for _, c := range rest {
				if err := sm.step(c); err != nil {
					t.Fatalf("seed %d after %d steps: %q: %v", seed, cut, c, err)
				}
			}
			if !sm.won() {
				t.Fatalf("seed %d after %d steps: replan does not win", seed, cut)
			}
		}
		// Holding a stray object: it is put down first.
		sm := &sim{w: clone(w)}
		var stray *Object
		for i := range sm.w.Objects {
			o := &sm.w.Objects[i]
			if o.Pickupable && o.Type != s.Task.Object && len(o.In) > 0 {
				stray = o
				break
			}
		}
		if stray == nil {
			continue
		}
		stray.In, sm.w.Holding = nil, stray.ID
		rest, err := PlanWorld(clone(sm.w))
		if err != nil {
			t.Fatalf("seed %d holding %s: %v", seed, stray.Name, err)
		}
		for _, c := range rest {
			if err := sm.step(c); err != nil {
				t.Fatalf("seed %d holding %s: %q: %v (plan %q)", seed, stray.Name, c, err, rest)
			}
		}
		if !sm.won() {
			t.Fatalf("seed %d holding %s: plan does not win", seed, stray.Name)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	base := func() *World {
		return &World{
			Agent: "l0",
			Receptacles: []Receptacle{
				{ID: "r1", Name: "cabinet 1", Type: "Cabinet", Loc: "l1", Openable: true},
				{ID: "r2", Name: "countertop 1", Type: "CounterTop", Loc: "l2"},
			},
			Objects: []Object{{ID: "o1", Name: "mug 1", Type: "Mug", In: []string{"r1"}, Pickupable: true}},
			Goal:    Goal{Kind: scene.Put, Object: "Mug", Dest: "CounterTop"},
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*World)
		want string
	}{
		{"no object type", func(w *World) { w.Goal.Object = "" }, "no object type"},
		{"unknown kind", func(w *World) { w.Goal.Kind = "juggle" }, "unknown task type"},
		{"no destination", func(w *World) { w.Goal.Dest = "Fridge" }, "no plan"},
		{"no object", func(w *World) { w.Goal.Object = "Apple" }, "no plan"},
		{"no appliance", func(w *World) { w.Goal.Kind = scene.Heat; w.Objects[0].Heatable = true }, "no plan"},
		{"not heatable", func(w *World) {
			w.Goal.Kind = scene.Heat
			w.Receptacles = append(w.Receptacles, Receptacle{ID: "r3", Name: "microwave 1", Type: "Microwave", Loc: "l3"})
		}, "no plan"},
		{"no lamp", func(w *World) { w.Goal = Goal{Kind: scene.Examine, Object: "Mug", Toggle: "DeskLamp"} }, "no plan"},
		{"holding unknown", func(w *World) { w.Holding = "ghost" }, "unknown object"},
		{"put-two with one", func(w *World) { w.Goal.Kind = scene.PutTwo }, "no plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := base()
			tc.edit(w)
			_, err := PlanWorld(w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.want == "no plan" && !errors.Is(err, ErrUnsolvable) {
				t.Fatalf("err = %v, want ErrUnsolvable", err)
			}
		})
	}
	want := "go to cabinet 1|open cabinet 1|take mug 1 from cabinet 1|go to countertop 1|put mug 1 in/on countertop 1"
	if cmds, err := PlanWorld(base()); err != nil || strings.Join(cmds, "|") != want {
		t.Errorf("classic grammar: %q, %v; want %q", cmds, err, want)
	}
	w := base()
	w.Move = true
	want = strings.Replace(want, "put mug 1 in/on", "move mug 1 to", 1)
	if cmds, err := PlanWorld(w); err != nil || strings.Join(cmds, "|") != want {
		t.Errorf("current grammar: %q, %v; want %q", cmds, err, want)
	}
	w = base()
	w.Objects[0].In = []string{"r2"}
	if cmds, err := PlanWorld(w); err != nil || len(cmds) != 0 {
		t.Errorf("goal already reached: %q, %v; want no commands", cmds, err)
	}
	if next, err := NextWorld(w); err != nil || next != "" {
		t.Errorf("goal already reached: Next %q, %v", next, err)
	}
}
