package agent

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/task"
)

// ReplayCheck replays recorded episodes through the normal loop and
// compares every observation, and the outcome, with the recording.
type ReplayCheck struct {
	// Runtime names the runtime; NewRuntime starts it.
	Runtime    string
	NewRuntime RuntimeFactory
	// Start starts the episode a record's task id names (an ALFWorld game:
	// alfworldtask.Start). Its Done flag is MINT's success, Won the goal.
	Start   func(ctx context.Context, id string) (task.Episode, error)
	Workers int
	// Parse is how assistant messages are read; "" is MINT's way
	// (ParseMINT). Records made by a harness that ran fenced python
	// blocks (those of Eurus and OpenCodeInterpreter in MINT's results)
	// replay with ParseLenient.
	Parse ParseMode
}

// ReplayReport is the comparison of one results file.
type ReplayReport struct {
	File        string `json:"file"`
	Runtime     string `json:"runtime"`
	Episodes    int    `json:"episodes"`
	SameOutcome int    `json:"same_outcome"`
	// Won counts episodes MINT would score as successes: ALFWorld's done
	// flag, set by a win and also by the 50-step limit. GoalMet counts the
	// episodes whose goal formula holds.
	Won                int                     `json:"won"`
	GoalMet            int                     `json:"goal_met"`
	RecordedWon        int                     `json:"recorded_won"`
	Observations       int                     `json:"observations"`
	Identical          int                     `json:"identical"`
	ByTaskType         map[string]*ReplayCount `json:"by_task_type"`
	Mismatches         []Mismatch              `json:"mismatches"`
	OutcomeDifferences []string                `json:"outcome_differences"`
	Unsupported        map[string]int          `json:"unsupported_constructs,omitempty"`
}

// ReplayCount are the counts of one task type.
type ReplayCount struct {
	Episodes     int `json:"episodes"`
	SameOutcome  int `json:"same_outcome"`
	Observations int `json:"observations"`
	Identical    int `json:"identical"`
}

// Mismatch is one observation that differs from the recording.
type Mismatch struct {
	Game   string `json:"game"`
	Turn   int    `json:"turn"`
	Code   string `json:"code"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Reason string `json:"reason,omitempty"`
}

// Run replays recs, the episodes of file.
func (c *ReplayCheck) Run(ctx context.Context, file string, recs []Record) (*ReplayReport, error) {
	rep := &ReplayReport{File: file, Runtime: c.Runtime, ByTaskType: map[string]*ReplayCount{}, Unsupported: map[string]int{}}
	type result struct {
		rec        Record
		obs        int
		identical  int
		mismatches []Mismatch
		won, goal  bool
		err        error
		unsupp     map[string]int
	}
	results := make([]result, len(recs))
	workers := max(c.Workers, 1)
	var wg sync.WaitGroup
	idx := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				r := result{rec: recs[i], unsupp: map[string]int{}}
				r.won, r.goal, r.obs, r.identical, r.mismatches, r.err = c.one(ctx, recs[i], r.unsupp)
				results[i] = r
			}
		}()
	}
	for i := range recs {
		if ctx.Err() != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range results {
		tt := r.rec.TaskType
		cnt := rep.ByTaskType[tt]
		if cnt == nil {
			cnt = &ReplayCount{}
			rep.ByTaskType[tt] = cnt
		}
		rep.Episodes++
		cnt.Episodes++
		if r.rec.Success {
			rep.RecordedWon++
		}
		if r.err != nil {
			rep.OutcomeDifferences = append(rep.OutcomeDifferences, fmt.Sprintf("%s: %v", r.rec.TaskID, r.err))
			continue
		}
		if r.won {
			rep.Won++
		}
		if r.goal {
			rep.GoalMet++
		}
		if r.won == r.rec.Success {
			rep.SameOutcome++
			cnt.SameOutcome++
		} else {
			rep.OutcomeDifferences = append(rep.OutcomeDifferences, fmt.Sprintf("%s: recorded success=%v, gantry done=%v (goal met: %v)", r.rec.TaskID, r.rec.Success, r.won, r.goal))
		}
		rep.Observations += r.obs
		cnt.Observations += r.obs
		rep.Identical += r.identical
		cnt.Identical += r.identical
		rep.Mismatches = append(rep.Mismatches, r.mismatches...)
		for k, v := range r.unsupp {
			rep.Unsupported[k] += v
		}
	}
	return rep, nil
}

// one replays a record and compares its observations.
//
// The outcome is compared the way MINT scored it: an episode succeeded when
// ALFWorld said done, which it also says when the 50-step limit is reached
// without the goal met (a handful of recorded "successes" are such episodes;
// docs/replay.md lists them). goal reports whether the goal formula holds.
func (c *ReplayCheck) one(ctx context.Context, rec Record, unsupported map[string]int) (won, goal bool, obs, identical int, mism []Mismatch, err error) {
	env, err := c.Start(ctx, rec.TaskID)
	if err != nil {
		return false, false, 0, 0, nil, err
	}
	cfg := MINTConfig()
	if c.Parse != "" {
		cfg.Parse = c.Parse
	}
	spec := Spec{
		Config:     cfg,
		NewRuntime: c.NewRuntime,
		NewPolicy:  func(task.Episode) (Policy, error) { return &ReplayPolicy{Messages: rec.Assistant}, nil },
		PolicyName: "replay", Runtime: c.Runtime,
	}
	ep, cleanup, err := NewEpisode(ctx, rec.TaskID, env, spec)
	if err != nil {
		return false, false, 0, 0, nil, err
	}
	defer cleanup()
	tr, err := ep.Run(ctx)
	if err != nil {
		return false, false, 0, 0, nil, err
	}
	for _, t := range tr.Turns {
		if t.Index >= len(rec.Observations) || rec.Observations[t.Index] == "" {
			continue // the recording ended here (its last turn has no answer)
		}
		want := RecordedObservation(rec.Observations[t.Index])
		obs++
		if t.Observation == want {
			identical++
			continue
		}
		m := Mismatch{Game: rec.TaskID, Turn: t.Index + 1, Code: t.Action.Code, Want: want, Got: t.Observation}
		if t.Result != nil && t.Result.Err != nil && t.Result.Err.Type == "SyntaxError" {
			m.Reason = "not expressible in this runtime: " + t.Result.Err.Message
			unsupported[construct(t.Result.Err.Message)]++
		}
		mism = append(mism, m)
	}
	return env.Done(), env.Won(), obs, identical, mism, nil
}

// construct names the language construct a syntax error is about.
func construct(msg string) string {
	for _, c := range []string{"try/except", "class", "with", "global", "nonlocal", "raise", "del", "async", "**", "import *"} {
		if strings.Contains(msg, c) {
			return c
		}
	}
	return "other syntax: " + msg
}

// Summary is the report's last line, the one scripts read.
func Summary(reps []*ReplayReport) string {
	var a, b, c, d, w int
	for _, r := range reps {
		a += r.Identical
		b += r.Observations
		c += r.SameOutcome
		d += r.Episodes
		w += r.Won
	}
	return fmt.Sprintf("replay: %d/%d observations identical, %d/%d outcomes identical, %d won", a, b, c, d, w)
}

// WriteReplayMarkdown renders reports readably, with every mismatch as a diff.
func WriteReplayMarkdown(w io.Writer, reps []*ReplayReport) error {
	var b strings.Builder
	b.WriteString("# Replay report\n\n\"won\" is MINT's success: ALFWorld's done flag (a win, or the 50-step limit); \"goal met\" is the goal formula.\n\n")
	b.WriteString("| file | runtime | observations identical | outcomes identical | won (gantry / recorded) | goal met |\n|---|---|---|---|---|---|\n")
	for _, r := range reps {
		fmt.Fprintf(&b, "| %s | %s | %d/%d (%.1f%%) | %d/%d | %d / %d | %d |\n", r.File, r.Runtime, r.Identical, r.Observations,
			pct(r.Identical, r.Observations), r.SameOutcome, r.Episodes, r.Won, r.RecordedWon, r.GoalMet)
	}
	for _, r := range reps {
		fmt.Fprintf(&b, "\n## %s (%s)\n\n| task type | episodes | outcomes identical | observations identical |\n|---|---|---|---|\n", r.File, r.Runtime)
		var types []string
		for t := range r.ByTaskType {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			c := r.ByTaskType[t]
			fmt.Fprintf(&b, "| %s | %d | %d | %d/%d |\n", t, c.Episodes, c.SameOutcome, c.Identical, c.Observations)
		}
		if len(r.Unsupported) > 0 {
			b.WriteString("\nConstructs this runtime cannot express:\n\n")
			var ks []string
			for k := range r.Unsupported {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			for _, k := range ks {
				fmt.Fprintf(&b, "- `%s`: %d actions\n", k, r.Unsupported[k])
			}
		}
		for _, o := range r.OutcomeDifferences {
			fmt.Fprintf(&b, "\n- outcome differs: %s\n", o)
		}
		for _, m := range r.Mismatches {
			fmt.Fprintf(&b, "\n### %s, turn %d\n", m.Game, m.Turn)
			if m.Reason != "" {
				fmt.Fprintf(&b, "\n%s\n", m.Reason)
			}
			fmt.Fprintf(&b, "\n```python\n%s\n```\n\n```diff\n%s```\n", m.Code, lineDiff(m.Want, m.Got))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// lineDiff shows want and got line by line: common lines once, others as
// - (recorded) and + (gantry).
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := max(len(wl), len(gl))
	for i := 0; i < n; i++ {
		var w, g string
		wok, gok := i < len(wl), i < len(gl)
		if wok {
			w = wl[i]
		}
		if gok {
			g = gl[i]
		}
		if wok && gok && w == g {
			fmt.Fprintf(&b, "  %s\n", w)
			continue
		}
		if wok {
			fmt.Fprintf(&b, "- %s\n", w)
		}
		if gok {
			fmt.Fprintf(&b, "+ %s\n", g)
		}
	}
	return b.String()
}
