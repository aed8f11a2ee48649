package prompt

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

func registry() *tool.Registry {
	reg := tool.NewRegistry()
	fn := func(context.Context, tool.Args) (any, error) { return "", nil }
	reg.MustRegister(
		tool.Tool{Name: "goto", Doc: "Go to a location of the receptacle.", Params: []tool.Param{{Name: "receptacle", Type: tool.String, Required: true}},
			Returns: tool.String, Example: `goto("drawer 1")`, Fn: fn},
		tool.Tool{Name: "step", Doc: "Send a text command.", Params: []tool.Param{{Name: "command", Type: tool.String, Required: true}},
			Returns: tool.String, Fn: fn},
	)
	return reg
}

func TestRender(t *testing.T) {
	tests := []struct {
		format task.Format
		has    []string
		lacks  []string
	}{
		{task.Code, []string{"[1] goto(receptacle: str) -> str\nGo to a location of the receptacle.\nFor example: goto(\"drawer 1\")", "You have 4 chances", "solution 3 times", "---\n\nEXAMPLE\n\n---\n\nTask:\nTASK"}, []string{"step("}},
		{task.JSON, []string{`For example: {"tool": "goto", "args": {"receptacle": <str>}}`, "[2] step(command: str) -> str", "---\n\nTask:\nTASK"}, []string{"EXAMPLE"}},
		{task.Text, []string{"Commands: go to X", "---\n\nTask:\nTASK"}, []string{"EXAMPLE"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			got, err := Render(tc.format, registry(), Data{Limits: task.Limits{MaxTurns: 4, MaxProposals: 3}, Commands: "go to X", Example: "EXAMPLE", Task: "TASK"})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.has {
				if !strings.Contains(got, h) {
					t.Errorf("lacks %q:\n%s", h, got)
				}
			}
			for _, l := range tc.lacks {
				if strings.Contains(got, l) {
					t.Errorf("has %q:\n%s", l, got)
				}
			}
		})
	}
	if _, err := Render("yaml", registry(), Data{}); !errors.Is(err, task.ErrFormat) || !strings.Contains(err.Error(), `no prompt for format "yaml"`) {
		t.Errorf("unknown format: %v", err)
	}
}

// TestToolListVariadic: a variadic parameter is listed as Python writes it,
// and the json format's example gives it by name as a list.
func TestToolListVariadic(t *testing.T) {
	reg := tool.NewRegistry()
	reg.MustRegister(tool.Tool{Name: "total", Doc: "Add numbers.", Returns: tool.Float,
		Params: []tool.Param{{Name: "values", Type: tool.Float, Variadic: true}},
		Fn:     func(context.Context, tool.Args) (any, error) { return 0.0, nil }})
	want := map[task.Format]string{
		task.Code: "[1] total(*values: float) -> float\nAdd numbers.",
		task.JSON: "[1] total(*values: float) -> float\nAdd numbers.\nFor example: {\"tool\": \"total\", \"args\": {\"values\": [<float>, ...]}}",
	}
	for f, w := range want {
		if got := ToolList(reg, f); got != w {
			t.Errorf("%s:\n%s\nwant:\n%s", f, got, w)
		}
	}
}
