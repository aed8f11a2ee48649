package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/agent"
)

// formatResults are episodes of two families in three formats: code wins
// more, in fewer turns; one json episode errored.
func formatResults() []agent.EpisodeResult {
	var out []agent.EpisodeResult
	add := func(variant, model, family string, i int, won bool, turns int, errored bool) {
		tr := &agent.Transcript{ID: fmt.Sprintf("%s/%d", family, i), TaskType: family, Success: won, StopReason: agent.StopTurns, Turns: make([]agent.Turn, turns)}
		if won {
			tr.StopReason = agent.StopSuccess
		}
		if errored {
			tr.StopReason, tr.Error = agent.StopError, "policy: down"
		}
		format, _, _ := strings.Cut(variant, "/")
		out = append(out, agent.EpisodeResult{Variant: variant, Game: tr.ID, Transcript: tr,
			Run: &agent.RunIdentity{Policy: "openai", Model: model, Format: agent.Format(format)}})
	}
	for _, v := range []struct {
		name, model string
		wins        int
	}{{"code/m", "gpt-4-1106-preview", 3}, {"json/m", "gpt-4-1106-preview", 2}, {"text/m", "other", 1}} {
		for i := range 4 {
			add(v.name, v.model, "web_browsing", i, i < v.wins, 2+i, v.name == "json/m" && i == 3)
		}
		add(v.name, v.model, "message_decoder", 0, v.wins > 1, 10, false)
	}
	return out
}

// TestFormatTableGolden: the paper's layout, with the published figures
// beside the variants whose model matches.
func TestFormatTableGolden(t *testing.T) {
	rep := agent.NewReport(formatResults())
	tab := FormatTable{
		Groups:        []string{"message_decoder", "dna", "web_browsing"},
		PublishedName: "paper: gpt-4-1106-preview",
		Published: func(v agent.VariantReport) (Published, bool) {
			if v.Run == nil || v.Run.Model != "gpt-4-1106-preview" {
				return Published{}, false
			}
			return map[agent.Format]Published{"code": {0.744, 5.5}, "json": {0.524, 7.6}}[v.Format], true
		},
	}
	var b bytes.Buffer
	if err := tab.WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "formats.md", b.Bytes())
}

// TestFormatTableNoPublished: no published row when no variant matches.
func TestFormatTableNoPublished(t *testing.T) {
	rep := agent.NewReport(formatResults())
	var b bytes.Buffer
	tab := FormatTable{PublishedName: "paper", Published: func(agent.VariantReport) (Published, bool) { return Published{}, false }}
	if err := tab.WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "paper") || strings.Count(b.String(), "\n") != 5 {
		t.Errorf("table:\n%s", b.String())
	}
}
