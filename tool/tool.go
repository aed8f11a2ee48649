// Package tool is the registry of functions that model-written code can call.
//
// A Tool has a name (dotted namespaces allowed, e.g. "rover.drive"), a doc
// string, typed parameters and a Go function. The runtimes (Starlark and the
// Python bridge) expose every registered tool to code, the agent renders the
// registry into prompts (Python-style signatures) and into JSON Schema for
// function calling, and all argument checking happens here, once, with error
// messages a model can act on.
package tool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/internal/argcheck"
	"github.com/gantry-dev/gantry/internal/repr"
)

// Type is the type of a parameter or return value, named as Python names it.
type Type string

// The parameter and return types a tool can declare.
const (
	String Type = "str"
	Int    Type = "int"
	Float  Type = "float"
	Bool   Type = "bool"
	List   Type = "list"
	Dict   Type = "dict"
	Any    Type = "any"
	None   Type = "None"
)

// Param describes one parameter of a tool.
type Param struct {
	Name     string
	Type     Type
	Doc      string
	Required bool
	// Default is used when an optional parameter is not given. It must have
	// the Go type that Args holds for Type (see Args).
	Default any
	// Unit is shown in docs, e.g. "m/s" or "ms".
	Unit string
	// Min and Max bound numeric parameters, inclusive, when non-nil.
	Min, Max *float64
	// Enum, when non-empty, lists the only values a string parameter may take.
	Enum []string
	// Stringify makes a str parameter accept any value and convert it as
	// Python's str() would (1 → "1", None → "None"), for tools that format
	// their arguments into text the way Python f-strings do.
	Stringify bool
	// Variadic makes the parameter Python's *name: it takes every
	// positional argument beyond the other parameters, any number of them,
	// each checked against Type, Min, Max, Enum and Stringify as a
	// parameter of its own would be. It must be the last parameter, and is
	// neither Required nor has a Default. Args holds the converted values
	// as a []any (empty when none were given). Code cannot give it by name
	// (as in Python); a call by names only (CallNamed: JSON actions,
	// function calling) gives it as a list.
	Variadic bool
}

// Bound returns a pointer to v, for Param.Min and Param.Max.
func Bound(v float64) *float64 { return &v }

// Func is the Go implementation of a tool. Args have been checked and
// converted against the tool's parameters before Func is called.
type Func func(ctx context.Context, args Args) (any, error)

// Tool is a function that code can call.
type Tool struct {
	// Name is an identifier or a dotted path of identifiers ("rover.drive").
	Name string
	// Doc is a one-line description shown in prompts.
	Doc string
	// Params lists the parameters in positional order.
	Params []Param
	// Returns is the type of the result; ReturnDoc describes it.
	Returns   Type
	ReturnDoc string
	// Example is a line of code showing a typical call.
	Example string
	Fn      Func
	// Refused, when set, is told of every call that argument checking
	// refused before Fn could run, with the arguments as given (see Given)
	// and the error the caller gets. Tools whose calls must all be on record
	// (device actions and their audit log) set it.
	Refused func(ctx context.Context, given map[string]any, err error)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate reports whether t is well formed.
func (t *Tool) validate() error {
	if t.Name == "" {
		return errors.New("tool has no name")
	}
	for _, part := range strings.Split(t.Name, ".") {
		if !identRE.MatchString(part) {
			return fmt.Errorf("tool %q: name part %q is not an identifier", t.Name, part)
		}
	}
	if t.Fn == nil {
		return fmt.Errorf("tool %q: no function", t.Name)
	}
	seen := map[string]bool{}
	optional := false
	for i, p := range t.Params {
		if !identRE.MatchString(p.Name) {
			return fmt.Errorf("tool %q: parameter %q is not an identifier", t.Name, p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("tool %q: parameter %q declared twice", t.Name, p.Name)
		}
		seen[p.Name] = true
		switch p.Type {
		case String, Int, Float, Bool, List, Dict, Any:
		default:
			return fmt.Errorf("tool %q: parameter %q has unknown type %q", t.Name, p.Name, p.Type)
		}
		if p.Variadic {
			switch {
			case i != len(t.Params)-1:
				return fmt.Errorf("tool %q: variadic parameter %q is not the last one", t.Name, p.Name)
			case p.Required:
				return fmt.Errorf("tool %q: variadic parameter %q cannot be required", t.Name, p.Name)
			case p.Default != nil:
				return fmt.Errorf("tool %q: variadic parameter %q cannot have a default", t.Name, p.Name)
			}
			continue
		}
		if p.Required && optional {
			return fmt.Errorf("tool %q: required parameter %q follows an optional one", t.Name, p.Name)
		}
		if !p.Required {
			optional = true
			if p.Default != nil {
				if _, err := convert(p, p.Default); err != nil {
					return fmt.Errorf("tool %q: default of %q: %w", t.Name, p.Name, err)
				}
			}
		}
	}
	return nil
}

// Registry holds tools by name. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	tools   map[string]*Tool
	order   []string
	unknown map[string]UnknownFunc
}

// UnknownFunc is told of a call to a tool that is not registered, in a
// namespace that asked for it (see Registry.OnUnknown), with the arguments
// as given and the error the caller gets.
type UnknownFunc func(ctx context.Context, name string, positional []any, named map[string]any, err error)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{tools: map[string]*Tool{}, unknown: map[string]UnknownFunc{}}
}

// OnUnknown makes f hear of every call, through Call, to a name in
// namespace (e.g. "rover" for "rover.fly") that is not a registered tool:
// forged or misspelt calls that must still be on record.
func (r *Registry) OnUnknown(namespace string, f UnknownFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unknown[namespace] = f
}

// Register adds t to the registry. It fails if t is malformed or its name is
// taken, or if its name collides with a namespace ("rover" and "rover.drive").
func (r *Registry) Register(t Tool) error {
	if err := t.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tools[t.Name]; ok {
		return fmt.Errorf("tool %q already registered", t.Name)
	}
	for _, name := range r.order {
		if strings.HasPrefix(name, t.Name+".") || strings.HasPrefix(t.Name, name+".") {
			return fmt.Errorf("tool %q collides with tool %q", t.Name, name)
		}
	}
	tt := t
	tt.Params = append([]Param(nil), t.Params...)
	r.tools[t.Name] = &tt
	r.order = append(r.order, t.Name)
	return nil
}

// MustRegister is like Register but panics on error. It is for tools
// defined in code, whose correctness a test checks.
func (r *Registry) MustRegister(tools ...Tool) {
	for _, t := range tools {
		if err := r.Register(t); err != nil {
			panic(err)
		}
	}
}

// Merge registers every tool of other in r.
func (r *Registry) Merge(other *Registry) error {
	for _, t := range other.Tools() {
		if err := r.Register(*t); err != nil {
			return err
		}
	}
	other.mu.RLock()
	defer other.mu.RUnlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for ns, f := range other.unknown {
		r.unknown[ns] = f
	}
	return nil
}

// Lookup returns the tool with the given name.
func (r *Registry) Lookup(name string) (*Tool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tools[name]
	return t, ok
}

// Tools returns the registered tools in registration order.
func (r *Registry) Tools() []*Tool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Tool, 0, len(r.order))
	for _, name := range r.order {
		out = append(out, r.tools[name])
	}
	return out
}

// Namespaces returns the sorted first components of dotted tool names
// ("rover" for "rover.drive").
func (r *Registry) Namespaces() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	set := map[string]bool{}
	for _, name := range r.order {
		if i := strings.IndexByte(name, '.'); i > 0 {
			set[name[:i]] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// Call binds positional and named arguments to the named tool's parameters,
// checks them, and calls it.
func (r *Registry) Call(ctx context.Context, name string, positional []any, named map[string]any) (any, error) {
	t, ok := r.Lookup(name)
	if !ok {
		err := &NotFoundError{Name: name}
		if i := strings.IndexByte(name, '.'); i > 0 {
			r.mu.RLock()
			f := r.unknown[name[:i]]
			r.mu.RUnlock()
			if f != nil {
				f(ctx, name, positional, named, err)
			}
		}
		return nil, err
	}
	return t.Call(ctx, positional, named)
}

// CallNamed is Call for a call that names every argument (see
// Tool.CallNamed): JSON actions and function calls.
func (r *Registry) CallNamed(ctx context.Context, name string, args map[string]any) (any, error) {
	t, ok := r.Lookup(name)
	if !ok {
		return r.Call(ctx, name, nil, args) // not found, reported as Call does
	}
	return t.CallNamed(ctx, args)
}

// Call binds and checks the arguments, then calls the tool's function.
// Errors from the function are returned as they are, so errors.Is works.
// A refusal by the argument check goes to Refused, when set.
func (t *Tool) Call(ctx context.Context, positional []any, named map[string]any) (any, error) {
	args, err := t.Check(ctx, positional, named)
	if err != nil {
		return nil, err
	}
	return t.Fn(ctx, args)
}

// CallNamed is Call for a call that names every argument, as a JSON
// action, function calling or a runtime that bound the arguments to names
// itself (the isolated sandbox worker) make it: a variadic parameter is
// given by its name, as a list of its values.
func (t *Tool) CallNamed(ctx context.Context, args map[string]any) (any, error) {
	a, err := t.check(ctx, nil, args, true)
	if err != nil {
		return nil, err
	}
	return t.Fn(ctx, a)
}

// Check is Bind for a caller that then does what Fn would (the CLI sends a
// device action itself): a refusal goes to Refused, as in Call.
func (t *Tool) Check(ctx context.Context, positional []any, named map[string]any) (Args, error) {
	return t.check(ctx, positional, named, false)
}

func (t *Tool) check(ctx context.Context, positional []any, named map[string]any, byName bool) (Args, error) {
	args, err := t.bind(positional, named, byName)
	if err != nil {
		if t.Refused != nil {
			t.Refused(ctx, t.Given(positional, named), err)
		}
		return nil, err
	}
	return args, nil
}

// Given names the arguments of a call as given, before any checking:
// positional arguments by their parameter's name (those a variadic
// parameter takes as a list under its name, or "arg<N>" beyond the last
// parameter of a tool without one), then the named ones (a name given
// twice keeps the named value).
func (t *Tool) Given(positional []any, named map[string]any) map[string]any {
	out := make(map[string]any, len(positional)+len(named))
	vp, fixed := t.variadic()
	for i, v := range positional {
		switch {
		case i < fixed:
			out[t.Params[i].Name] = v
		case vp != nil:
			l, _ := out[vp.Name].([]any)
			out[vp.Name] = append(l, v)
		default:
			out[fmt.Sprintf("arg%d", i+1)] = v
		}
	}
	for k, v := range named {
		out[k] = v
	}
	return out
}

// variadic returns the tool's variadic parameter (nil when it has none)
// and the number of the others.
func (t *Tool) variadic() (*Param, int) {
	if n := len(t.Params); n > 0 && t.Params[n-1].Variadic {
		return &t.Params[n-1], n - 1
	}
	return nil, len(t.Params)
}

// NotFoundError reports a call to a tool that is not registered.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return "no tool named " + quoteShort(e.Name) }

// quoteShort quotes a name from a caller for a message, shortened when it
// is long (a hostile caller's name can be megabytes).
func quoteShort(s string) string {
	if len(s) <= 80 {
		return fmt.Sprintf("%q", s)
	}
	h, _ := repr.Head(s, 60, repr.Bytes)
	return fmt.Sprintf("%q", h) + repr.CountMark(len(s))
}

// ArgError reports an argument that does not fit a tool's parameters.
type ArgError struct {
	Tool  string
	Param string // empty when the error is about the call as a whole
	Msg   string
	// Value is set when the argument has the right type but a value the
	// parameter does not accept (out of bounds or range, not finite, not
	// one of the allowed values): Python's ValueError rather than
	// TypeError.
	Value bool
}

// badValue marks a check failure about a value of the right type.
type badValue struct{ error }

func valueErrorf(format string, args ...any) error {
	return badValue{fmt.Errorf(format, args...)}
}

func (e *ArgError) Error() string {
	if e.Param == "" {
		return e.Tool + ": " + e.Msg
	}
	return e.Tool + ": " + e.Param + " " + e.Msg
}

// Bind matches arguments to parameters, applies defaults and converts and
// checks every value, with Python's rules: positional arguments beyond the
// other parameters go to a variadic parameter, which cannot be named. The
// returned Args hold, per type: str → string, int → int64,
// float → float64, bool → bool, list → []any, dict → map[string]any,
// any → the value as given; a variadic parameter holds a []any of those.
func (t *Tool) Bind(positional []any, named map[string]any) (Args, error) {
	return t.bind(positional, named, false)
}

// bind is Bind; byName lets named give the variadic parameter, as a list.
func (t *Tool) bind(positional []any, named map[string]any, byName bool) (Args, error) {
	vp, fixed := t.variadic()
	if vp == nil && len(positional) > fixed {
		return nil, &ArgError{Tool: t.Name, Msg: fmt.Sprintf("takes %d arguments but %d were given", fixed, len(positional))}
	}
	args := make(Args, len(t.Params))
	var extra []any
	for i, v := range positional {
		if i < fixed {
			args[t.Params[i].Name] = v
		} else {
			extra = append(extra, v)
		}
	}
	for k, v := range named {
		idx := t.paramIndex(k)
		if idx < 0 || (idx == fixed && !byName) {
			return nil, &ArgError{Tool: t.Name, Msg: fmt.Sprintf("unexpected argument %s (parameters: %s)", quoteShort(k), t.paramNames())}
		}
		if idx < len(positional) {
			return nil, &ArgError{Tool: t.Name, Param: k, Msg: "given twice (by position and by name)"}
		}
		args[k] = v
	}
	for _, p := range t.Params {
		if p.Variadic {
			items := extra
			if v, ok := args[p.Name]; ok {
				l, err := convert(Param{Type: List}, v)
				if err != nil {
					return nil, &ArgError{Tool: t.Name, Param: p.Name, Msg: err.Error()}
				}
				items = l.([]any)
			}
			out := make([]any, len(items))
			for i, v := range items {
				cv, err := convert(p, v)
				if err != nil {
					var bv badValue
					return nil, &ArgError{Tool: t.Name, Param: fmt.Sprintf("%s[%d]", p.Name, i), Msg: err.Error(), Value: errors.As(err, &bv)}
				}
				out[i] = cv
			}
			args[p.Name] = out
			continue
		}
		v, ok := args[p.Name]
		if !ok {
			if p.Required {
				return nil, &ArgError{Tool: t.Name, Param: p.Name, Msg: "is required"}
			}
			if p.Default == nil {
				continue
			}
			v = p.Default
		}
		cv, err := convert(p, v)
		if err != nil {
			var bv badValue
			return nil, &ArgError{Tool: t.Name, Param: p.Name, Msg: err.Error(), Value: errors.As(err, &bv)}
		}
		args[p.Name] = cv
	}
	return args, nil
}

func (t *Tool) paramIndex(name string) int {
	for i, p := range t.Params {
		if p.Name == name {
			return i
		}
	}
	return -1
}

func (t *Tool) paramNames() string {
	if len(t.Params) == 0 {
		return "none"
	}
	names := make([]string, len(t.Params))
	for i, p := range t.Params {
		names[i] = p.Name
		if p.Variadic {
			names[i] = "*" + p.Name
		}
	}
	return strings.Join(names, ", ")
}

// Convert checks v against p and returns it in the Go type Args holds for
// p.Type, as Bind does with every argument and default; device
// descriptions use it for their defaults.
func Convert(p Param, v any) (any, error) { return convert(p, v) }

// convert checks v against p and returns it in the canonical Go type.
func convert(p Param, v any) (any, error) {
	switch p.Type {
	case String:
		s, ok := v.(string)
		if !ok && p.Stringify {
			s, ok = Repr(v), true
		}
		if !ok {
			return nil, fmt.Errorf("must be a str, got %s", TypeName(v))
		}
		if len(p.Enum) > 0 {
			for _, e := range p.Enum {
				if e == s {
					return s, nil
				}
			}
			return nil, valueErrorf("must be one of %s, got %q", quoteList(p.Enum), s)
		}
		return s, nil
	case Int:
		i, n, problem := argcheck.Integer(v, p.Min, p.Max)
		if problem != argcheck.OK {
			return nil, numberError(p, v, n, problem)
		}
		return i, nil
	case Float:
		f, n, problem := argcheck.Float(v, p.Min, p.Max)
		if problem != argcheck.OK {
			return nil, numberError(p, v, n, problem)
		}
		return f, nil
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("must be a bool, got %s", TypeName(v))
		}
		return b, nil
	case List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case []string:
			out := make([]any, len(x))
			for i, s := range x {
				out[i] = s
			}
			return out, nil
		}
		return nil, fmt.Errorf("must be a list, got %s", TypeName(v))
	case Dict:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("must be a dict with str keys, got %s", TypeName(v))
		}
		return m, nil
	case Any:
		return v, nil
	}
	return nil, fmt.Errorf("has unknown type %q", p.Type)
}

// numberError words a numeric parameter's problem (see argcheck) in
// Python's terms.
func numberError(p Param, v any, n argcheck.Number, problem argcheck.Problem) error {
	given := n.Text
	if given == "" {
		given = formatNum(n.F)
	}
	switch problem {
	case argcheck.NotNumber:
		if p.Type == Int {
			return fmt.Errorf("must be an int, got %s", TypeName(v))
		}
		return fmt.Errorf("must be a float, got %s", TypeName(v))
	case argcheck.NotInteger:
		return fmt.Errorf("must be an int, got %s", given)
	case argcheck.NotFinite:
		return valueErrorf("must be a finite number, got %s", formatNum(n.F))
	case argcheck.BeyondType:
		return outOfRange(p, given)
	case argcheck.BelowMin:
		return valueErrorf("must be >= %s, got %s", formatBound(p, *p.Min), given)
	case argcheck.AboveMax:
		return valueErrorf("must be <= %s, got %s", formatBound(p, *p.Max), given)
	}
	return nil
}

// outOfRange refuses a number that no value of the parameter's type can
// hold (an int beyond 64 bits, a float beyond float64), naming the range
// the parameter accepts.
func outOfRange(p Param, given string) error {
	lo, hi := "", ""
	switch {
	case p.Min != nil:
		lo = formatBound(p, *p.Min)
	case p.Type == Int:
		lo = strconv.FormatInt(math.MinInt64, 10)
	default:
		lo = "-" + strconv.FormatFloat(math.MaxFloat64, 'g', -1, 64)
	}
	switch {
	case p.Max != nil:
		hi = formatBound(p, *p.Max)
	case p.Type == Int:
		hi = strconv.FormatInt(math.MaxInt64, 10)
	default:
		hi = strconv.FormatFloat(math.MaxFloat64, 'g', -1, 64)
	}
	return valueErrorf("is out of range (%s..%s), got %s", lo, hi, given)
}

// formatNum prints a float the way Python's repr does.
func formatNum(f float64) string { return FormatFloat(f) }

// formatBound prints a bound in the parameter's own type.
func formatBound(p Param, f float64) string {
	if p.Type == Int {
		return strconv.FormatInt(int64(f), 10)
	}
	return formatNum(f)
}

// TypeName names the Python type of a Go value as Args or a runtime holds
// it ("None", "bool", "int", "float", "str", "list", "dict"; internal/repr,
// which names the same values in JSON's words for the device protocol).
func TypeName(v any) string { return repr.PyType(v) }

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// Args are the checked arguments of a call, by parameter name. An optional
// parameter without a default is absent when not given.
type Args map[string]any

// Has reports whether the argument was given or has a default.
func (a Args) Has(name string) bool { _, ok := a[name]; return ok }

// String returns a str argument, or "" if absent.
func (a Args) String(name string) string { s, _ := a[name].(string); return s }

// Int returns an int argument, or 0 if absent.
func (a Args) Int(name string) int64 { n, _ := a[name].(int64); return n }

// Float returns a float argument, or 0 if absent.
func (a Args) Float(name string) float64 { f, _ := a[name].(float64); return f }

// Bool returns a bool argument, or false if absent.
func (a Args) Bool(name string) bool { b, _ := a[name].(bool); return b }

// List returns a list argument (or a variadic parameter's values), or nil
// if absent.
func (a Args) List(name string) []any { l, _ := a[name].([]any); return l }

// Dict returns a dict argument, or nil if absent.
func (a Args) Dict(name string) map[string]any { m, _ := a[name].(map[string]any); return m }
