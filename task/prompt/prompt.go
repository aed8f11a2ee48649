// Package prompt renders MINT-style first user messages: the instructions
// for an action format, the tools listed as MINT lists them, an optional
// in-context example, and the task. Task packages use it to build their
// Episode.Prompt; the templates are embedded from templates/*.tmpl
// (code.tmpl is MINT's prompt word for word; json.tmpl and text.tmpl are
// the same instructions for the other formats).
package prompt

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"text/template"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Sources are the prompt templates, for a run's prompt hash.
func Sources() fs.FS { return templates }

// Data fills a prompt template.
type Data struct {
	task.Limits
	Tools    string // the tool list, rendered for the format (default: ToolList of the registry)
	Commands string // the text format's command forms
	Example  string // an in-context example episode, may be empty
	Task     string
}

// Render renders the first user message for the format, with the tools of
// reg listed as MINT lists them:
//
//	[1] put(object: str, receptacle: str) -> str
//	Put an object in/on a receptacle.
//	For example: put("mug 1", "desk 2")
func Render(format task.Format, reg *tool.Registry, data Data) (string, error) {
	name := "templates/" + string(format) + ".tmpl"
	src, err := templates.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("no prompt for format %q: %w", format, task.ErrFormat)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("prompt %s: %w", name, err)
	}
	if data.Tools == "" && reg != nil {
		data.Tools = ToolList(reg, format)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("prompt %s: %w", name, err)
	}
	return b.String(), nil
}

// ToolList renders the tools of reg in MINT's numbered form; the json
// format shows each tool's JSON call instead of a Python example. A tool
// named "step" (the text interface) is left out of the code format's list.
func ToolList(reg *tool.Registry, format task.Format) string {
	var parts []string
	i := 0
	for _, t := range reg.Tools() {
		if t.Name == "step" && format == task.Code {
			continue // the text interface; code uses the functions
		}
		i++
		var b strings.Builder
		fmt.Fprintf(&b, "[%d] %s\n%s", i, t.Signature(), t.Doc)
		// Units, bounds and allowed values (device tools have them; MINT's
		// ALFWorld tools do not, so their listing stays verbatim).
		for _, p := range t.Params {
			if c := p.Constraints(); c != "" {
				if p.Doc != "" {
					c = p.Doc + "; " + c
				}
				fmt.Fprintf(&b, "\n  %s: %s", p.Name, c)
			}
		}
		switch {
		case format == task.JSON:
			fmt.Fprintf(&b, "\nFor example: {\"tool\": %q, \"args\": {%s}}", t.Name, jsonArgsExample(t))
		case t.Example != "":
			fmt.Fprintf(&b, "\nFor example: %s", t.Example)
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "\n\n")
}

func jsonArgsExample(t *tool.Tool) string {
	var parts []string
	for _, p := range t.Params {
		if p.Variadic { // given by name as a list
			parts = append(parts, fmt.Sprintf("%q: [<%s>, ...]", p.Name, p.Type))
			continue
		}
		parts = append(parts, fmt.Sprintf("%q: <%s>", p.Name, p.Type))
	}
	return strings.Join(parts, ", ")
}
