package devices

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-dev/gantry/internal/spelling"
	"github.com/gantry-dev/gantry/protocol"
)

// ErrPolicy is the cause (for errors.Is) of every error about a policy: one
// that cannot be read or does not hold together, and one that names what a
// device does not have.
var ErrPolicy = errors.New("policy")

// PolicyError is an error in a policy, with where it was written.
type PolicyError struct {
	File string // "" when the policy was not read from a file
	Line int    // 0 when not known
	Err  error
}

func (e *PolicyError) Error() string {
	where := "policy"
	switch {
	case e.File != "" && e.Line > 0:
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	case e.File != "":
		where = e.File
	case e.Line > 0:
		where = fmt.Sprintf("policy, line %d", e.Line)
	}
	return where + ": " + e.Err.Error()
}

// Unwrap makes errors.Is(err, ErrPolicy) hold, and keeps the cause.
func (e *PolicyError) Unwrap() []error { return []error{ErrPolicy, e.Err} }

// policySource is where a policy was read and the line of each name in it,
// by path ("devices.rover.bounds.drive.speed").
type policySource struct {
	file  string
	lines map[string]int
}

func (s *policySource) errorf(line int, format string, a ...any) error {
	file := ""
	if s != nil {
		file = s.file
	}
	return &PolicyError{File: file, Line: line, Err: fmt.Errorf(format, a...)}
}

func (s *policySource) line(path string) int {
	if s == nil {
		return 0
	}
	return s.lines[path]
}

// The keys a policy knows, at each level.
var (
	policyKeys       = []string{"audit", "default", "devices", "dry_run"}
	devicePolicyKeys = []string{"allow", "bounds", "burst", "deny", "rate"}
	rangeKeys        = []string{"max", "min"}
)

// keyWalker checks every key of a policy's YAML before it is decoded, so
// that a misspelt key is an error with its line and the nearest valid key
// instead of a rule that silently does nothing.
type keyWalker struct {
	src   *policySource
	nodes int
}

// visit follows aliases and counts nodes, refusing documents that expand
// beyond maxPolicyNodes.
func (w *keyWalker) visit(n *yaml.Node) (*yaml.Node, error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	w.nodes++
	if w.nodes > maxPolicyNodes {
		return nil, w.src.errorf(n.Line, "more than %d entries once aliases are expanded", maxPolicyNodes)
	}
	return n, nil
}

// mapping returns the key/value pairs of n, a mapping or null (nothing).
func (w *keyWalker) mapping(n *yaml.Node, path string) ([][2]*yaml.Node, error) {
	n, err := w.visit(n)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, w.src.errorf(n.Line, "%s must be a mapping of names to values, got %s", where(path), kindName(n))
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := w.visit(n.Content[i])
		if err != nil {
			return nil, err
		}
		if k.Tag == "!!merge" {
			return nil, w.src.errorf(k.Line, "%s: merge keys (<<) are not supported in a policy; write the keys out, or alias a whole value", where(path))
		}
		if k.Kind != yaml.ScalarNode {
			return nil, w.src.errorf(k.Line, "%s: a key must be a plain name, got %s", where(path), kindName(k))
		}
		out = append(out, [2]*yaml.Node{k, n.Content[i+1]})
	}
	return out, nil
}

func where(path string) string {
	if path == "" {
		return "the policy"
	}
	return path
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// known refuses a key that is not in valid, naming the nearest valid one.
func (w *keyWalker) known(k *yaml.Node, path string, valid []string) error {
	for _, v := range valid {
		if k.Value == v {
			return nil
		}
	}
	in := ""
	if path != "" {
		in = " in " + path
	}
	return w.src.errorf(k.Line, "unknown key %q%s%s", k.Value, in, suggest(k.Value, valid))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *keyWalker) top(doc *yaml.Node) error {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		root = doc.Content[0]
	}
	pairs, err := w.mapping(root, "")
	if err != nil {
		return err
	}
	for _, kv := range pairs {
		k, v := kv[0], kv[1]
		if err := w.known(k, "", policyKeys); err != nil {
			return err
		}
		w.src.lines[k.Value] = k.Line
		switch k.Value {
		case "default":
			if err := w.device(v, "default"); err != nil {
				return err
			}
		case "devices":
			devs, err := w.mapping(v, "devices")
			if err != nil {
				return err
			}
			for _, dv := range devs {
				name := dv[0]
				if !protocol.IsIdent(name.Value) {
					return w.src.errorf(name.Line, "devices: %q is not a device name (letters, digits, _)", name.Value)
				}
				path := "devices." + name.Value
				w.src.lines[path] = name.Line
				if err := w.device(dv[1], path); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *keyWalker) device(n *yaml.Node, path string) error {
	pairs, err := w.mapping(n, path)
	if err != nil {
		return err
	}
	for _, kv := range pairs {
		k, v := kv[0], kv[1]
		if err := w.known(k, path, devicePolicyKeys); err != nil {
			return err
		}
		kp := join(path, k.Value)
		w.src.lines[kp] = k.Line
		switch k.Value {
		case "allow", "deny":
			v, err := w.visit(v)
			if err != nil {
				return err
			}
			if v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					w.src.lines[kp+"."+item.Value] = item.Line
				}
			}
		case "bounds":
			actions, err := w.mapping(v, kp)
			if err != nil {
				return err
			}
			for _, av := range actions {
				action := av[0]
				if !protocol.IsIdent(action.Value) {
					return w.src.errorf(action.Line, "%s: %q is not an action name", kp, action.Value)
				}
				ap := kp + "." + action.Value
				w.src.lines[ap] = action.Line
				params, err := w.mapping(av[1], ap)
				if err != nil {
					return err
				}
				for _, pv := range params {
					param := pv[0]
					if !protocol.IsIdent(param.Value) {
						return w.src.errorf(param.Line, "%s: %q is not a parameter name", ap, param.Value)
					}
					pp := ap + "." + param.Value
					w.src.lines[pp] = param.Line
					ends, err := w.mapping(pv[1], pp)
					if err != nil {
						return err
					}
					if len(ends) == 0 {
						return w.src.errorf(param.Line, "%s: a bound needs min, max or both", pp)
					}
					for _, ev := range ends {
						if err := w.known(ev[0], pp, rangeKeys); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// suggest names the nearest of valid to name (" (did you mean "x"?)"), or
// lists them all when none is near.
func suggest(name string, valid []string) string {
	if near := nearest(name, valid); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	if len(valid) == 0 {
		return ""
	}
	return " (valid: " + strings.Join(valid, ", ") + ")"
}

// nearest returns the name in valid closest to name by edit distance
// (insertions, deletions, substitutions and swaps of neighbours, in any
// case), if it is close enough to be a misspelling: at most 2 edits, and
// fewer edits than name has letters. Ties go to the first in sorted order.
func nearest(name string, valid []string) string {
	return spelling.Nearest(name, valid, spelling.Options{FoldCase: true, Near: func(name, v string, d int) bool {
		return d < 3 && d < len(name) && d < len(v)
	}})
}

// CheckDevice checks the rules that govern the device named name (its own
// entry, else the default) against its description: every action named in
// allow, deny and bounds must be one of the device's actions, every bounded
// parameter one of the action's parameters, and a number. A device without
// an entry of its own must not be near a device name the policy has (a
// misspelt entry would leave it under the default). The guard does not
// expose a device the policy does not fit: a bound that names nothing
// would silently do nothing.
func (p Policy) CheckDevice(name string, desc *Description) error {
	rules, path := p.Default, "default"
	if d, ok := p.Devices[name]; ok {
		rules, path = d, "devices."+name
	} else if near := nearest(name, sortedKeys(p.Devices)); near != "" && !onlyDigitsDiffer(name, near) {
		return p.src.errorf(p.src.line("devices."+near), "device %q has no entry in devices, and %q is close to it (did you mean %q?); rename the entry, or add one for %s", name, near, name, name)
	}
	actions := sortedKeys(desc.Actions)
	has := func(a string) bool { _, ok := desc.Actions[a]; return ok }
	for _, list := range []struct {
		key   string
		names []string
	}{{"allow", rules.Allow}, {"deny", rules.Deny}} {
		for _, a := range list.names {
			if a == "*" || has(a) {
				continue
			}
			kp := path + "." + list.key
			line := p.src.line(kp + "." + a)
			if line == 0 {
				line = p.src.line(kp)
			}
			return p.src.errorf(line, "unknown action %q in %s: %s has no such action%s", a, kp, name, suggest(a, actions))
		}
	}
	for _, a := range sortedKeys(rules.Bounds) {
		ap := path + ".bounds." + a
		ad, ok := desc.Actions[a]
		if !ok {
			return p.src.errorf(p.src.line(ap), "unknown key %q in %s.bounds: %s has no such action%s", a, path, name, suggest(a, actions))
		}
		params := sortedKeys(ad.Params)
		for _, pn := range sortedKeys(rules.Bounds[a]) {
			pd, ok := ad.Params[pn]
			if !ok {
				return p.src.errorf(p.src.line(ap+"."+pn), "unknown key %q in %s: %s.%s has no such parameter%s", pn, ap, name, a, suggest(pn, params))
			}
			if pd.Type != "number" && pd.Type != "integer" {
				return p.src.errorf(p.src.line(ap+"."+pn), "%s.%s: %s.%s's %s is a %s; only numbers can be bounded", ap, pn, name, a, pn, pd.Type)
			}
		}
	}
	return nil
}

// onlyDigitsDiffer reports whether a and b are the same once digits are
// removed (rover1 and rover2 are two devices, not a misspelling).
func onlyDigitsDiffer(a, b string) bool {
	strip := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, s)
	}
	return strip(a) == strip(b)
}
