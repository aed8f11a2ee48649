package tool

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/repr"
)

// Signature renders the tool as a Python signature, as CodeAct and MINT
// prompts show tools: `put(object: str, receptacle: str) -> str`; a
// variadic parameter as Python writes it: `total(*values: float) -> float`.
func (t *Tool) Signature() string {
	var b strings.Builder
	b.WriteString(t.Name)
	b.WriteByte('(')
	for i, p := range t.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		if p.Variadic {
			b.WriteByte('*')
		}
		b.WriteString(p.Name)
		b.WriteString(": ")
		b.WriteString(string(p.Type))
		if !p.Required && !p.Variadic {
			b.WriteString(" = ")
			b.WriteString(Repr(p.Default))
		}
	}
	b.WriteString(") -> ")
	if t.Returns == "" {
		b.WriteString(string(None))
	} else {
		b.WriteString(string(t.Returns))
	}
	return b.String()
}

// Help renders the signature followed by the description, the parameters
// with units and bounds, the return value and the example, as a prompt shows
// one tool.
func (t *Tool) Help() string {
	var b strings.Builder
	b.WriteString(t.Signature())
	b.WriteByte('\n')
	if t.Doc != "" {
		b.WriteString("    ")
		b.WriteString(t.Doc)
		b.WriteByte('\n')
	}
	for _, p := range t.Params {
		extra := paramExtras(p)
		if p.Doc == "" && extra == "" {
			continue
		}
		name := p.Name
		if p.Variadic {
			name = "*" + name
		}
		fmt.Fprintf(&b, "    %s: %s%s\n", name, p.Doc, extra)
	}
	if t.ReturnDoc != "" {
		fmt.Fprintf(&b, "    Returns: %s\n", t.ReturnDoc)
	}
	if t.Example != "" {
		fmt.Fprintf(&b, "    Example: %s\n", t.Example)
	}
	return b.String()
}

func paramExtras(p Param) string {
	c := p.Constraints()
	if c == "" {
		return ""
	}
	sep := " "
	if p.Doc == "" {
		sep = ""
	}
	return sep + "(" + c + ")"
}

// Constraints describes p's unit, bounds and allowed values, e.g.
// "unit m/s; -1.0 to 1.0"; it is empty when p has none.
func (p Param) Constraints() string {
	var parts []string
	if p.Unit != "" {
		parts = append(parts, "unit "+p.Unit)
	}
	switch {
	case p.Min != nil && p.Max != nil:
		parts = append(parts, fmt.Sprintf("%s to %s", formatBound(p, *p.Min), formatBound(p, *p.Max)))
	case p.Min != nil:
		parts = append(parts, ">= "+formatBound(p, *p.Min))
	case p.Max != nil:
		parts = append(parts, "<= "+formatBound(p, *p.Max))
	}
	if len(p.Enum) > 0 {
		parts = append(parts, "one of "+quoteList(p.Enum))
	}
	return strings.Join(parts, "; ")
}

// PromptDocs renders every tool's Help, in registration order, separated by
// blank lines: the tool section of a prompt.
func (r *Registry) PromptDocs() string {
	tools := r.Tools()
	parts := make([]string, len(tools))
	for i, t := range tools {
		parts[i] = strings.TrimRight(t.Help(), "\n")
	}
	return strings.Join(parts, "\n\n")
}

// JSONSchema returns the JSON Schema of the tool's parameters, as an
// object schema suitable for OpenAI function calling. A variadic parameter
// is an optional array under its name whose items have the parameter's
// schema (a call by names gives it as a list: Tool.CallNamed).
func (t *Tool) JSONSchema() map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, p := range t.Params {
		s := map[string]any{}
		if p.Variadic {
			items := paramSchema(p)
			s = map[string]any{"type": "array", "items": items}
			if d, ok := items["description"]; ok {
				s["description"] = d
				delete(items, "description")
			}
			props[p.Name] = s
			continue
		}
		for k, v := range paramSchema(p) {
			s[k] = v
		}
		if p.Required {
			required = append(required, p.Name)
		} else if p.Default != nil {
			s["default"] = p.Default
		}
		props[p.Name] = s
	}
	return map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

// paramSchema is the JSON Schema of one value of p: type, allowed values,
// description (with the unit) and bounds.
func paramSchema(p Param) map[string]any {
	s := map[string]any{}
	switch p.Type {
	case String:
		s["type"] = "string"
		if len(p.Enum) > 0 {
			s["enum"] = append([]string(nil), p.Enum...)
		}
	case Int:
		s["type"] = "integer"
	case Float:
		s["type"] = "number"
	case Bool:
		s["type"] = "boolean"
	case List:
		s["type"] = "array"
	case Dict:
		s["type"] = "object"
	}
	desc := p.Doc
	if p.Unit != "" {
		desc = strings.TrimSpace(desc + " (unit " + p.Unit + ")")
	}
	if desc != "" {
		s["description"] = desc
	}
	if p.Min != nil {
		s["minimum"] = *p.Min
	}
	if p.Max != nil {
		s["maximum"] = *p.Max
	}
	return s
}

// Function is a tool as OpenAI function calling describes it.
type Function struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

// Functions returns every tool as a function-calling definition. Dots in
// names become "__", since function names may not contain dots; FromFunctionName
// reverses it.
func (r *Registry) Functions() []Function {
	var out []Function
	for _, t := range r.Tools() {
		out = append(out, Function{
			Name:        strings.ReplaceAll(t.Name, ".", "__"),
			Description: t.Doc,
			Parameters:  t.JSONSchema(),
		})
	}
	return out
}

// FromFunctionName maps a function-calling name back to a tool name.
func FromFunctionName(name string) string { return strings.ReplaceAll(name, "__", ".") }

// Repr renders a Go value as Python's repr would render the same value:
// strings in single quotes, None, True/False, lists and dicts.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case string:
		b.WriteString(PyQuote(x))
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case float64:
		switch {
		case math.IsInf(x, 1):
			b.WriteString("inf")
		case math.IsInf(x, -1):
			b.WriteString("-inf")
		case math.IsNaN(x):
			b.WriteString("nan")
		default:
			b.WriteString(formatNum(x))
		}
	case float32:
		writeRepr(b, float64(x))
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(PyQuote(s))
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(PyQuote(k))
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	default:
		data, err := json.Marshal(x)
		if err != nil {
			fmt.Fprintf(b, "%v", x)
			return
		}
		b.Write(data)
	}
}

// PyQuote quotes s as CPython's repr quotes a str (repr.Str): single quotes
// unless the string contains a single quote and no double quote, and what
// str.isprintable rejects escaped.
func PyQuote(s string) string { return repr.Str(s) }
