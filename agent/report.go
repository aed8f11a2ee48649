package agent

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report summarises an evaluation, per variant and per task type.
type Report struct {
	Variants []VariantReport `json:"variants"`
}

// VariantReport is one variant's figures.
type VariantReport struct {
	Name string `json:"name"`
	// Run is the identity the variant's episodes were played with.
	Run        *RunIdentity     `json:"run,omitempty"`
	Policy     string           `json:"policy"`
	Format     Format           `json:"format"`
	Runtime    string           `json:"runtime"`
	Stats                       // overall
	ByTaskType map[string]Stats `json:"by_task_type"` // by short task type name (TaskTypeName)
	Stops      map[string]int   `json:"stop_reasons"`
	Errors     []string         `json:"errors,omitempty"` // "game: error" of each errored episode
}

// Stats are the figures of a set of episodes. Episodes counts the
// episodes played to an end (won or lost); errored episodes are counted
// apart and are in no rate.
type Stats struct {
	Episodes    int           `json:"episodes"`
	Won         int           `json:"won"`
	Lost        int           `json:"lost"`
	Errored     int           `json:"errored"`
	SuccessRate float64       `json:"success_rate"` // Won / Episodes
	AvgTurns    float64       `json:"avg_turns"`    // over the episodes played
	Tokens      int           `json:"tokens"`
	WallTime    time.Duration `json:"wall_time_ns"`
}

func (s *Stats) add(r EpisodeResult) {
	tr := r.Transcript
	if tr == nil {
		s.Errored++
		return
	}
	s.Tokens += tr.Usage.PromptTokens + tr.Usage.CompletionTokens
	s.WallTime += tr.Duration
	if r.Errored() {
		s.Errored++
		return
	}
	s.Episodes++
	if tr.Success {
		s.Won++
	} else {
		s.Lost++
	}
	s.AvgTurns += float64(len(tr.Turns))
}

func (s *Stats) finish() {
	if s.Episodes > 0 {
		s.SuccessRate = float64(s.Won) / float64(s.Episodes)
		s.AvgTurns /= float64(s.Episodes)
	}
}

// NewReport computes the report of results, one variant per variant name
// in order of first appearance.
func NewReport(results []EpisodeResult) *Report {
	rep := &Report{}
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Variant]
		if !ok {
			i = len(rep.Variants)
			index[r.Variant] = i
			vr := VariantReport{Name: r.Variant, Run: r.Run, ByTaskType: map[string]Stats{}, Stops: map[string]int{}}
			if r.Run != nil {
				vr.Policy, vr.Format, vr.Runtime = r.Run.Policy, r.Run.Format, r.Run.Runtime
			} else if r.Transcript != nil {
				vr.Policy, vr.Format, vr.Runtime = r.Transcript.Policy, r.Transcript.Format, r.Transcript.Runtime
			}
			rep.Variants = append(rep.Variants, vr)
		}
		vr := &rep.Variants[i]
		vr.Stats.add(r)
		if tr := r.Transcript; tr != nil {
			tt := tr.TaskType
			if tt == "" {
				tt = "unknown"
			}
			st := vr.ByTaskType[tt]
			st.add(r)
			vr.ByTaskType[tt] = st
			vr.Stops[tr.StopReason]++
			if r.Errored() {
				vr.Errors = append(vr.Errors, r.Game+": "+tr.Error)
			}
		}
	}
	for i := range rep.Variants {
		vr := &rep.Variants[i]
		vr.Stats.finish()
		for k, st := range vr.ByTaskType {
			st.finish()
			vr.ByTaskType[k] = st
		}
		sort.Strings(vr.Errors)
	}
	return rep
}

// Errored is the number of errored episodes over all variants.
func (r *Report) Errored() int {
	n := 0
	for _, v := range r.Variants {
		n += v.Errored
	}
	return n
}

// WriteMarkdown renders the report as Markdown tables: the variants with
// their identities, success per task type, stop reasons and errors.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Evaluation report\n\n")
	b.WriteString("| variant | policy | format | runtime | played | won | lost | errored | success | avg turns | tokens | wall time |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %d | %d | %.1f%% | %.2f | %d | %s |\n", v.Name, v.Policy, v.Format, v.Runtime,
			v.Episodes, v.Won, v.Lost, v.Errored, 100*v.SuccessRate, v.AvgTurns, v.Tokens, v.WallTime.Round(time.Millisecond))
	}
	b.WriteString("\nErrored episodes (the model, the network or the runtime failed) are neither won nor lost and are in no rate; running the same command again plays them again.\n")
	b.WriteString("\n## Runs\n\n| variant | model | base URL | temperature | turns | proposals | prompt | error display | options | gantry |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range r.Variants {
		id := v.Run
		if id == nil {
			fmt.Fprintf(&b, "| %s | (not recorded) |  |  |  |  |  |  |  |  |\n", v.Name)
			continue
		}
		var opts []string
		for k, val := range id.Options {
			opts = append(opts, k+"="+val)
		}
		sort.Strings(opts)
		fmt.Fprintf(&b, "| %s | %s | %s | %g | %d | %d | %s | %s | %s | %s |\n", v.Name, dash(id.Model), dash(id.BaseURL), id.Temperature,
			id.MaxTurns, id.MaxProposals, id.PromptHash, dash(id.ErrorDisplay), dash(strings.Join(opts, " ")), id.Version)
	}
	names := r.taskTypes()
	b.WriteString("\n## Success rate per task type\n\n| task type |")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, " %s |", v.Name)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(r.Variants)) + "\n")
	for _, t := range names {
		fmt.Fprintf(&b, "| %s |", t)
		for _, v := range r.Variants {
			st := v.ByTaskType[t]
			fmt.Fprintf(&b, " %d/%d (%.1f%%)", st.Won, st.Episodes, 100*st.SuccessRate)
			if st.Errored > 0 {
				fmt.Fprintf(&b, ", %d errored", st.Errored)
			}
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Stop reasons\n\n")
	for _, v := range r.Variants {
		var parts []string
		for k, n := range v.Stops {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "- %s: %s\n", v.Name, strings.Join(parts, ", "))
		for _, e := range v.Errors {
			fmt.Fprintf(&b, "  - errored: %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// taskTypes are the task types of every variant, sorted.
func (r *Report) taskTypes() []string {
	types := map[string]bool{}
	for _, v := range r.Variants {
		for t := range v.ByTaskType {
			types[t] = true
		}
	}
	var names []string
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
