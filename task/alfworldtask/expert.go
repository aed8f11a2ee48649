package alfworldtask

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/expert"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// ExpertPolicy plays ALFWorld from the environment's true state, writing
// its actions as a model would: in code format a program with a search loop
// and conditions, in json and text formats one call per turn. It makes the
// main job run offline and gives every experiment a ceiling.
type ExpertPolicy struct {
	Env    *alfworld.Env
	Format task.Format
	turn   int
}

// Next writes the next assistant message.
func (p *ExpertPolicy) Next(ctx context.Context, conv []task.Message) (task.Message, task.Usage, error) {
	if err := ctx.Err(); err != nil {
		return task.Message{}, task.Usage{}, err
	}
	p.turn++
	if p.Env.Won() {
		return task.Message{Role: task.Assistant, Content: "<thought> I have completed the task. </thought>\n<solution> done </solution>"}, task.Usage{}, nil
	}
	w := p.Env
	switch p.Format {
	case task.Text, task.JSON:
		cmd, err := expert.Next(w)
		if err != nil {
			return task.Message{}, task.Usage{}, fmt.Errorf("expert: %w", err)
		}
		if p.Format == task.Text {
			return task.Message{Role: task.Assistant, Content: fmt.Sprintf("<thought> The next step of my plan. </thought>\n%s", cmd)}, task.Usage{}, nil
		}
		name, args := commandCall(cmd)
		data, _ := json.Marshal(map[string]any{"tool": name, "args": args})
		return task.Message{Role: task.Assistant, Content: fmt.Sprintf("<thought> The next step of my plan. </thought>\n%s", data)}, task.Usage{}, nil
	}
	if p.turn == 1 {
		steps, err := expert.Solve(w)
		if err != nil {
			return task.Message{}, task.Usage{}, fmt.Errorf("expert: %w", err)
		}
		return task.Message{Role: task.Assistant, Content: renderSteps(steps)}, task.Usage{}, nil
	}
	// The search program did not finish the task: play the exact plan
	// from the current state.
	cmds, err := expert.Plan(w)
	if err != nil {
		return task.Message{}, task.Usage{}, fmt.Errorf("expert: %w", err)
	}
	var b strings.Builder
	b.WriteString("<thought>\nI will follow the remaining steps one by one.\n</thought>\n<execute>\n")
	for _, c := range cmds {
		name, args := commandCall(c)
		fmt.Fprintf(&b, "print(%s)\n", renderPositional(name, args))
	}
	b.WriteString("</execute>")
	return task.Message{Role: task.Assistant, Content: b.String()}, task.Usage{}, nil
}

// renderSteps writes a plan as a MINT-style program: search the likely
// receptacles in a loop, opening closed ones, take the object, transform
// it, and put it in place.
func renderSteps(s *expert.Steps) string {
	var b strings.Builder
	obj := s.Object
	fmt.Fprintf(&b, "<thought>\nTo solve the task, I need to find a %s", obj)
	switch s.Transform {
	case "clean", "heat", "cool":
		fmt.Fprintf(&b, ", %s it with %s", s.Transform, s.With)
	}
	if s.Dest != "" {
		fmt.Fprintf(&b, ", and put it in/on %s", s.Dest)
	} else {
		fmt.Fprintf(&b, " and look at it under the %s", s.With)
	}
	if s.Count > 1 {
		fmt.Fprintf(&b, ", %d times", s.Count)
	}
	fmt.Fprintf(&b, ".\nA %s is likely in %s. I can check one by one.\n</thought>\n<execute>\nimport re\n\n", obj, strings.Join(s.Search, ", "))
	fmt.Fprintf(&b, "def find(kind, places):\n")
	fmt.Fprintf(&b, "    for loc in places:\n")
	fmt.Fprintf(&b, "        res = goto(loc)\n")
	fmt.Fprintf(&b, "        if \"closed\" in res:\n")
	fmt.Fprintf(&b, "            res = open_receptacle(loc)\n")
	fmt.Fprintf(&b, "        m = re.search(r\"\\b(%%s \\d+)\" %% kind, res)\n")
	fmt.Fprintf(&b, "        if m:\n")
	fmt.Fprintf(&b, "            print(f\"Found {m.group(1)} in {loc}.\")\n")
	fmt.Fprintf(&b, "            return m.group(1), loc\n")
	fmt.Fprintf(&b, "    return None, None\n\n")
	places := quoteList(s.Search)
	count := max(s.Count, 1)
	for i := 0; i < count; i++ {
		fmt.Fprintf(&b, "obj, loc = find(%q, [%s])\n", obj, places)
		fmt.Fprintf(&b, "print(take_from(obj, loc))\n")
		switch s.Transform {
		case "clean", "heat", "cool":
			fmt.Fprintf(&b, "print(goto(%q))\n", s.With)
			fmt.Fprintf(&b, "print(%s(obj, %q))\n", s.Transform, s.With)
		case "use":
			fmt.Fprintf(&b, "print(goto(%q))\n", s.With)
			fmt.Fprintf(&b, "print(use(%q))\n", s.With)
		}
		if s.Dest != "" {
			fmt.Fprintf(&b, "res = goto(%q)\n", s.Dest)
			fmt.Fprintf(&b, "if \"closed\" in res:\n    res = open_receptacle(%q)\n", s.Dest)
			fmt.Fprintf(&b, "print(put(obj, %q))\n", s.Dest)
		}
		if i+1 < count {
			// The second object must come from somewhere else.
			var rest []string
			for _, r := range s.Search {
				if r != s.Dest {
					rest = append(rest, r)
				}
			}
			places = quoteList(rest)
		}
	}
	b.WriteString("</execute>")
	return b.String()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

var commandRE = []struct {
	re   *regexp.Regexp
	tool string
	args []string
}{
	{regexp.MustCompile(`^go to (.+)$`), "goto", []string{"receptacle"}},
	{regexp.MustCompile(`^open (.+)$`), "open_receptacle", []string{"receptacle"}},
	{regexp.MustCompile(`^close (.+)$`), "close_receptacle", []string{"receptacle"}},
	{regexp.MustCompile(`^take (.+) from (.+)$`), "take_from", []string{"object", "receptacle"}},
	{regexp.MustCompile(`^put (.+) in/on (.+)$`), "put", []string{"object", "receptacle"}},
	{regexp.MustCompile(`^move (.+) to (.+)$`), "put", []string{"object", "receptacle"}},
	{regexp.MustCompile(`^(clean|heat|cool) (.+) with (.+)$`), "", []string{"object", "receptacle"}},
	{regexp.MustCompile(`^use (.+)$`), "use", []string{"receptacle"}},
	{regexp.MustCompile(`^toggle (.+)$`), "toggle", []string{"object_or_receptacle"}},
	{regexp.MustCompile(`^look$`), "look", nil},
}

// commandCall maps a text command to the MINT function that issues it;
// anything else goes through step(command).
func commandCall(cmd string) (string, map[string]any) {
	for _, c := range commandRE {
		m := c.re.FindStringSubmatch(cmd)
		if m == nil {
			continue
		}
		name, vals := c.tool, m[1:]
		if name == "" {
			name, vals = m[1], m[2:]
		}
		args := map[string]any{}
		for i, a := range c.args {
			args[a] = vals[i]
		}
		return name, args
	}
	return "step", map[string]any{"command": cmd}
}

// renderPositional writes a call with positional string arguments in the
// order of the MINT signatures.
func renderPositional(name string, args map[string]any) string {
	order := []string{"object", "object_or_receptacle", "receptacle", "command"}
	var parts []string
	for _, k := range order {
		if v, ok := args[k]; ok {
			parts = append(parts, tool.PyQuote(fmt.Sprint(v)))
		}
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}
