package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gantry-dev/gantry/agent"
)

// Published is a published result to show beside a variant: a success
// rate (0 to 1) and an average number of turns.
type Published struct {
	SuccessRate float64
	AvgTurns    float64
}

// FormatTable lays an evaluation out as the CodeAct paper's tables do: a
// pair of columns per variant (success rate, average turns), a row per
// group of tasks (the transcripts' task types: M3ToolEval's families) and
// an overall row; when Published knows a variant's published figure, a
// last row shows it beside the variant's overall figures.
type FormatTable struct {
	// Groups orders the rows; task types it does not list follow, sorted.
	Groups []string
	// Published returns the published figure of a variant, if any.
	Published func(v agent.VariantReport) (Published, bool)
	// PublishedName labels the published row ("paper: gpt-4-1106-preview").
	PublishedName string
}

// WriteMarkdown writes the table of rep. A cell shows "-" where a variant
// played no episode of the group, and the errored episodes (in no rate)
// when there are any.
func (t FormatTable) WriteMarkdown(w io.Writer, rep *agent.Report) error {
	var b strings.Builder
	b.WriteString("| tasks |")
	sep := "|---|"
	for _, v := range rep.Variants {
		fmt.Fprintf(&b, " %s: success | %s: turns |", v.Name, v.Name)
		sep += "---:|---:|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, g := range t.groups(rep) {
		fmt.Fprintf(&b, "| %s (%d) |", g, groupSize(rep, g))
		for _, v := range rep.Variants {
			st, ok := v.ByTaskType[g]
			b.WriteString(tableCells(st, ok))
		}
		b.WriteString("\n")
	}
	n := 0
	for _, v := range rep.Variants {
		n = max(n, v.Episodes+v.Errored)
	}
	fmt.Fprintf(&b, "| **overall** (%d) |", n)
	for _, v := range rep.Variants {
		b.WriteString(tableCells(v.Stats, true))
	}
	b.WriteString("\n")
	if t.Published != nil {
		row, any := "| "+dash(t.PublishedName)+" |", false
		for _, v := range rep.Variants {
			if p, ok := t.Published(v); ok {
				row += fmt.Sprintf(" %.1f%% | %.1f |", 100*p.SuccessRate, p.AvgTurns)
				any = true
			} else {
				row += " | |"
			}
		}
		if any {
			b.WriteString(row + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tableCells(st agent.Stats, ok bool) string {
	if !ok || st.Episodes+st.Errored == 0 {
		return " - | - |"
	}
	rate := "-"
	if st.Episodes > 0 {
		rate = fmt.Sprintf("%.1f%% (%d/%d)", 100*st.SuccessRate, st.Won, st.Episodes)
	}
	if st.Errored > 0 {
		rate += fmt.Sprintf(", %d errored", st.Errored)
	}
	turns := "-"
	if st.Episodes > 0 {
		turns = fmt.Sprintf("%.1f", st.AvgTurns)
	}
	return " " + rate + " | " + turns + " |"
}

// groups are the rows: Groups first, then the other task types, sorted.
func (t FormatTable) groups(rep *agent.Report) []string {
	seen := map[string]bool{}
	var out, rest []string
	for _, v := range rep.Variants {
		for g := range v.ByTaskType {
			seen[g] = true
		}
	}
	for _, g := range t.Groups {
		if seen[g] {
			out = append(out, g)
			delete(seen, g)
		}
	}
	for g := range seen {
		rest = append(rest, g)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// groupSize is the largest number of episodes a variant has of group g.
func groupSize(rep *agent.Report, g string) int {
	n := 0
	for _, v := range rep.Variants {
		st := v.ByTaskType[g]
		n = max(n, st.Episodes+st.Errored)
	}
	return n
}
