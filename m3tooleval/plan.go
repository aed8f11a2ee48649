package m3tooleval

import (
	"context"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/tool"
)

// ExpertCall is one tool call of the expert's plan, with the observation
// it gave when the program made it.
type ExpertCall struct {
	Tool string
	Args []Value
	// Observation is what a json or text action calling the tool shows:
	// str() of the result cut at MaxObservation, or the harness's failure
	// message.
	Observation string
}

// ExpertPlan is the expert's solution in the json and text formats: the
// tool calls its code program makes, in order, one per turn, then the
// answer the program printed. The reasoning between the calls (choosing
// the cheapest flight, reading a price off a page) is the expert's own.
type ExpertPlan struct {
	Calls  []ExpertCall
	Answer string
}

// RunnerFactory starts a code runner whose code can call the tools of reg
// (sandbox.New or bridge.New, adapted).
type RunnerFactory func(reg *tool.Registry) (CodeRunner, func(), error)

// NewExpertPlan runs the expert's program for t in a fresh code episode,
// recording its tool calls, and returns the plan.
func NewExpertPlan(ctx context.Context, t Task, newRunner RunnerFactory) (ExpertPlan, error) {
	prog, err := ExpertProgram(t)
	if err != nil {
		return ExpertPlan{}, err
	}
	e, err := NewEpisode(t, Code)
	if err != nil {
		return ExpertPlan{}, err
	}
	var plan ExpertPlan
	e.trace = func(name string, args []Value, res Value, err error) {
		obs := "Failed to execute tool " + name + " with args " + Repr(Tuple(args)) + ". Did you try to invoke more than one tool at a time?"
		if err == nil {
			obs = cutObservation(StrOf(res))
		}
		plan.Calls = append(plan.Calls, ExpertCall{Tool: name, Args: append([]Value(nil), args...), Observation: obs})
	}
	run, closeRunner, err := newRunner(e.CodeRegistry())
	if err != nil {
		return ExpertPlan{}, err
	}
	defer closeRunner()
	turn, err := e.Step(ctx, ExpertReply(prog, "", 0), run)
	if err != nil {
		return ExpertPlan{}, err
	}
	plan.Answer = turn.User
	return plan, nil
}

// ActionJSON renders a call as the json format's action, or reports why
// the format cannot express it.
func (c ExpertCall) ActionJSON() (string, error) {
	var b strings.Builder
	b.WriteString(`{"tool": `)
	b.WriteString(jsonString(c.Tool))
	b.WriteString(`, "args": [`)
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		s, err := jsonText(a)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	b.WriteString("]}")
	out := b.String()
	if err := checkActionText(out); err != nil {
		return "", err
	}
	return out, nil
}

// ActionText renders a call as the text format's action, or reports why
// the format cannot express it: text arguments are split on commas and
// stripped, so only ints, floats and strs without commas or surrounding
// spaces can be written. (They are read back as int, else float, else
// str: whether that changes the result, PlayPlan finds out.)
func (c ExpertCall) ActionText() (string, error) {
	parts := []string{c.Tool}
	for _, a := range c.Args {
		var s string
		switch x := a.(type) {
		case Int:
			s = x.String()
		case Float:
			s = FloatRepr(float64(x))
		case Str:
			s = string(x)
			if strings.Contains(s, ",") || trimPySpace(s) != s {
				return "", fmt.Errorf("the str argument %s has a comma or surrounding spaces", Repr(x))
			}
		default:
			return "", fmt.Errorf("a %s argument (%s) cannot be written in the text format", TypeName(a), Repr(a))
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, ", ")
	if err := checkActionText(out); err != nil {
		return "", err
	}
	return out, nil
}

func checkActionText(s string) error {
	for _, marker := range []string{"Action:", "Answer:", "End Action"} {
		if strings.Contains(s, marker) {
			return fmt.Errorf("the action would contain %q", marker)
		}
	}
	return nil
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// jsonText writes v as JSON that Python's json.loads reads back as v.
func jsonText(v Value) (string, error) {
	switch x := v.(type) {
	case NoneValue:
		return "null", nil
	case Bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case Int:
		return x.String(), nil
	case Float:
		f := FloatRepr(float64(x))
		switch f {
		case "inf":
			return "Infinity", nil
		case "-inf":
			return "-Infinity", nil
		case "nan":
			return "NaN", nil
		}
		return f, nil
	case Str:
		return jsonString(string(x)), nil
	case List, Tuple:
		var items []Value
		if l, ok := x.(List); ok {
			items = l
		} else {
			items = x.(Tuple)
		}
		parts := make([]string, len(items))
		for i, e := range items {
			s, err := jsonText(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case *Dict:
		parts := make([]string, len(x.Keys))
		for i, k := range x.Keys {
			ks, ok := k.(Str)
			if !ok {
				return "", fmt.Errorf("a dict key %s cannot be written in JSON", Repr(k))
			}
			s, err := jsonText(x.Values[i])
			if err != nil {
				return "", err
			}
			parts[i] = jsonString(string(ks)) + ": " + s
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	}
	return "", fmt.Errorf("a %s argument cannot be written in JSON", TypeName(v))
}

// PlanOutcome is how the expert's plan fared in one format.
type PlanOutcome struct {
	// Expressible is false when some call cannot be written in the format
	// (Reason says which); the expert then does not play.
	Expressible bool
	Reason      string
	Correct     bool
	Turns       int
}

// PlayPlan plays the plan in a fresh episode of t in format f (json or
// text): one action per call, then the answer. When an action's
// observation differs from the program's (a text argument "636261" is read
// back as the int 636261), the format cannot express the plan and the
// expert stops.
func PlayPlan(ctx context.Context, t Task, f Format, plan ExpertPlan) (PlanOutcome, error) {
	replies := make([]string, 0, len(plan.Calls)+1)
	for _, c := range plan.Calls {
		var action string
		var err error
		if f == JSON {
			action, err = c.ActionJSON()
		} else {
			action, err = c.ActionText()
		}
		if err != nil {
			return PlanOutcome{Reason: c.Tool + ": " + err.Error()}, nil
		}
		replies = append(replies, "Action: "+action+" End Action")
	}
	replies = append(replies, "Answer: "+plan.Answer)
	e, err := NewEpisode(t, f)
	if err != nil {
		return PlanOutcome{}, err
	}
	out := PlanOutcome{Expressible: true}
	for i, r := range replies {
		turn, err := e.Step(ctx, r, nil)
		if err != nil {
			return PlanOutcome{}, err
		}
		if i < len(plan.Calls) && !turn.Done && turn.User != plan.Calls[i].Observation {
			c := plan.Calls[i]
			return PlanOutcome{Turns: e.Turns(), Reason: fmt.Sprintf("%s%s: the %s format changes the result to %q", c.Tool, Repr(Tuple(c.Args)), f, turn.User)}, nil
		}
		if turn.Done {
			out.Correct = turn.Correct
			break
		}
	}
	out.Turns = e.Turns()
	return out, nil
}
