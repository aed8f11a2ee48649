package scene

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestGenerateAllKindsAndRooms(t *testing.T) {
	g := Default()
	for _, k := range kinds {
		for _, r := range validRooms[k] {
			posed := false
			for _, pr := range g.rooms[k] {
				posed = posed || pr == r
			}
			s, err := g.Generate(1, Options{Kind: k, Room: r})
			if !posed {
				if err == nil {
					t.Errorf("%s in %s: generated though the room model has no %s", k, r, appliance[k])
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s in %s: %v", k, r, err)
			}
			if s.Task.Kind != k || s.Room != r {
				t.Errorf("asked %s in %s, got %s in %s", k, r, s.Task.Kind, s.Room)
			}
		}
	}
	if _, err := g.Generate(1, Options{Kind: Heat, Room: Bedroom}); err == nil || !strings.Contains(err.Error(), "not posed") {
		t.Errorf("heat in a bedroom: err = %v, want 'not posed'", err)
	}
	if _, err := g.Generate(1, Options{Kind: "juggle"}); err == nil {
		t.Error("unknown task type accepted")
	}
}

func TestGenerateReproducible(t *testing.T) {
	g := Default()
	for seed := int64(0); seed < 20; seed++ {
		a, err := g.Generate(seed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := g.Generate(seed, Options{})
		pa, _ := g.ProblemText(a)
		pb, _ := g.ProblemText(b)
		if pa != pb {
			t.Fatalf("seed %d: two generations differ", seed)
		}
		c, _ := g.Generate(seed+1000, Options{})
		if pc, _ := g.ProblemText(c); pc == pa {
			t.Fatalf("seeds %d and %d give the same game", seed, seed+1000)
		}
	}
}

// TestProblemRoundTrip renders generated scenes as PDDL and reads them back.
func TestProblemRoundTrip(t *testing.T) {
	g := Default()
	for seed := int64(0); seed < 60; seed++ {
		s, err := g.Generate(seed, Options{Kind: kinds[seed%6]})
		if err != nil {
			t.Fatal(err)
		}
		text, err := g.ProblemText(s)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ReadProblem(text)
		if err != nil {
			t.Fatalf("seed %d: generated problem does not read back: %v", seed, err)
		}
		back, err := FromProblem(p)
		if err != nil {
			t.Fatal(err)
		}
		back.Room, back.Seed, back.FloorPlan, back.Task.Text = s.Room, s.Seed, s.FloorPlan, s.Task.Text
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("seed %d: scene read back differs:\n got %+v\nwant %+v", seed, back, s)
		}
	}
}

// TestTaskNotDoneAtStart checks that no generated task starts satisfied
// and that each has the instances it needs.
func TestTaskNotDoneAtStart(t *testing.T) {
	g := Default()
	for seed := int64(0); seed < 600; seed++ {
		s, err := g.Generate(seed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		recType := map[string]string{}
		for _, r := range s.Receptacles {
			recType[r.ID] = r.Type
		}
		avail, lamps, dests := 0, 0, 0
		for _, r := range s.Receptacles {
			if r.Type == s.Task.Dest {
				dests++
			}
		}
		for _, o := range s.Objects {
			if o.Type == s.Task.Object && o.In != "" {
				for _, r := range append([]string{o.In}, o.Also...) {
					if recType[r] == s.Task.Dest {
						t.Fatalf("seed %d: a %s is already in a %s", seed, o.Type, s.Task.Dest)
					}
				}
				avail++
			}
			if o.Type == s.Task.Toggle && o.In != "" {
				lamps++
			}
		}
		need := 1
		if s.Task.Kind == PutTwo {
			need = 2
		}
		if avail < need {
			t.Fatalf("seed %d: %d %s to take, task needs %d", seed, avail, s.Task.Object, need)
		}
		if s.Task.Kind == Examine && lamps == 0 {
			t.Fatalf("seed %d: examine task without a lamp", seed)
		}
		if s.Task.Kind != Examine && dests == 0 {
			t.Fatalf("seed %d: no %s in the room", seed, s.Task.Dest)
		}
		if !strings.HasPrefix(s.Task.Text, "Your task is to: ") || !strings.HasSuffix(s.Task.Text, ".") {
			t.Fatalf("seed %d: task text %q", seed, s.Task.Text)
		}
	}
}

func TestGameFileLayout(t *testing.T) {
	g := Default()
	s, err := g.Generate(7, Options{Kind: Clean})
	if err != nil {
		t.Fatal(err)
	}
	data, err := g.MarshalGameFile(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pddl_domain", "grammar", "pddl_problem", "solvable"} {
		if _, ok := m[k]; !ok {
			t.Errorf("game file lacks %q", k)
		}
	}
	if !strings.Contains(m["grammar"].(string), `"rhs": "`+s.Task.Text+`"`) {
		t.Error("grammar does not carry the task sentence")
	}
	if strings.Contains(m["grammar"].(string), "{task}") {
		t.Error("grammar still has the {task} placeholder")
	}
	// Same structure as a real file: grammar equal up to the task sentence.
	real := loadReal(t)[0]
	task := taskRe.FindStringSubmatch(real.File.Grammar)[1]
	if Grammar(task) != real.File.Grammar {
		t.Error("Grammar(real task) differs from the real grammar")
	}
}

func TestReadProblemErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "line 1: empty problem"},
		{"unclosed", "(define (problem p)\n(:init (a b)\n", "line 2: '(' never closed"},
		{"stray close", "(define (problem p))\n)", "line 2: text after the end"},
		{"not define", "(problem p)", "must start with (define"},
		{"no init", "(define (problem p) (:goal (and)))", "no :init"},
		{"no goal", "(define (problem p) (:init))", "no :goal"},
		{"atom fact", "(define (problem p)\n(:init\n foo) (:goal (and)))", "line 3: fact must be a list"},
		{"untyped objects", "(define (problem p) (:objects a b) (:init) (:goal (and)))", "objects without a type"},
		{"dash at end", "(define (problem p) (:objects a -) (:init) (:goal (and)))", "'-' must follow"},
		{"unknown section", "(define (problem p)\n\n(:frobs) (:init) (:goal (and)))", "line 3: unknown section"},
		{"nested fact", "(define (problem p) (:init (a (b))) (:goal (and)))", "nested list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadProblem(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFromProblemErrors(t *testing.T) {
	base := "(define (problem p) (:objects r1 - receptacle o1 - object) (:init %s) (:goal (and (objectType ?o XType) (receptacleType ?r YType))))"
	for _, tc := range []struct{ name, init, want string }{
		{"undeclared receptacle", "(receptacleType r2 CabinetType)", "not a declared receptacle"},
		{"undeclared object", "(receptacleType r1 CabinetType) (receptacleAtLocation r1 l) (inReceptacle o2 r1)", "not a declared object"},
		{"short fact", "(receptacleType r1)", "want 2 arguments"},
		{"receptacle without location", "(receptacleType r1 CabinetType)", "no type or location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadProblem(strings.Replace(base, "%s", tc.init, 1))
			if err != nil {
				t.Fatal(err)
			}
			_, err = FromProblem(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzReadProblem(f *testing.F) {
	f.Add("(define (problem p) (:objects a - object) (:init (objectType a XType)) (:goal (and (objectType ?o XType) (receptacleType ?r YType))))")
	f.Add("(define (problem p)\n; comment\n(:init\n(a b c)) (:goal (exists (?o - object) (isHot ?o))))")
	f.Add("((((")
	if s, err := Default().Generate(3, Options{}); err == nil {
		text, _ := Default().ProblemText(s)
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ReadProblem(text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error does not name a line: %v", err)
			}
			return
		}
		_, _ = FromProblem(p)
	})
}

func TestGeneratorGame(t *testing.T) {
	g := Default()
	for i, k := range kinds {
		s, err := g.Generate(int64(i), Options{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		game, err := g.Game(s)
		if err != nil {
			t.Fatal(err)
		}
		if game.TaskType.String() != string(k) {
			t.Errorf("%s: engine game has task type %s", k, game.TaskType)
		}
		if len(game.Objects) != len(s.Objects) || len(game.Receptacles) != len(s.Receptacles) {
			t.Errorf("%s: engine reads %d objects, %d receptacles; scene has %d, %d", k,
				len(game.Objects), len(game.Receptacles), len(s.Objects), len(s.Receptacles))
		}
	}
}

func TestTaskOfGoalErrors(t *testing.T) {
	for _, tc := range []struct{ goal, want string }{
		{"(:goal (and))", "no object type"},
		{"(:goal (and (objectType ?o MugType) (isToggled ?ot)))", "no lamp type"},
		{"(:goal (and (objectType ?o MugType) (isHot ?o)))", "no receptacle type"},
		{"(:goal (and (objectType ?o AppleType) (objectType ?mo BowlType) (inReceptacleObject ?o ?mo) (receptacleType ?r FridgeType)))", "movable receptacle"},
	} {
		if _, err := TaskOfGoal(tc.goal); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.goal, err, tc.want)
		}
	}
}

func TestDeriveErrors(t *testing.T) {
	if _, err := Derive(nil); err == nil {
		t.Error("Derive(nil) succeeded")
	}
	real := loadReal(t)
	p := *real[0].Problem
	if _, err := Derive([]SourceGame{{FloorPlan: 99, Problem: &p}}); err == nil || !strings.Contains(err.Error(), "not an ALFRED scene") {
		t.Errorf("floor plan 99: err = %v", err)
	}
	q := p
	q.Objects = append([]Decl{{Name: "Extra", Type: "object"}}, p.Objects...)
	_, err := Derive([]SourceGame{{FloorPlan: real[0].FloorPlan, Problem: &p}, {FloorPlan: real[0].FloorPlan, Problem: &q}})
	if err == nil || !strings.Contains(err.Error(), "header differs") {
		t.Errorf("differing header: err = %v", err)
	}
}
