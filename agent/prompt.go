package agent

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/gantry-dev/gantry/tool"
)

//go:embed prompts/*.tmpl prompts/*.txt
var promptFS embed.FS

// PromptData fills a prompt template.
type PromptData struct {
	MaxTurns, MaxProposals int
	Tools                  string // the tool list, rendered for the format
	Commands               string // the text format's command forms
	Example                string // an in-context example episode, may be empty
	Task                   string
}

// Prompt renders the first user message for the format, with the tools of
// reg listed as MINT lists them:
//
//	[1] put(object: str, receptacle: str) -> str
//	Put an object in/on a receptacle.
//	For example: put("mug 1", "desk 2")
func Prompt(format Format, reg *tool.Registry, data PromptData) (string, error) {
	name := "prompts/" + string(format) + ".tmpl"
	src, err := promptFS.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("no prompt for format %q: %w", format, err)
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
// format shows each tool's JSON call instead of a Python example.
func ToolList(reg *tool.Registry, format Format) string {
	var parts []string
	i := 0
	for _, t := range reg.Tools() {
		if t.Name == "step" && format == Code {
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
		case format == JSON:
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
		parts = append(parts, fmt.Sprintf("%q: <%s>", p.Name, p.Type))
	}
	return strings.Join(parts, ", ")
}

// ALFWorldExample is the in-context example MINT shows for ALFWorld.
func ALFWorldExample() string {
	data, err := promptFS.ReadFile("prompts/alfworld_example.txt")
	if err != nil {
		panic(err) // embedded; a test reads it
	}
	return string(data)
}
