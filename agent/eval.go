package agent

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/internal/buildinfo"
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
	// Identity is recorded with every episode; fields left empty are
	// completed from Spec (policy, format, runtime, limits, prompt hash)
	// and the build (version).
	Identity RunIdentity
}

// EvalOptions control an evaluation run.
type EvalOptions struct {
	Workers int
	// Transcripts is a JSONL file every finished episode is appended to.
	// Episodes already in it are not run again (resume), except errored
	// ones. A variant whose recorded identity differs from this run's is
	// refused with an *IdentityError.
	Transcripts string
	// Progress is called after each recorded episode with the count
	// recorded and the total. An episode cut off by cancellation is not
	// recorded and not counted.
	Progress func(done, total int)
	// OnResult, when set, is called with each episode as it is recorded
	// (for showing errored episodes as they happen).
	OnResult func(EpisodeResult)
}

// EpisodeResult is one line of the transcripts file.
type EpisodeResult struct {
	Variant string `json:"variant"`
	Game    string `json:"game"`
	// Run is the identity of the run that played the episode.
	Run *RunIdentity `json:"run,omitempty"`
	// PromptHash is the SHA-256 of the episode's system prompt and first
	// user message, as sent.
	PromptHash string      `json:"prompt_sha256,omitempty"`
	Transcript *Transcript `json:"transcript"`
}

// Errored reports whether the episode ended by a failure of the model,
// the network, the runtime or its set-up rather than by playing: it is
// neither won nor lost, and a resumed run plays it again.
func (r EpisodeResult) Errored() bool {
	return r.Transcript == nil || r.Transcript.StopReason == StopError
}

// Eval runs every job with every variant on parallel workers and returns
// the report. Finished episodes are appended to the transcripts file as
// they end, so an interrupted run resumes where it stopped; the report
// covers every variant the file holds, not only this run's.
func Eval(ctx context.Context, jobs []Job, variants []Variant, opts EvalOptions) (*Report, error) {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	ids := make([]RunIdentity, len(variants))
	for i, v := range variants {
		ids[i] = v.identity()
	}
	var prev []EpisodeResult
	var out *os.File
	if opts.Transcripts != "" {
		var err error
		if prev, err = ReadResults(opts.Transcripts); err != nil {
			return nil, err
		}
		for i, v := range variants {
			if err := checkIdentity(opts.Transcripts, v.Name, ids[i], prev); err != nil {
				return nil, err
			}
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
	// The latest outcome of each episode: one that played (won or lost)
	// stands; an errored one is played again.
	type key struct{ variant, game string }
	latest := map[key]EpisodeResult{}
	var order []key
	for _, r := range prev {
		k := key{r.Variant, r.Game}
		old, seen := latest[k]
		if !seen {
			order = append(order, k)
		}
		if !seen || old.Errored() {
			latest[k] = r
		}
	}
	type task struct {
		job Job
		v   Variant
		id  *RunIdentity
	}
	var todo []task
	for i, v := range variants {
		for _, j := range jobs {
			k := key{v.Name, j.ID}
			if r, ok := latest[k]; ok && !r.Errored() {
				continue
			}
			if _, seen := latest[k]; !seen {
				order = append(order, k)
			}
			todo = append(todo, task{j, v, &ids[i]})
		}
	}
	total, finished := 0, 0
	inRun := map[key]bool{}
	for _, v := range variants {
		for _, j := range jobs {
			inRun[key{v.Name, j.ID}] = true
		}
	}
	for k := range inRun {
		total++
		if r, ok := latest[k]; ok && !r.Errored() {
			finished++
		}
	}
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
				res.Run = t.id
				if ctx.Err() != nil && res.Transcript.StopReason == StopCancelled {
					continue // cut off: not recorded, played again on resume
				}
				mu.Lock()
				latest[key{res.Variant, res.Game}] = res
				if out != nil && writeErr == nil {
					data, err := json.Marshal(res)
					if err == nil {
						_, err = out.Write(append(data, '\n'))
					}
					if err != nil {
						writeErr = fmt.Errorf("transcripts: %w", err)
					}
				}
				finished++
				if opts.OnResult != nil {
					opts.OnResult(res)
				}
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
		select {
		case ch <- t:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	if writeErr != nil {
		return nil, writeErr
	}
	results := make([]EpisodeResult, 0, len(order))
	for _, k := range order {
		if r, ok := latest[k]; ok {
			results = append(results, r)
		}
	}
	rep := NewReport(results)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// identity is the variant's identity, completed from its spec.
func (v Variant) identity() RunIdentity {
	id := v.Identity
	cfg := v.Spec.Config.withDefaults()
	if id.Policy == "" {
		id.Policy = v.Spec.PolicyName
	}
	if id.Format == "" {
		id.Format = cfg.Format
	}
	if id.Runtime == "" {
		id.Runtime = v.Spec.Runtime
	}
	if id.MaxTurns == 0 {
		id.MaxTurns = cfg.MaxTurns
	}
	if id.MaxProposals == 0 {
		id.MaxProposals = cfg.MaxProposals
	}
	if id.Version == "" {
		id.Version = buildinfo.Version()
	}
	return id
}

// checkIdentity refuses to add episodes of variant to a transcripts file
// holding episodes of the same variant from a run of another identity, or
// of another variant (another policy, model, format or runtime) played
// with other settings: a file's variants differ in what names them only.
func checkIdentity(path, variant string, id RunIdentity, prev []EpisodeResult) error {
	for _, r := range prev {
		if r.Run == nil {
			return &IdentityError{Transcripts: path, Variant: r.Variant, Diffs: []string{"its episodes record no run identity (an older gantry)"}}
		}
		if r.Variant == variant {
			if d := r.Run.Diff(id); len(d) > 0 {
				return &IdentityError{Transcripts: path, Variant: variant, Diffs: d}
			}
			continue
		}
		a, b := r.Run.settings(), id.settings()
		if r.Run.Model == "" || id.Model == "" {
			// A policy without a model (expert, replay) has no server
			// or sampling to agree on.
			a.BaseURL, a.Temperature, b.BaseURL, b.Temperature = "", 0, "", 0
		}
		if d := a.Diff(b); len(d) > 0 {
			return &IdentityError{Transcripts: path, Variant: r.Variant, Diffs: d}
		}
	}
	return nil
}

// settings is the identity without what names a variant (policy, model,
// format, runtime).
func (r RunIdentity) settings() RunIdentity {
	r.Policy, r.Model, r.Format, r.Runtime = "", "", "", ""
	return r
}

// IdentityError refuses to resume into a transcripts file whose episodes
// of a variant were played by a run of another identity.
type IdentityError struct {
	Transcripts string
	Variant     string
	Diffs       []string // "model: alf recorded, roverX now"
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("%s holds episodes of %s played with other settings (%s): write this run to another folder",
		e.Transcripts, e.Variant, strings.Join(e.Diffs, "; "))
}

// RunIdentity is what decides how a run's episodes are played: a resumed
// run must have the same identity as the episodes it adds to.
type RunIdentity struct {
	Policy       string  `json:"policy"`
	Model        string  `json:"model,omitempty"`
	BaseURL      string  `json:"base_url,omitempty"`
	Format       Format  `json:"format"`
	Runtime      string  `json:"runtime"`
	Temperature  float64 `json:"temperature"`
	MaxTurns     int     `json:"max_turns"`
	MaxProposals int     `json:"max_proposals"`
	// PromptHash identifies the prompt templates and examples (see
	// PromptHash).
	PromptHash string `json:"prompt_hash"`
	// ErrorDisplay is how errors in code actions are shown to the model.
	ErrorDisplay string `json:"error_display,omitempty"`
	// Options are the other settings that change an episode (budgets,
	// grammar, leniency options), by flag name.
	Options map[string]string `json:"options,omitempty"`
	// Version is gantry's version (internal/buildinfo).
	Version string `json:"gantry_version"`
}

// Diff lists the fields in which r (recorded) and now differ, each as
// "field: recorded value recorded, now value now".
func (r RunIdentity) Diff(now RunIdentity) []string {
	var d []string
	for _, f := range r.Fields(now) {
		d = append(d, fmt.Sprintf("%s: %s recorded, %s now", f.Name, f.A, f.B))
	}
	return d
}

// FieldDiff is a field in which two identities differ, with both values
// shown ("none" for an empty one).
type FieldDiff struct{ Name, A, B string }

// Fields lists the fields in which r and o differ, in a fixed order (the
// options by name, the version last).
func (r RunIdentity) Fields(o RunIdentity) []FieldDiff {
	var d []FieldDiff
	add := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			d = append(d, FieldDiff{name, show(a), show(b)})
		}
	}
	add("policy", r.Policy, o.Policy)
	add("model", r.Model, o.Model)
	add("base URL", r.BaseURL, o.BaseURL)
	add("format", r.Format, o.Format)
	add("runtime", r.Runtime, o.Runtime)
	add("temperature", r.Temperature, o.Temperature)
	add("turns", r.MaxTurns, o.MaxTurns)
	add("proposals", r.MaxProposals, o.MaxProposals)
	add("prompt hash", r.PromptHash, o.PromptHash)
	add("error display", r.ErrorDisplay, o.ErrorDisplay)
	keys := map[string]bool{}
	for k := range r.Options {
		keys[k] = true
	}
	for k := range o.Options {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		add(k, r.Options[k], o.Options[k])
	}
	add("gantry version", r.Version, o.Version)
	return d
}

func show(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "none"
		}
		return strconv.Quote(v)
	case Format:
		return strconv.Quote(string(v))
	}
	return fmt.Sprint(v)
}

// PromptHash identifies what the prompts are made of: the first 12 hex
// digits of the SHA-256 of every file of the given file systems (a task's
// prompt templates and examples), in order and by name. Each episode's
// transcript line records the hash of its own first message too.
func PromptHash(sources ...fs.FS) string {
	h := sha256.New()
	for i, fsys := range sources {
		_ = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%d %s %d\n", i, path, len(data))
			h.Write(data)
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

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
	sum := sha256.Sum256([]byte(ep.System + "\x00" + ep.Prompt))
	res.PromptHash = hex.EncodeToString(sum[:])
	tr, _ := ep.Run(ctx)
	res.Transcript = tr
	return res
}

// ReadResults reads a transcripts file: every complete line, in file
// order, except episodes cut off by cancellation. A missing file has none.
func ReadResults(path string) ([]EpisodeResult, error) {
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
