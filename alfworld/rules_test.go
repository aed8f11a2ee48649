package alfworld

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/alfdata"
	"github.com/gantry-dev/gantry/tool"
)

func game(t testing.TB, key string) *Game {
	t.Helper()
	data, ok := alfdata.Games(t)[key]
	if !ok {
		t.Fatalf("no game %s", key)
	}
	g, err := ParseGameFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const (
	pepperGame = "pick_two_obj_and_place-PepperShaker-None-Drawer-10/trial_T20190908_010306_215435"
	keyGame    = "pick_two_obj_and_place-KeyChain-None-Safe-219/trial_T20190909_012027_782483"
	lampGame   = "look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"
)

type stepCase struct{ cmd, want string }

func play(t *testing.T, env *Env, steps []stepCase) {
	t.Helper()
	for i, s := range steps {
		got, _, _ := env.Step(s.cmd)
		if s.want != "*" && got != s.want {
			t.Fatalf("step %d %q:\n got %q\nwant %q", i, s.cmd, got, s.want)
		}
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		game  string
		opts  Options
		steps []stepCase
	}{
		{"two items joined with ', and '", pepperGame, Options{}, []stepCase{
			{"go to cabinet 1", "You arrive at loc 13. On the cabinet 1, you see a mug 2, and a peppershaker 2."},
		}},
		{"closed receptacle, put refused until opened", pepperGame, Options{}, []stepCase{
			{"go to cabinet 1", "*"},
			{"take peppershaker 2 from cabinet 1", "You pick up the peppershaker 2 from the cabinet 1."},
			{"inventory", "You are carrying: a peppershaker 2."},
			{"examine peppershaker 2", "There's nothing special about peppershaker 2."},
			{"go to drawer 1", "*"},
			{"put peppershaker 2 in/on drawer 1", NothingHappens},
			{"open drawer 1", "*"},
			{"put peppershaker 2 in/on drawer 1", "You put the peppershaker 2 in/on the drawer 1."},
			{"close drawer 1", "You close the drawer 1."},
			{"inventory", "You are not carrying anything."},
		}},
		{"go to where you are, or to a receptacle at the same location", keyGame, Options{}, []stepCase{
			{"go to shelf 2", "*"},
			{"go to shelf 2", NothingHappens},
			{"go to shelf 3", NothingHappens},
			{"look", "You are facing the shelf 3, and shelf 2. Next to it, you see nothing."},
		}},
		{"unknown, odd-case and padded commands", keyGame, Options{}, []stepCase{
			{"jump", NothingHappens},
			{"LOOK", NothingHappens},
			{"go  to shelf 1", NothingHappens},
			{"", NothingHappens},
			{"  inventory \n", "You are not carrying anything."},
			{"move keychain 4 to sofa 1", NothingHappens},
			{"help", NothingHappens},
		}},
		{"toggle says on; toggle() is not a command", lampGame, Options{}, []stepCase{
			{"go to desk 1", "*"},
			{"toggle desklamp 1", NothingHappens},
			{"use desklamp 1", "You turn on the desklamp 1."},
			{"use desklamp 1", "You turn on the desklamp 1."},
			// Only the held object can be examined (as in the reference).
			{"examine desklamp 1", NothingHappens},
			{"examine mug 1", NothingHappens},
			{"take mug 1 from desk 1", "*"},
			{"examine mug 1", "This is a normal mug 1. In it, you see nothing."},
		}},
		{"an object in two receptacles stays in the other when taken", lampGame, Options{}, []stepCase{
			{"go to desk 1", "*"},
			{"take bowl 1 from desk 1", "You pick up the bowl 1 from the desk 1."},
			{"go to shelf 3", "You arrive at loc 3. On the shelf 3, you see a bowl 1, and a desklamp 1."},
			{"look", "You are facing the shelf 3. Next to it, you see nothing."},
		}},
		{"current grammar", pepperGame, Options{Grammar: Current}, []stepCase{
			{"go to cabinet 1", "You arrive at cabinet 1. On the cabinet 1, you see a mug 2, and a peppershaker 2."},
			{"take peppershaker 2 from cabinet 1", "*"},
			{"put peppershaker 2 in/on cabinet 1", NothingHappens},
			{"move peppershaker 2 to cabinet 1", "You move the peppershaker 2 to the cabinet 1."},
			{"help", helpText},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := NewEnv(game(t, tc.game), tc.opts)
			env.Reset()
			play(t, env, tc.steps)
		})
	}
}

func TestColdExamine(t *testing.T) {
	for key, data := range alfdata.Games(t) {
		g, err := ParseGameFile(data)
		if err != nil {
			t.Fatal(err)
		}
		for o, ob := range g.Objects {
			if !ob.Cool || !ob.Pickupable || ob.ReceptacleObject || len(ob.In) == 0 {
				continue
			}
			env := NewEnv(g, Options{MaxSteps: -1})
			env.Reset()
			r := ob.In[0]
			env.Step("go to " + g.Receptacles[r].Name)
			env.Step("open " + g.Receptacles[r].Name)
			if obs, _, _ := env.Step("take " + g.Objects[o].Name + " from " + g.Receptacles[r].Name); !strings.HasPrefix(obs, "You pick up") {
				t.Fatalf("%s: take: %q", key, obs)
			}
			if obs, _, _ := env.Step("examine " + ob.Name); obs != "This is a cold "+ob.Name+"." {
				t.Fatalf("%s: examine %q", key, obs)
			}
			return
		}
	}
	t.Fatal("no game with a cool object")
}

func TestStepLimitAndDone(t *testing.T) {
	env := NewEnv(game(t, keyGame), Options{MaxSteps: 3})
	env.Reset()
	for i := 1; i <= 3; i++ {
		_, done, _ := env.Step("look")
		if done != (i == 3) {
			t.Fatalf("step %d: done=%v", i, done)
		}
	}
	last, _, _ := env.Step("inventory")
	if !strings.HasPrefix(last, "You are in the middle") || env.Steps() != 3 {
		t.Fatalf("after done: %q steps=%d", last, env.Steps())
	}
	env.Reset()
	if env.Done() || env.Steps() != 0 {
		t.Fatal("Reset did not restart")
	}
}

func TestWinByGoalFormula(t *testing.T) {
	env := NewEnv(game(t, lampGame), Options{})
	env.Reset()
	play(t, env, []stepCase{{"go to desk 2", "*"}, {"take alarmclock 1 from desk 2", "*"}, {"go to desk 1", "*"}})
	if env.Won() {
		t.Fatal("won before the lamp is on")
	}
	_, done, won := env.Step("use desklamp 1")
	if !won || !done {
		t.Fatal("not won with the alarm clock held under the lit lamp")
	}
}

func TestAdmissible(t *testing.T) {
	env := NewEnv(game(t, pepperGame), Options{})
	env.Reset()
	adm := env.Admissible()
	if adm[0] != "go to cabinet 1" || !contains(adm, "look") || !contains(adm, "inventory") || contains(adm, "help") {
		t.Fatalf("opening admissible: %q", adm)
	}
	for i := 1; i < len(adm); i++ {
		if adm[i-1] >= adm[i] {
			t.Fatalf("not sorted: %q", adm)
		}
	}
	// Every admissible command changes something or reports, never "Nothing happens."
	for _, c := range adm {
		e2 := NewEnv(env.Game(), Options{})
		e2.Reset()
		if obs, _, _ := e2.Step(c); obs == NothingHappens {
			t.Errorf("admissible %q gave Nothing happens.", c)
		}
	}
	env.Step("go to cabinet 1")
	adm = env.Admissible()
	want := []string{"examine cabinet 1", "take mug 2 from cabinet 1", "take peppershaker 2 from cabinet 1"}
	for _, w := range want {
		if !contains(adm, w) {
			t.Errorf("missing %q in %q", w, adm)
		}
	}
	if contains(adm, "examine mug 2") {
		t.Errorf("examine of an object not held admissible")
	}
	if contains(adm, "go to cabinet 1") {
		t.Errorf("go to the current place admissible")
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestTools(t *testing.T) {
	env := NewEnv(game(t, pepperGame), Options{})
	env.Reset()
	reg := tool.NewRegistry()
	if err := RegisterTools(reg, env); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := []struct {
		name string
		args []any
		want string
	}{
		{"goto", []any{"cabinet 1"}, "On the cabinet 1, you see a mug 2, and a peppershaker 2."},
		{"take_from", []any{"peppershaker 2", "cabinet 1"}, "You pick up the peppershaker 2 from the cabinet 1."},
		{"goto", []any{"drawer 1"}, "The drawer 1 is closed."},
		{"open_receptacle", []any{"drawer 1"}, "*"},
		{"put", []any{"peppershaker 2", "drawer 1"}, "You put the peppershaker 2 in/on the drawer 1."},
		{"close_receptacle", []any{"drawer 1"}, "You close the drawer 1."},
		{"toggle", []any{"drawer 1"}, NothingHappens},
		{"step", []any{"go to cabinet 1"}, "You arrive at loc 13. On the cabinet 1, you see a mug 2."},
		{"look", nil, "You are facing the cabinet 1. Next to it, you see nothing."},
	}
	for _, c := range calls {
		got, err := reg.Call(ctx, c.name, c.args, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.want != "*" && got != c.want {
			t.Fatalf("%s%q: got %q want %q", c.name, c.args, got, c.want)
		}
	}
	if _, err := reg.Call(ctx, "goto", nil, nil); err == nil {
		t.Fatal("goto without an argument accepted")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		line       int
	}{
		{"empty", "", 1},
		{"unclosed", "(define (problem p)\n(:objects a - agent\n", 2},
		{"bad type", "(define (problem p)\n(:objects\n a - banana)\n(:init)\n(:goal (and)))", 3},
		{"undeclared", "(define (problem p)\n(:objects a - agent l - location)\n(:init\n(atLocation a l2))\n(:goal (and)))", 4},
		{"unknown predicate", "(define (problem p)\n(:objects a - agent l - location)\n(:init (atLocation a l)\n(flies a))\n(:goal (and)))", 4},
		{"unbound goal var", "(define (problem p)\n(:objects a - agent l - location)\n(:init (atLocation a l))\n(:goal\n (atLocation ?a l)))", 5},
		{"no goal", "(define (problem p)\n(:objects a - agent l - location)\n(:init (atLocation a l)))", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProblem([]byte(tc.text), "")
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a SyntaxError", err)
			}
			if se.Line != tc.line {
				t.Fatalf("line %d, want %d (%v)", se.Line, tc.line, err)
			}
		})
	}
	if _, err := ParseGameFile([]byte(`{"pddl_problem": 3}`)); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func TestParseProblemPlays(t *testing.T) {
	text := `(define (problem p) (:domain alfred)
(:objects agent1 - agent
 Mug_bar_1 - object Desk_bar_1 - receptacle Desk_bar_2 - receptacle
 loc_bar_1 - location loc_bar_2 - location loc_bar_3 - location
 MugType - otype DeskType - rtype)
(:init (atLocation agent1 loc_bar_3)
 (receptacleAtLocation Desk_bar_1 loc_bar_1) (receptacleAtLocation Desk_bar_2 loc_bar_2)
 (receptacleType Desk_bar_1 DeskType) (receptacleType Desk_bar_2 DeskType)
 (objectType Mug_bar_1 MugType) (pickupable Mug_bar_1) (canContain DeskType MugType)
 (inReceptacle Mug_bar_1 Desk_bar_1) (objectAtLocation Mug_bar_1 loc_bar_1))
(:goal (exists (?o - object ?r - receptacle) (and (objectType ?o MugType) (inReceptacle ?o ?r) (not (= ?r Desk_bar_1))))))`
	g, err := ParseProblem([]byte(text), "put a mug in desk.")
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(g, Options{})
	if obs := env.Reset(); obs != "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, you see a desk 2, and a desk 1.\n\nYour task is to: put a mug in desk." {
		t.Fatalf("opening %q", obs)
	}
	play(t, env, []stepCase{
		{"go to desk 2", "You arrive at loc 3. On the desk 2, you see a mug 1."},
		{"take mug 1 from desk 2", "You pick up the mug 1 from the desk 2."},
		{"put mug 1 in/on desk 2", "You put the mug 1 in/on the desk 2."},
	})
	if env.Won() {
		t.Fatal("won with the mug back on the first desk")
	}
	play(t, env, []stepCase{{"take mug 1 from desk 2", "*"}, {"go to desk 1", "*"}, {"put mug 1 in/on desk 1", "*"}})
	if !env.Won() {
		t.Fatal("not won")
	}
}
