package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/task"
)

// Job is one episode of an evaluation, of any task: an id (the game,
// the task) and how to start it. Start is called once per variant.
type Job struct {
	ID    string
	Start func(ctx context.Context) (task.Episode, error)
}

// Variant is one configuration an evaluation runs every job with; several
// variants compare action formats or policies side by side.
type Variant struct {
	Name string
	Spec Spec
	// PolicyFor, when set, makes the policy of one job (the replay policy
	// needs the job's id); otherwise Spec.NewPolicy is used.
	PolicyFor func(id string) PolicyFactory
}

// EvalOptions control an evaluation run.
type EvalOptions struct {
	Workers int
	// Transcripts is a JSONL file every finished episode is appended to.
	// Episodes already in it are not run again (resume).
	Transcripts string
	// Progress is called after each episode with the count done and total.
	Progress func(done, total int)
}

// EpisodeResult is one line of the transcripts file.
type EpisodeResult struct {
	Variant    string      `json:"variant"`
	Game       string      `json:"game"`
	Transcript *Transcript `json:"transcript"`
}

// Eval runs every job with every variant on parallel workers and returns
// the report. Finished episodes are appended to the transcripts file as
// they end, so an interrupted run resumes where it stopped.
func Eval(ctx context.Context, jobs []Job, variants []Variant, opts EvalOptions) (*Report, error) {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	done := map[string]EpisodeResult{}
	var out *os.File
	if opts.Transcripts != "" {
		prev, err := readResults(opts.Transcripts)
		if err != nil {
			return nil, err
		}
		for _, r := range prev {
			done[r.Variant+"\x00"+r.Game] = r
		}
		out, err = os.OpenFile(opts.Transcripts, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("transcripts: %w", err)
		}
		defer out.Close()
		// A line torn by an interrupted write must not swallow the next one.
		if st, err := out.Stat(); err == nil && st.Size() > 0 {
			last := make([]byte, 1)
			if _, err := out.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
				if _, err := out.Write([]byte("\n")); err != nil {
					return nil, fmt.Errorf("transcripts: %w", err)
				}
			}
		}
	}
	type task struct {
		job Job
		v   Variant
	}
	var todo []task
	var results []EpisodeResult
	for _, v := range variants {
		for _, j := range jobs {
			if r, ok := done[v.Name+"\x00"+j.ID]; ok {
				results = append(results, r)
				continue
			}
			todo = append(todo, task{j, v})
		}
	}
	total := len(todo) + len(results)
	finished := len(results)
	if opts.Progress != nil {
		opts.Progress(finished, total)
	}
	var (
		mu       sync.Mutex
		writeErr error
		wg       sync.WaitGroup
	)
	ch := make(chan task)
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				res := runJob(ctx, t.job, t.v)
				mu.Lock()
				if ctx.Err() == nil || res.Transcript.StopReason != StopCancelled {
					results = append(results, res)
					if out != nil && writeErr == nil {
						data, err := json.Marshal(res)
						if err == nil {
							_, err = out.Write(append(data, '\n'))
						}
						if err != nil {
							writeErr = fmt.Errorf("transcripts: %w", err)
						}
					}
				}
				finished++
				if opts.Progress != nil {
					opts.Progress(finished, total)
				}
				mu.Unlock()
			}
		}()
	}
	for _, t := range todo {
		if ctx.Err() != nil {
			break
		}
		ch <- t
	}
	close(ch)
	wg.Wait()
	if writeErr != nil {
		return nil, writeErr
	}
	rep := NewReport(variants, results)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// runJob plays one episode; failures to set it up are recorded as an
// errored episode, not returned.
func runJob(ctx context.Context, j Job, v Variant) EpisodeResult {
	res := EpisodeResult{Variant: v.Name, Game: j.ID}
	fail := func(err error) EpisodeResult {
		res.Transcript = &Transcript{ID: j.ID, Policy: v.Spec.PolicyName, Format: v.Spec.Config.Format, Runtime: v.Spec.Runtime, StopReason: StopError, Error: err.Error()}
		return res
	}
	te, err := j.Start(ctx)
	if err != nil {
		return fail(err)
	}
	spec := v.Spec
	if v.PolicyFor != nil {
		spec.NewPolicy = v.PolicyFor(j.ID)
	}
	ep, cleanup, err := NewEpisode(ctx, j.ID, te, spec)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	tr, _ := ep.Run(ctx)
	res.Transcript = tr
	return res
}

func readResults(path string) ([]EpisodeResult, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transcripts: %w", err)
	}
	defer f.Close()
	var out []EpisodeResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		var r EpisodeResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			// A line cut by an interrupted write: that episode runs again.
			continue
		}
		if r.Transcript == nil || r.Transcript.StopReason == StopCancelled {
			continue
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// Report summarises an evaluation, per variant and per task type.
type Report struct {
	Variants []VariantReport `json:"variants"`
}

// VariantReport is one variant's figures.
type VariantReport struct {
	Name       string           `json:"name"`
	Policy     string           `json:"policy"`
	Format     Format           `json:"format"`
	Runtime    string           `json:"runtime"`
	Stats                       // overall
	ByTaskType map[string]Stats `json:"by_task_type"`
	Stops      map[string]int   `json:"stop_reasons"`
	Errors     []string         `json:"errors,omitempty"`
}

// Stats are the figures of a set of episodes.
type Stats struct {
	Episodes    int           `json:"episodes"`
	Won         int           `json:"won"`
	SuccessRate float64       `json:"success_rate"`
	AvgTurns    float64       `json:"avg_turns"`
	Tokens      int           `json:"tokens"`
	WallTime    time.Duration `json:"wall_time_ns"`
}

func (s *Stats) add(tr *Transcript) {
	s.Episodes++
	if tr.Success {
		s.Won++
	}
	s.AvgTurns += float64(len(tr.Turns))
	s.Tokens += tr.Usage.PromptTokens + tr.Usage.CompletionTokens
	s.WallTime += tr.Duration
}

func (s *Stats) finish() {
	if s.Episodes > 0 {
		s.SuccessRate = float64(s.Won) / float64(s.Episodes)
		s.AvgTurns /= float64(s.Episodes)
	}
}

// NewReport computes the report of results.
func NewReport(variants []Variant, results []EpisodeResult) *Report {
	rep := &Report{}
	for _, v := range variants {
		vr := VariantReport{Name: v.Name, Policy: v.Spec.PolicyName, Format: v.Spec.Config.withDefaults().Format, Runtime: v.Spec.Runtime,
			ByTaskType: map[string]Stats{}, Stops: map[string]int{}}
		for _, r := range results {
			if r.Variant != v.Name || r.Transcript == nil {
				continue
			}
			tr := r.Transcript
			vr.Stats.add(tr)
			st := vr.ByTaskType[tr.TaskType]
			st.add(tr)
			vr.ByTaskType[tr.TaskType] = st
			vr.Stops[tr.StopReason]++
			if tr.Error != "" {
				vr.Errors = append(vr.Errors, r.Game+": "+tr.Error)
			}
		}
		vr.Stats.finish()
		for k, st := range vr.ByTaskType {
			st.finish()
			vr.ByTaskType[k] = st
		}
		sort.Strings(vr.Errors)
		rep.Variants = append(rep.Variants, vr)
	}
	return rep
}

// WriteMarkdown renders the report as Markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Evaluation report\n\n")
	b.WriteString("| variant | policy | format | runtime | episodes | won | success | avg turns | tokens | wall time |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %.1f%% | %.2f | %d | %s |\n", v.Name, v.Policy, v.Format, v.Runtime,
			v.Episodes, v.Won, 100*v.SuccessRate, v.AvgTurns, v.Tokens, v.WallTime.Round(time.Millisecond))
	}
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
	b.WriteString("\n## Success rate per task type\n\n| task type |")
	for _, v := range r.Variants {
		fmt.Fprintf(&b, " %s |", v.Name)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(r.Variants)) + "\n")
	for _, t := range names {
		fmt.Fprintf(&b, "| %s |", t)
		for _, v := range r.Variants {
			st := v.ByTaskType[t]
			fmt.Fprintf(&b, " %d/%d (%.1f%%) |", st.Won, st.Episodes, 100*st.SuccessRate)
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
			fmt.Fprintf(&b, "  - error: %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
