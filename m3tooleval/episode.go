package m3tooleval

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/tool"
)

// Episode is one run of a task in one format: the task's tools with fresh
// state (the web family's browser starts at "/"), their registry, and the
// count of assistant turns.
type Episode struct {
	Task   Task
	Format Format

	impls map[string]impl
	reg   *tool.Registry
	code  *tool.Registry
	turns int
	cells int
	done  bool
	// trace, when set, hears of every call through the registries.
	trace func(name string, args []Value, res Value, err error)
}

// NewEpisode starts an episode of t in format f.
func NewEpisode(t Task, f Format) (*Episode, error) {
	impls := familyImpls(t.Family)
	if impls == nil {
		return nil, fmt.Errorf("m3tooleval: task %s: unknown family %q", t.Name, t.Family)
	}
	e := &Episode{Task: t, Format: f, impls: impls, reg: tool.NewRegistry(), code: tool.NewRegistry()}
	for _, spec := range t.Tools {
		im, ok := impls[spec.Name]
		if !ok {
			return nil, fmt.Errorf("m3tooleval: task %s: no implementation of tool %q", t.Name, spec.Name)
		}
		tl := registryTool(spec, im, e)
		if err := e.reg.Register(tl); err != nil {
			return nil, fmt.Errorf("m3tooleval: task %s: %w", t.Name, err)
		}
		if !im.builtin {
			if err := e.code.Register(tl); err != nil {
				return nil, fmt.Errorf("m3tooleval: task %s: %w", t.Name, err)
			}
		}
	}
	return e, nil
}

// Registry holds every tool of the task, sharing the episode's state: the
// tools json and text actions call, callable from Starlark and Python too.
func (e *Episode) Registry() *tool.Registry { return e.reg }

// CodeRegistry is the registry to give a code runtime: Registry without the
// tools that in the reference are the language's own builtins (the travel
// family's max and min), so that code gets the runtime's builtin (with
// key= and iterables) as the reference's Python does.
func (e *Episode) CodeRegistry() *tool.Registry { return e.code }

// Turns is the number of assistant turns played.
func (e *Episode) Turns() int { return e.turns }

// Done reports whether the episode has ended (a correct answer, or
// MaxTurns turns).
func (e *Episode) Done() bool { return e.done }

// Call calls a tool of the episode with positional Python arguments, as a
// json or text action does.
func (e *Episode) Call(name string, args ...Value) (Value, error) {
	im, ok := e.impls[name]
	if !ok || !e.hasTool(name) {
		return nil, &tool.NotFoundError{Name: name}
	}
	return callImpl(name, im, args)
}

func (e *Episode) hasTool(name string) bool {
	for _, t := range e.Task.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// callImpl checks the number of arguments as Python would and calls.
func callImpl(name string, im impl, args []Value) (Value, error) {
	n := len(im.params)
	if len(args) < n || (im.variadic == "" && len(args) > n) {
		if im.variadic != "" {
			return nil, typeError("%s() missing %d required positional argument(s)", name, n-len(args))
		}
		return nil, typeError("%s() takes %d positional argument(s) but %d were given", name, n, len(args))
	}
	return im.fn(args)
}

// CodeRunner runs code actions: a Starlark sandbox session or a Python
// worker session (both have this method).
type CodeRunner interface {
	Exec(ctx context.Context, code string) (tool.Result, error)
}

// Turn is one assistant turn played through the harness.
type Turn struct {
	// Assistant is the reply after post-processing: what the conversation
	// keeps.
	Assistant string
	Parsed    Parsed
	// Result is the execution result of an action (what the single-tool
	// check compares), nil for other replies.
	Result Value
	// User is the next user message; empty when the episode ended with a
	// correct answer.
	User string
	// Correct reports a correct answer (or, for a single-tool task, an
	// action whose result is the expected output).
	Correct bool
	// Done reports that the episode ended with this turn.
	Done bool
}

// ErrEpisodeDone is returned by Step after the episode ended.
var ErrEpisodeDone = errors.New("m3tooleval: the episode has ended")

// Step plays one raw model reply: post-processing, parsing, the action (code
// through run, json and text through the episode's tools) or the answer
// check, and the next user message, as the harness's loop does. run may be
// nil in the json and text formats.
func (e *Episode) Step(ctx context.Context, reply string, run CodeRunner) (Turn, error) {
	if e.done {
		return Turn{}, ErrEpisodeDone
	}
	gen := Postprocess(reply)
	t := Turn{Assistant: gen, Parsed: Parse(gen)}
	e.turns++
	switch t.Parsed.Kind {
	case KindAction:
		res, err := e.Execute(ctx, t.Parsed.Content, run)
		if err != nil {
			return Turn{}, err
		}
		t.Result = res
		t.User = StrOf(res)
		if t.Parsed.Extra != "" {
			t.User += MsgExtraReminder + t.Parsed.Extra
		}
		if e.Task.SingleTool && CheckAnswer(res, e.Task.Expected) {
			t.Correct = true
			t.User = ""
		}
	case KindAnswer:
		t.Correct = CheckAnswer(Str(t.Parsed.Content), e.Task.Expected)
		if !t.Correct {
			t.User = MsgWrongAnswer
			if t.Parsed.Extra != "" {
				t.User += MsgExtraReminder + t.Parsed.Extra
			}
		}
	default:
		t.User = t.Parsed.Content
	}
	t.Done = t.Correct || e.turns >= MaxTurns
	e.done = t.Done
	return t, nil
}

// Execute runs one action in the episode's format and returns the
// harness's execution result (the model reads StrOf of it).
func (e *Episode) Execute(ctx context.Context, action string, run CodeRunner) (Value, error) {
	switch e.Format {
	case Code:
		if run == nil {
			return nil, errors.New("m3tooleval: a code action needs a code runner")
		}
		res, err := run.Exec(ctx, action)
		if err != nil {
			return nil, fmt.Errorf("m3tooleval: running a code action: %w", err)
		}
		e.cells++
		return CodeObservation(IPythonOutput(res, e.cells)), nil
	case JSON:
		return Str(e.ExecuteJSON(action)), nil
	case Text:
		return Str(e.ExecuteText(action)), nil
	}
	return nil, fmt.Errorf("m3tooleval: unknown format %q", e.Format)
}

// IPythonOutput renders a code action's result as the harness's IPython
// cell prints it: stdout, then "Out[N]: value" for a trailing expression,
// or the error's traceback (gantry's, not IPython's, layout).
func IPythonOutput(r tool.Result, cell int) string {
	out := r.Stdout
	switch {
	case r.Err != nil:
		out += strings.TrimRight(r.Err.Report(), "\n") + "\n"
	case r.Value != "":
		out += "Out[" + strconv.Itoa(cell) + "]: " + r.Value + "\n"
	}
	return out
}

// ExecuteJSON runs a json action: json.loads of the action, its "tool"
// and "args" (a non-list args is one argument), then the tool.
func (e *Episode) ExecuteJSON(action string) string {
	v, err := PyJSONLoads(action)
	if err != nil {
		return msgInvalidJSONHead + pyErrText(err)
	}
	var name, args Value
	switch x := v.(type) {
	case *Dict:
		var ok bool
		if name, ok = x.Get(Str("tool")); !ok {
			return msgInvalidJSONHead + "'tool'"
		}
		if args, ok = x.Get(Str("args")); !ok {
			return msgInvalidJSONHead + "'args'"
		}
	case List:
		return msgInvalidJSONHead + "list indices must be integers or slices, not str"
	case Str:
		return msgInvalidJSONHead + "string indices must be integers, not 'str'"
	default:
		return msgInvalidJSONHead + "'" + TypeName(v) + "' object is not subscriptable"
	}
	list, ok := args.(List)
	if !ok {
		list = List{args}
	}
	return e.executeNonCode(name, list)
}

// ExecuteText runs a text action: split on commas, the first part (stripped)
// names the tool, each other part (stripped) becomes an int, else a float,
// else stays a str.
func (e *Episode) ExecuteText(action string) string {
	parts := strings.Split(action, ",")
	name := trimPySpace(parts[0])
	args := make([]Value, 0, len(parts)-1)
	for _, p := range parts[1:] {
		v, _ := tryConvert(Str(trimPySpace(p)))
		args = append(args, v)
	}
	return e.executeNonCode(Str(name), args)
}

// executeNonCode is the harness's execute_non_code.
func (e *Episode) executeNonCode(nameV Value, args []Value) string {
	name, isStr := nameV.(Str)
	im, ok := e.impls[string(name)]
	if !isStr || !ok || !e.hasTool(string(name)) {
		return "Cound not find tool with name " + StrOf(nameV)
	}
	res, err := callImpl(string(name), im, args)
	if err != nil {
		return "Failed to execute tool " + string(name) + " with args " + Repr(Tuple(args)) + ". Did you try to invoke more than one tool at a time?"
	}
	return cutObservation(StrOf(res))
}

func pyErrText(err error) string {
	var pe *PyError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}
