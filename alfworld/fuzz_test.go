package alfworld

import (
	"strings"
	"testing"
)

func FuzzStep(f *testing.F) {
	g := game(f, pepperGame)
	for _, s := range []string{"go to cabinet 1", "take mug 2 from cabinet 1", "look", "", "  ", "put mug 2 in/on drawer 1", "examine mug 2", "go to cabinet 1\ntake mug 2 from cabinet 1\nexamine mug 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmds string) {
		env := NewEnv(g, Options{MaxSteps: 100})
		env.Reset()
		for _, c := range strings.Split(cmds, "\n") {
			obs, _, _ := env.Step(c)
			if obs == "" {
				t.Fatalf("empty observation for %q", c)
			}
			for _, a := range env.Admissible() {
				if a == "" {
					t.Fatal("empty admissible command")
				}
			}
		}
	})
}

func FuzzParseProblem(f *testing.F) {
	f.Add("(define (problem p)\n(:objects a - agent l - location)\n(:init (atLocation a l))\n(:goal (atLocation a l)))")
	f.Add("(define (problem p) (:objects a - agent l - location o - object t - otype) (:init (atLocation a l) (objectType o t)) (:goal (exists (?x - object) (and (objectType ?x t) (not (holds a ?x))))))")
	f.Add("(define")
	f.Add(")")
	f.Fuzz(func(t *testing.T, text string) {
		g, err := ParseProblem([]byte(text), "")
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		env := NewEnv(g, Options{})
		env.Reset()
		for _, c := range env.Admissible() {
			env.Step(c)
		}
	})
}
