// Package report compares evaluation runs side by side: win rates overall
// and per task type, turns, errored episodes, the difference in win rate
// of each run from the first with its 95% confidence interval, and charts.
package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gantry-dev/gantry/agent"
)

// Run is one side of a comparison: the episodes of one variant of a
// transcripts file.
type Run struct {
	Label    string
	Source   string // the transcripts file
	Variant  string
	Identity *agent.RunIdentity
	// Results are the latest outcome of each game: a played episode
	// stands; an errored one is replaced by a later one.
	Results []agent.EpisodeResult
}

// Load reads runs: each path is a run folder (holding transcripts.jsonl,
// as gantry eval --out writes) or a transcripts file, and gives one run
// per variant in it. Labels are the variant names when one path is given,
// else the folder's name, followed by ":variant" when it holds several.
func Load(paths ...string) ([]Run, error) {
	if len(paths) == 0 {
		return nil, errors.New("no runs given")
	}
	var runs []Run
	for _, p := range paths {
		file := p
		if st, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("run %s: %w", p, err)
		} else if st.IsDir() {
			file = filepath.Join(p, "transcripts.jsonl")
			if _, err := os.Stat(file); err != nil {
				return nil, fmt.Errorf("run %s: no transcripts.jsonl: %w", p, err)
			}
		}
		results, err := agent.ReadResults(file)
		if err != nil {
			return nil, err
		}
		var found []Run
		index := map[string]int{}
		played := map[[2]string]int{} // variant, game -> index in Results
		for _, r := range results {
			i, ok := index[r.Variant]
			if !ok {
				i = len(found)
				index[r.Variant] = i
				found = append(found, Run{Source: file, Variant: r.Variant, Identity: r.Run})
			}
			run := &found[i]
			k := [2]string{r.Variant, r.Game}
			if j, seen := played[k]; seen {
				if run.Results[j].Errored() {
					run.Results[j] = r
				}
				continue
			}
			played[k] = len(run.Results)
			run.Results = append(run.Results, r)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("run %s: no episodes", p)
		}
		name := filepath.Base(strings.TrimSuffix(filepath.Clean(p), string(filepath.Separator)))
		if !isDir(p) {
			name = filepath.Base(filepath.Dir(p))
		}
		for i := range found {
			switch {
			case len(paths) == 1:
				found[i].Label = found[i].Variant
			case len(found) == 1:
				found[i].Label = name
			default:
				found[i].Label = name + ":" + found[i].Variant
			}
		}
		runs = append(runs, found...)
	}
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.Label] {
			return nil, fmt.Errorf("two runs are labelled %q: give their folders different names", r.Label)
		}
		seen[r.Label] = true
	}
	return runs, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Comparison is runs side by side.
type Comparison struct {
	Runs  []Summary `json:"runs"`
	Diffs []Diff    `json:"differences"` // each run from the first
	// TaskTypes are the task types of every run, sorted.
	TaskTypes []string `json:"task_types"`
}

// Summary is one run's figures.
type Summary struct {
	Label      string                 `json:"label"`
	Source     string                 `json:"source"`
	Variant    string                 `json:"variant"`
	Identity   *agent.RunIdentity     `json:"run,omitempty"`
	Stats      agent.Stats            `json:"stats"`
	WinRate    Interval               `json:"win_rate"` // with its Wilson interval
	ByTaskType map[string]agent.Stats `json:"by_task_type"`
	// Turns counts the played episodes by their number of turns.
	Turns map[int]int `json:"turns"`
	// Errors are "game: error" of the errored episodes.
	Errors []string `json:"errors,omitempty"`
}

// Diff is the difference in win rate of a run from the base run.
type Diff struct {
	Base string `json:"base"`
	Run  string `json:"run"`
	// Paired says both played the same games (errored ones left out of
	// both), so the difference is paired on games; Games is how many.
	Paired bool `json:"paired"`
	Games  int  `json:"games,omitempty"`
	// Table is the paired table (both won, only Run won, only Base won,
	// neither), when paired.
	Table    [4]int   `json:"table,omitzero"`
	Interval Interval `json:"win_rate_difference"`
	Method   string   `json:"method"`
	// Identity lists the settings in which the two runs differ.
	Identity []agent.FieldDiff `json:"identity_differences,omitempty"`
}

// Methods of Diff.
const (
	MethodPaired   = "paired on games, Newcombe's method 10 (Wilson score, continuity-corrected correlation)"
	MethodUnpaired = "unpaired, Newcombe's hybrid score (Wilson score intervals of both runs)"
)

// Compare compares runs, each with the first.
func Compare(runs []Run) *Comparison {
	c := &Comparison{}
	types := map[string]bool{}
	for _, r := range runs {
		rep := agent.NewReport(r.Results)
		s := Summary{Label: r.Label, Source: r.Source, Variant: r.Variant, Identity: r.Identity, ByTaskType: map[string]agent.Stats{}, Turns: map[int]int{}}
		if len(rep.Variants) == 1 {
			v := rep.Variants[0]
			s.Stats, s.ByTaskType, s.Errors = v.Stats, v.ByTaskType, v.Errors
		}
		for t := range s.ByTaskType {
			types[t] = true
		}
		for _, e := range r.Results {
			if !e.Errored() {
				s.Turns[len(e.Transcript.Turns)]++
			}
		}
		s.WinRate = Wilson(s.Stats.Won, s.Stats.Episodes)
		c.Runs = append(c.Runs, s)
	}
	for t := range types {
		c.TaskTypes = append(c.TaskTypes, t)
	}
	sort.Strings(c.TaskTypes)
	for i := 1; i < len(runs); i++ {
		c.Diffs = append(c.Diffs, diff(runs[0], runs[i], c.Runs[0], c.Runs[i]))
	}
	return c
}

// diff is the difference of run from base: paired when both played the
// same games.
func diff(base, run Run, bs, rs Summary) Diff {
	d := Diff{Base: base.Label, Run: run.Label}
	if base.Identity != nil && run.Identity != nil {
		d.Identity = base.Identity.Fields(*run.Identity)
	}
	won := func(r Run) map[string]bool {
		m := map[string]bool{}
		for _, e := range r.Results {
			if !e.Errored() {
				m[e.Game] = e.Transcript.Success
			}
		}
		return m
	}
	bw, rw := won(base), won(run)
	same := len(bw) == len(rw) && len(bw) > 0
	for g := range bw {
		if _, ok := rw[g]; !ok {
			same = false
		}
	}
	if !same {
		d.Interval = DiffUnpaired(rs.Stats.Won, rs.Stats.Episodes, bs.Stats.Won, bs.Stats.Episodes)
		d.Method = MethodUnpaired
		return d
	}
	var t [4]int // both, run only, base only, neither
	for g, b := range bw {
		r := rw[g]
		switch {
		case b && r:
			t[0]++
		case r:
			t[1]++
		case b:
			t[2]++
		default:
			t[3]++
		}
	}
	d.Paired, d.Games, d.Table = true, len(bw), t
	d.Interval = DiffPaired(t[0], t[1], t[2], t[3])
	d.Method = MethodPaired
	return d
}

// WriteText writes the comparison as plain-text tables.
func (c *Comparison) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tpolicy\tmodel\tformat\truntime\tplayed\twon\tlost\terrored\twin rate (95% CI)\tavg turns")
	for _, s := range c.Runs {
		id := s.Identity
		if id == nil {
			id = &agent.RunIdentity{}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%.2f\n", s.Label, dash(id.Policy), dash(id.Model), dash(string(id.Format)), dash(id.Runtime),
			s.Stats.Episodes, s.Stats.Won, s.Stats.Lost, s.Stats.Errored, pct(s.WinRate), s.Stats.AvgTurns)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "task type")
	for _, s := range c.Runs {
		fmt.Fprintf(tw, "\t%s", s.Label)
	}
	fmt.Fprintln(tw)
	for _, t := range c.TaskTypes {
		fmt.Fprint(tw, t)
		for _, s := range c.Runs {
			fmt.Fprintf(tw, "\t%s", cell(s.ByTaskType[t]))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "turns")
	for _, s := range c.Runs {
		fmt.Fprintf(tw, "\t%s", s.Label)
	}
	fmt.Fprintln(tw)
	for _, n := range c.turnCounts() {
		fmt.Fprint(tw, n)
		for _, s := range c.Runs {
			fmt.Fprintf(tw, "\t%d", s.Turns[n])
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	if len(c.Diffs) > 0 {
		b.WriteString("\ndifference in win rate (95% CI)\n")
	}
	for _, d := range c.Diffs {
		fmt.Fprintf(&b, "  %s − %s: %s\n", d.Run, d.Base, d.describe())
		for _, f := range d.Identity {
			fmt.Fprintf(&b, "    %s: %s in %s, %s in %s\n", f.Name, f.A, d.Base, f.B, d.Run)
		}
	}
	for _, s := range c.Runs {
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "errored (%s): %s\n", s.Label, e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe is the difference with its interval and method, in
// percentage points.
func (d Diff) describe() string {
	s := fmt.Sprintf("%+.1f points [%+.1f, %+.1f]", 100*d.Interval.Estimate, 100*d.Interval.Low, 100*d.Interval.High)
	if d.Paired {
		return s + fmt.Sprintf(", paired on %d games (both won %d, only %s %d, only %s %d, neither %d)",
			d.Games, d.Table[0], d.Run, d.Table[1], d.Base, d.Table[2], d.Table[3])
	}
	return s + ", unpaired (the runs played different games)"
}

// turnCounts are the turn counts any run has, sorted.
func (c *Comparison) turnCounts() []int {
	seen := map[int]bool{}
	for _, s := range c.Runs {
		for n := range s.Turns {
			seen[n] = true
		}
	}
	var out []int
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// WriteMarkdown writes the comparison as Markdown, showing the chart
// files (paths relative to the Markdown file) as images.
func (c *Comparison) WriteMarkdown(w io.Writer, charts ...string) error {
	var b strings.Builder
	b.WriteString("# Runs compared\n\n")
	for _, ch := range charts {
		fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(ch, filepath.Ext(ch)), ch)
	}
	b.WriteString("| run | policy | model | format | runtime | played | won | lost | errored | win rate (95% CI) | avg turns |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range c.Runs {
		id := s.Identity
		if id == nil {
			id = &agent.RunIdentity{}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %d | %d | %d | %s | %.2f |\n", s.Label, dash(id.Policy), dash(id.Model), dash(string(id.Format)), dash(id.Runtime),
			s.Stats.Episodes, s.Stats.Won, s.Stats.Lost, s.Stats.Errored, pct(s.WinRate), s.Stats.AvgTurns)
	}
	b.WriteString("\n## Win rate per task type\n\n| task type |")
	for _, s := range c.Runs {
		fmt.Fprintf(&b, " %s |", s.Label)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(c.Runs)) + "\n")
	for _, t := range c.TaskTypes {
		fmt.Fprintf(&b, "| %s |", t)
		for _, s := range c.Runs {
			fmt.Fprintf(&b, " %s |", cell(s.ByTaskType[t]))
		}
		b.WriteString("\n")
	}
	if len(c.Diffs) > 0 {
		b.WriteString("\n## Difference in win rate\n\n")
		for _, d := range c.Diffs {
			fmt.Fprintf(&b, "- %s − %s: %s.", d.Run, d.Base, d.describe())
			if len(d.Identity) > 0 {
				var parts []string
				for _, f := range d.Identity {
					parts = append(parts, fmt.Sprintf("%s %s → %s", f.Name, f.A, f.B))
				}
				fmt.Fprintf(&b, " Settings that differ: %s.", strings.Join(parts, "; "))
			}
			b.WriteString("\n")
		}
		b.WriteString("\nThe 95% interval is " + MethodPaired + " when both runs played the same games, else " + MethodUnpaired + ". Errored episodes are in neither.\n")
	}
	var errs []string
	for _, s := range c.Runs {
		for _, e := range s.Errors {
			errs = append(errs, fmt.Sprintf("- %s: %s\n", s.Label, e))
		}
	}
	if len(errs) > 0 {
		b.WriteString("\n## Errored episodes\n\n" + strings.Join(errs, ""))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(st agent.Stats) string {
	s := fmt.Sprintf("%d/%d", st.Won, st.Episodes)
	if st.Episodes > 0 {
		s += fmt.Sprintf(" (%.1f%%)", 100*st.SuccessRate)
	}
	if st.Errored > 0 {
		s += fmt.Sprintf(", %d errored", st.Errored)
	}
	return s
}

func pct(i Interval) string {
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*i.Estimate, 100*i.Low, 100*i.High)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
