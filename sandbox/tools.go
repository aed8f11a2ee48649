package sandbox

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/gantry-dev/gantry/tool"
)

// The registry's tools as Starlark values: a tool "drive" is a builtin
// drive(...), a tool "rover.drive" the member drive of a module rover
// (nested for deeper names). A call measures and charges its arguments,
// converts them to Go (toGo), calls the tool through tool.Tool.Call, and
// converts the result back (fromGo). A failure is a toolError, which
// keeps the Go error; errors.go reports it as the Python exception its
// kind names (tool.Kind.Exception).

// addTools puts every tool of reg into g: plain names as builtins, dotted
// names as (nested) modules.
func addTools(g starlark.StringDict, reg *tool.Registry) error {
	for _, t := range reg.Tools() {
		parts := strings.Split(t.Name, ".")
		fn := toolBuiltin(t)
		if len(parts) == 1 {
			g[t.Name] = fn
			continue
		}
		top, _ := g[parts[0]].(*starlarkstruct.Module)
		if top == nil {
			if g[parts[0]] != nil {
				return fmt.Errorf("tool namespace %q shadows a builtin", parts[0])
			}
			top = &starlarkstruct.Module{Name: parts[0], Members: starlark.StringDict{}}
			g[parts[0]] = top
		}
		m := top
		for _, p := range parts[1 : len(parts)-1] {
			next, _ := m.Members[p].(*starlarkstruct.Module)
			if next == nil {
				next = &starlarkstruct.Module{Name: m.Name + "." + p, Members: starlark.StringDict{}}
				m.Members[p] = next
			}
			m = next
		}
		m.Members[parts[len(parts)-1]] = fn
	}
	return nil
}

// toolError is a tool's failure as Starlark sees it; it keeps the Go error.
type toolError struct {
	tool string
	err  error
}

func (e *toolError) Error() string { return e.err.Error() }
func (e *toolError) Unwrap() error { return e.err }

func toolBuiltin(t *tool.Tool) *starlark.Builtin {
	return starlark.NewBuiltin(t.Name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		// Measure the arguments before converting them: a cyclic value is
		// refused, a shared one charged for every copy it becomes.
		for _, a := range args {
			if err := chargeToGo(thread, a); err != nil {
				return nil, err
			}
		}
		for _, kv := range kwargs {
			if err := chargeToGo(thread, kv[1]); err != nil {
				return nil, err
			}
		}
		pos := make([]any, len(args))
		for i, a := range args {
			v, err := toGo(a)
			if err != nil {
				return nil, &toolError{tool: t.Name, err: &tool.ArgError{Tool: t.Name, Msg: fmt.Sprintf("argument %d: %v", i+1, err)}}
			}
			pos[i] = v
		}
		var named map[string]any
		if len(kwargs) > 0 {
			named = make(map[string]any, len(kwargs))
			for _, kv := range kwargs {
				k := string(kv[0].(starlark.String))
				v, err := toGo(kv[1])
				if err != nil {
					return nil, &toolError{tool: t.Name, err: &tool.ArgError{Tool: t.Name, Param: k, Msg: err.Error()}}
				}
				named[k] = v
			}
		}
		ctx := actionOf(thread).ctx
		out, err := t.Call(ctx, pos, named)
		if err != nil {
			return nil, &toolError{tool: t.Name, err: err}
		}
		return fromGo(out)
	})
}

// chargeToGo measures the Go form of a tool argument and charges it.
func chargeToGo(thread *starlark.Thread, v starlark.Value) error {
	switch v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict:
	default:
		return nil
	}
	m, err := jsonSize(thread, v)
	if err != nil {
		return err
	}
	return charge(thread, addSize(m.n, mulSize(m.nodes, 2*slotBytes)), "tool argument")
}
