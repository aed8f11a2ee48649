package alfworld

import (
	"context"
	"strings"

	"github.com/gantry-dev/gantry/tool"
)

// StripArrive removes a leading "You arrive at loc N. " as MINT's tools
// do (the current grammar's "You arrive at cabinet 1. " is kept).
func StripArrive(obs string) string {
	if strings.HasPrefix(obs, "You arrive at loc ") {
		if i := strings.Index(obs, ". "); i >= 0 {
			return obs[i+2:]
		}
	}
	return obs
}

// RegisterTools adds MINT's ALFWorld functions to reg, acting on env:
// goto, take_from, put, open_receptacle, close_receptacle, toggle, clean,
// heat, cool, use, look — each issues one text command and returns the
// observation with "You arrive at loc N. " removed, as MINT does — and
// step(command) for text-mode agents, which returns the observation
// unchanged.
func RegisterTools(reg *tool.Registry, env *Env) error {
	str := func(name, doc string) tool.Param {
		// Stringify: MINT's functions format any argument into the
		// command, as goto(1) sends "go to 1".
		return tool.Param{Name: name, Type: tool.String, Doc: doc, Required: true, Stringify: true}
	}
	obj := str("object", "an object's name, e.g. \"mug 1\"")
	rec := str("receptacle", "a receptacle's name, e.g. \"desk 2\"")
	mk := func(name, doc, example string, params []tool.Param, cmd func(a tool.Args) string) tool.Tool {
		return tool.Tool{Name: name, Doc: doc, Params: params, Returns: tool.String,
			ReturnDoc: "the environment's observation", Example: example,
			Fn: func(ctx context.Context, a tool.Args) (any, error) {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				obs, _, _ := env.Step(cmd(a))
				return StripArrive(obs), nil
			}}
	}
	put := func(a tool.Args) string { return "put " + a.String("object") + " in/on " + a.String("receptacle") }
	if env.opts.Grammar == Current {
		put = func(a tool.Args) string { return "move " + a.String("object") + " to " + a.String("receptacle") }
	}
	tools := []tool.Tool{
		mk("put", "Put an object in/on a receptacle.", `put("mug 1", "desk 2")`, []tool.Param{obj, rec}, put),
		mk("goto", "Go to a location of the receptacle.", `goto("drawer 1")`, []tool.Param{rec},
			func(a tool.Args) string { return "go to " + a.String("receptacle") }),
		mk("take_from", "Take an object from a receptacle.", `take_from("mug 1", "shelf 2")`, []tool.Param{obj, rec},
			func(a tool.Args) string { return "take " + a.String("object") + " from " + a.String("receptacle") }),
		mk("open_receptacle", "Open a receptacle.", `open_receptacle("fridge 1")`, []tool.Param{rec},
			func(a tool.Args) string { return "open " + a.String("receptacle") }),
		mk("toggle", "Toggle an object or receptacle.", `toggle("light 2")`,
			[]tool.Param{str("object_or_receptacle", "an object's or receptacle's name")},
			func(a tool.Args) string { return "toggle " + a.String("object_or_receptacle") }),
		mk("close_receptacle", "Close a receptacle.", `close_receptacle("microwave 1")`, []tool.Param{rec},
			func(a tool.Args) string { return "close " + a.String("receptacle") }),
		mk("clean", "Clean an object with a receptacle.", `clean("cloth 1", "sinkbasin 1")`, []tool.Param{obj, rec},
			func(a tool.Args) string { return "clean " + a.String("object") + " with " + a.String("receptacle") }),
		mk("heat", "Heat an object with a receptacle.", `heat("egg 1", "microwave 1")`, []tool.Param{obj, rec},
			func(a tool.Args) string { return "heat " + a.String("object") + " with " + a.String("receptacle") }),
		mk("cool", "Cool an object with a receptacle.", `cool("bottle 1", "fridge 1")`, []tool.Param{obj, rec},
			func(a tool.Args) string { return "cool " + a.String("object") + " with " + a.String("receptacle") }),
		mk("use", "Use a receptacle.", `use("lamp 1")`, []tool.Param{rec},
			func(a tool.Args) string { return "use " + a.String("receptacle") }),
		mk("look", "Look around. It will return what you see in the room.", "look()", nil,
			func(tool.Args) string { return "look" }),
	}
	step := tool.Tool{Name: "step", Doc: "Send one text command to the household (e.g. \"go to cabinet 1\", \"take mug 1 from cabinet 1\", \"inventory\").",
		Params:  []tool.Param{str("command", "the text command")},
		Returns: tool.String, ReturnDoc: "the environment's observation, unchanged", Example: `step("go to cabinet 1")`,
		Fn: func(ctx context.Context, a tool.Args) (any, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			obs, _, _ := env.Step(a.String("command"))
			return obs, nil
		}}
	for _, t := range append(tools, step) {
		if err := reg.Register(t); err != nil {
			return err
		}
	}
	return nil
}
