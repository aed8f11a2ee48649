package devices

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gantry-dev/gantry/tool"
)

// hidden are the built-in actions that do not become tools: the
// description is already in the prompt, and reset is for people.
var hidden = map[string]bool{"describe": true, "reset": true}

// RegisterTools registers a tool for every action of every described
// device in h ("rover.drive"), each calling through the hub (and so the
// guard), plus devices.stop (the emergency stop) and devices.list.
func RegisterTools(reg *tool.Registry, h *Hub) error {
	for _, d := range h.Devices() {
		ts, err := Tools(h, d)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := reg.Register(t); err != nil {
				return fmt.Errorf("register %s: %w", t.Name, err)
			}
		}
		reg.OnUnknown(d.Name(), UnknownHook(h, d.Name()))
	}
	for _, t := range []tool.Tool{
		{Name: "devices.stop", Doc: "Emergency stop: halt every device now and refuse motion until a person resets it. Use when something is wrong.",
			Params:  []tool.Param{{Name: "reason", Type: tool.String, Default: "requested by the agent", Doc: "why"}},
			Returns: tool.Dict, ReturnDoc: "each device's answer",
			Fn: func(ctx context.Context, a tool.Args) (any, error) {
				out := map[string]any{}
				for _, r := range h.EStop(context.WithoutCancel(ctx), a.String("reason")) {
					if r.Err != nil {
						out[r.Device] = "error: " + r.Err.Error()
					} else {
						out[r.Device] = r.Result
					}
				}
				return out, nil
			}},
		{Name: "devices.list", Doc: "The devices and whether each is online",
			Returns: tool.Dict, ReturnDoc: "device name -> state",
			Fn: func(context.Context, tool.Args) (any, error) {
				out := map[string]any{}
				for _, d := range h.Devices() {
					st, _ := d.State()
					out[d.Name()] = st.String()
				}
				return out, nil
			}},
	} {
		if err := reg.Register(t); err != nil {
			return fmt.Errorf("register %s: %w", t.Name, err)
		}
	}
	return nil
}

// Tools returns the tools of one described device: one per action except
// describe and reset, named "<device>.<action>", with the description's
// docs, units, bounds, enums and defaults. Required parameters come first,
// then optional ones, each group in name order.
func Tools(h *Hub, d *Device) ([]tool.Tool, error) {
	desc := d.Description()
	if desc == nil {
		return nil, fmt.Errorf("%s: not described yet", d.Name())
	}
	device := d.Name()
	var out []tool.Tool
	for _, action := range sortedKeys(desc.Actions) {
		if hidden[action] {
			continue
		}
		a := desc.Actions[action]
		t := tool.Tool{Name: device + "." + action, Doc: a.Description, Returns: tool.Any}
		if a.Returns != nil {
			t.Returns = toolType(a.Returns.Type)
			t.ReturnDoc = a.Returns.Description
			switch {
			case a.Returns.Unit != "" && t.ReturnDoc == "":
				t.ReturnDoc = "a " + a.Returns.Type + " in " + a.Returns.Unit
			case a.Returns.Unit != "":
				t.ReturnDoc += ", in " + a.Returns.Unit
			}
			if t.ReturnDoc != "" {
				// Prompts list a tool as signature and doc: say what comes back.
				t.Doc = joinDoc(t.Doc, "returns "+t.ReturnDoc)
				t.ReturnDoc = ""
			}
		}
		names := sortedKeys(a.Params)
		sort.SliceStable(names, func(i, j int) bool { return a.Params[names[i]].Required && !a.Params[names[j]].Required })
		for _, name := range names {
			p, err := toolParam(name, a.Params[name])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.Name, err)
			}
			t.Params = append(t.Params, p)
		}
		action := action
		t.Fn = func(ctx context.Context, args tool.Args) (any, error) {
			return h.Call(ctx, device, action, map[string]any(args))
		}
		t.Refused = func(ctx context.Context, given map[string]any, err error) {
			h.refuseArgs(ctx, device, action, given, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// UnknownHook is the tool.Registry.OnUnknown hook of a device's namespace:
// it puts on record every call, through the tools, to a name that is not
// one of the device's tools (a misspelt or forged action, or describe and
// reset, which are not offered as tools), with outcome "unknown".
func UnknownHook(h *Hub, device string) tool.UnknownFunc {
	return func(ctx context.Context, name string, positional []any, named map[string]any, err error) {
		given := make(map[string]any, len(positional)+len(named))
		for i, v := range positional {
			given[fmt.Sprintf("arg%d", i+1)] = v
		}
		for k, v := range named {
			given[k] = v
		}
		h.refuseUnknown(ctx, device, strings.TrimPrefix(name, device+"."), given, err)
	}
}

func joinDoc(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

func toolType(t string) tool.Type {
	switch t {
	case "number":
		return tool.Float
	case "integer":
		return tool.Int
	case "string":
		return tool.String
	case "boolean":
		return tool.Bool
	case "array":
		return tool.List
	case "object":
		return tool.Dict
	}
	return tool.Any
}

func toolParam(name string, p Param) (tool.Param, error) {
	tp := tool.Param{Name: name, Type: toolType(p.Type), Doc: p.Description, Required: p.Required,
		Unit: p.Unit, Min: p.Minimum, Max: p.Maximum}
	for _, e := range p.Enum {
		s, ok := e.(string)
		if !ok {
			tp.Enum = nil // a non-string enum is checked by the device
			break
		}
		tp.Enum = append(tp.Enum, s)
	}
	if p.Default != nil && !p.Required {
		// The tool's own conversion: a default is checked and converted
		// exactly as an argument would be.
		v, err := tool.Convert(tp, tool.FromJSON(p.Default))
		if err != nil {
			return tp, fmt.Errorf("param %s: default: %w", name, err)
		}
		tp.Default = v
	}
	return tp, nil
}
