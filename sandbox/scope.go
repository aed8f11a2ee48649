package sandbox

import (
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// scopeBuiltins returns Python's namespace builtins: locals(), globals()
// and vars(). Real model code asks them whether a name is defined
// (`if "x" not in locals():`).
//
// Each returns a new dict, a snapshot: unlike Python's globals(), writing
// to it does not define a variable.
func scopeBuiltins() starlark.StringDict {
	return starlark.StringDict{
		"locals":  starlark.NewBuiltin("locals", builtinLocals),
		"globals": starlark.NewBuiltin("globals", builtinGlobals),
		"vars":    starlark.NewBuiltin("vars", builtinVars),
	}
}

// builtinGlobals is globals(): the action's global variables, functions,
// imported names and tools, without the sandbox's own builtins.
func builtinGlobals(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return sessionGlobals(thread), nil
}

// builtinLocals is locals(): in a function, its local variables that have
// a value; at the top level of an action, globals().
func builtinLocals(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return callerLocals(thread), nil
}

// builtinVars is vars(): locals() without an argument; with one, the
// object's attributes and their values.
func builtinVars(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var obj starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return callerLocals(thread), nil
	}
	ha, ok := obj.(starlark.HasAttrs)
	if !ok {
		return nil, &pyError{typ: "TypeError", msg: "vars() argument must have __dict__ attribute"}
	}
	d := starlark.NewDict(len(ha.AttrNames()))
	for _, name := range ha.AttrNames() {
		v, err := ha.Attr(name)
		if err != nil || v == nil {
			continue
		}
		if err := d.SetKey(starlark.String(name), v); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// callerLocals returns the locals of the Starlark function that called the
// builtin, or the globals when it is an action's top level.
func callerLocals(thread *starlark.Thread) *starlark.Dict {
	if thread.CallStackDepth() < 2 {
		return sessionGlobals(thread)
	}
	fr := thread.DebugFrame(1)
	fn, ok := fr.Callable().(*starlark.Function)
	if !ok || fn.Name() == "<toplevel>" {
		return sessionGlobals(thread)
	}
	d := starlark.NewDict(fr.NumLocals())
	for i := 0; i < fr.NumLocals(); i++ {
		bind, v := fr.Local(i)
		// Unassigned locals have no value; a local captured by a nested
		// function is held in a cell the debug API does not open.
		if v == nil || v.Type() == "cell" || strings.HasPrefix(bind.Name, reservedPrefix) {
			continue
		}
		_ = d.SetKey(starlark.String(bind.Name), v)
	}
	return d
}

// sessionGlobals returns the user-visible globals of the session running
// thread: every global with a value except the sandbox's reserved names,
// its builtin functions and the modules it provides unimported.
func sessionGlobals(thread *starlark.Thread) *starlark.Dict {
	s := sessionOf(thread)
	if s == nil {
		return starlark.NewDict(0)
	}
	tools := map[string]bool{}
	for _, t := range s.reg.Tools() {
		tools[strings.SplitN(t.Name, ".", 2)[0]] = true
	}
	// The action's own assignments live in its top-level frame until it
	// ends: they take precedence over the session's globals.
	all := make(starlark.StringDict, len(s.globals))
	for k, v := range s.globals {
		all[k] = v
	}
	if n := thread.CallStackDepth(); n > 0 {
		if top, ok := thread.DebugFrame(n - 1).Callable().(*starlark.Function); ok {
			for k, v := range top.Globals() {
				all[k] = v
			}
		}
	}
	d := starlark.NewDict(len(all))
	for _, name := range all.Keys() { // sorted: a stable order
		v := all[name]
		if v == nil || strings.HasPrefix(name, reservedPrefix) || name == lastValue {
			continue
		}
		if !tools[name] {
			if b, ok := v.(*starlark.Builtin); ok && b.Name() == name {
				continue
			}
			if m, ok := v.(*starlarkstruct.Module); ok && s.mods[name] == m {
				continue
			}
		}
		_ = d.SetKey(starlark.String(name), v)
	}
	return d
}
