package scene

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/alfworld"
)

// domainPDDL is the PDDL domain the real game files carry (132 of the 134;
// the other two differ in one commented line).
//
//go:embed domain.pddl
var domainPDDL string

// grammarTemplate is the text grammar the real game files carry, with
// {task} in place of the task sentence.
//
//go:embed grammar.twl2
var grammarTemplate string

// Domain returns the PDDL domain text generated game files carry.
func Domain() string { return domainPDDL }

// Grammar returns the text grammar of a game file with its task sentence.
func Grammar(taskText string) string {
	return strings.Replace(grammarTemplate, "{task}", taskText, 1)
}

// ProblemText renders the scene as a PDDL problem in the layout of
// ALFWorld's own problem files.
func (g *Generator) ProblemText(s *Scene) (string, error) {
	goal, err := g.t.GoalText(s.Task)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(64 << 10)
	fmt.Fprintf(&b, "\n(define (problem %s)\n(:domain alfred)\n(:objects\n", s.Name)
	prev := ""
	for _, d := range g.t.Header {
		if d.Type == prev {
			b.WriteString("        ")
		}
		prev = d.Type
		b.WriteString(d.Name)
		b.WriteString(" - ")
		b.WriteString(d.Type)
		b.WriteString("\n")
	}
	b.WriteString("\n\n")
	decl := func(name, typ string) {
		b.WriteString("        ")
		b.WriteString(name)
		b.WriteString(" - ")
		b.WriteString(typ)
		b.WriteString("\n")
	}
	for _, o := range s.Objects {
		decl(o.ID, "object")
	}
	for _, r := range s.Receptacles {
		decl(r.ID, "receptacle")
	}
	locs := map[string]bool{}
	addLoc := func(l string) {
		if !locs[l] {
			locs[l] = true
			decl(l, "location")
		}
	}
	for _, r := range s.Receptacles {
		addLoc(r.Loc)
	}
	for _, o := range s.Objects {
		addLoc(o.Loc)
	}
	addLoc(s.AgentLoc)
	b.WriteString("        )\n    \n\n(:init\n\n\n")
	fact := func(args ...string) {
		b.WriteString("        (")
		for i, a := range args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a)
		}
		b.WriteString(")\n")
	}
	for _, r := range s.Receptacles {
		fact("receptacleType", r.ID, r.Type+"Type")
	}
	for _, o := range s.Objects {
		fact("objectType", o.ID, o.Type+"Type")
	}
	present := map[string]bool{}
	for _, o := range s.Objects {
		present[o.Type] = true
	}
	rtSeen := map[string]bool{}
	for _, r := range s.Receptacles {
		if rtSeen[r.Type] {
			continue
		}
		rtSeen[r.Type] = true
		for _, ot := range g.t.CanContain[r.Type] {
			if present[ot] {
				fact("canContain", r.Type+"Type", ot+"Type")
			}
		}
	}
	props := func(pred string, has func(ObjectProps) bool) {
		for _, o := range s.Objects {
			if has(g.t.Objects[o.Type]) {
				fact(pred, o.ID)
			}
		}
	}
	props("pickupable", func(p ObjectProps) bool { return p.Pickupable })
	props("isReceptacleObject", func(p ObjectProps) bool { return p.ReceptacleObject })
	for _, r := range s.Receptacles {
		if r.Openable {
			fact("openable", r.ID)
		}
	}
	fact("atLocation", "agent1", s.AgentLoc)
	props("cleanable", func(p ObjectProps) bool { return p.Cleanable })
	props("heatable", func(p ObjectProps) bool { return p.Heatable })
	props("coolable", func(p ObjectProps) bool { return p.Coolable })
	props("sliceable", func(p ObjectProps) bool { return p.Sliceable })
	props("toggleable", func(p ObjectProps) bool { return p.Toggleable })
	for _, o := range s.Objects {
		if o.Cool {
			fact("isCool", o.ID)
		}
	}
	for _, o := range s.Objects {
		if o.In != "" {
			fact("inReceptacle", o.ID, o.In)
		}
		for _, r := range o.Also {
			fact("inReceptacle", o.ID, r)
		}
	}
	for _, r := range s.Receptacles {
		fact("receptacleAtLocation", r.ID, r.Loc)
	}
	for _, o := range s.Objects {
		fact("objectAtLocation", o.ID, o.Loc)
	}
	b.WriteString("        )\n    \n\n        ")
	b.WriteString(goal)
	b.WriteString("\n    )\n    ")
	return b.String(), nil
}

// GameFile renders the scene as an ALFWorld game.tw-pddl file.
func (g *Generator) GameFile(s *Scene) (*GameFile, error) {
	p, err := g.ProblemText(s)
	if err != nil {
		return nil, err
	}
	return &GameFile{Domain: domainPDDL, Grammar: Grammar(s.Task.Text), Problem: p, Solvable: true}, nil
}

// MarshalGameFile renders the scene as the JSON of a game.tw-pddl file.
func (g *Generator) MarshalGameFile(s *Scene) ([]byte, error) {
	gf, err := g.GameFile(s)
	if err != nil {
		return nil, err
	}
	return json.Marshal(gf)
}

// TaskDir is the directory name ALFWorld's data gives the scene's task,
// "<task type>-<Object>-None-<Dest>-<floor plan>" (the lamp stands for the
// destination of examine tasks).
func (s *Scene) TaskDir() string {
	dest := s.Task.Dest
	if s.Task.Kind == Examine {
		dest = s.Task.Toggle
	}
	return fmt.Sprintf("%s-%s-None-%s-%d", s.Task.Kind, s.Task.Object, dest, s.FloorPlan)
}

// TrialDir is the trial directory name of a generated game, "trial_G<seed>".
func (s *Scene) TrialDir() string { return fmt.Sprintf("trial_G%d", s.Seed) }

// Game renders the scene as PDDL and loads it with the engine's parser,
// ready for alfworld.NewEnv.
func (g *Generator) Game(s *Scene) (*alfworld.Game, error) {
	text, err := g.ProblemText(s)
	if err != nil {
		return nil, err
	}
	game, err := alfworld.ParseProblem([]byte(text), s.Task.Text)
	if err != nil {
		return nil, fmt.Errorf("scene %s: engine rejects the problem: %w", s.Name, err)
	}
	game.TaskType, err = alfworld.ParseTaskType(string(s.Task.Kind))
	if err != nil {
		return nil, err
	}
	return game, nil
}
