//go:build !edge

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/queue"
)

// jobSettings are the eval settings a worker rebuilds an episode from:
// everything that shapes the episode, nothing local to the machine (the
// API key, the Python interpreter, the worker's sandbox switches stay with
// the worker).
type jobSettings struct {
	Env                 string        `json:"env"`
	Policy              string        `json:"policy"`
	Format              string        `json:"format"`
	Grammar             string        `json:"grammar"`
	Turns               int           `json:"turns"`
	Proposals           int           `json:"proposals"`
	MaxTokens           int           `json:"max_tokens"`
	EnvSteps            int           `json:"env_steps"`
	WallTime            time.Duration `json:"wall_time_ns"`
	Stuck               int           `json:"stuck"`
	Example             bool          `json:"example"`
	Runtime             string        `json:"runtime"`
	ActionTimeout       time.Duration `json:"action_timeout_ns"`
	Isolate             bool          `json:"isolate"`
	BaseURL             string        `json:"base_url,omitempty"`
	Model               string        `json:"model,omitempty"`
	Temperature         float32       `json:"temperature"`
	MaxCompletionTokens int           `json:"max_completion_tokens"`
	ModelTimeout        time.Duration `json:"model_timeout_ns"`
	Retries             int           `json:"retries"`
	FunctionCalls       bool          `json:"function_calls"`
	// Games is the data directory as the workers see it ("": the embedded
	// split); TaskType filters it and generated games.
	Games    string `json:"games,omitempty"`
	TaskType string `json:"task_type,omitempty"`
}

func newJobSettings(f episodeFlags, gamesDir, taskType string) jobSettings {
	return jobSettings{Env: "alfworld", Policy: f.policy, Format: f.format, Grammar: f.grammar, Turns: f.turns, Proposals: f.proposals,
		MaxTokens: f.maxTokens, EnvSteps: f.envSteps, WallTime: f.wallTime, Stuck: f.stuck, Example: f.example,
		Runtime: f.rt.Name, ActionTimeout: f.rt.Timeout, Isolate: f.rt.Isolate,
		BaseURL: f.model.baseURL, Model: f.model.model, Temperature: f.model.temperature, MaxCompletionTokens: f.model.maxTokens,
		ModelTimeout: f.model.timeout, Retries: f.model.retries, FunctionCalls: f.model.functionCalls,
		Games: gamesDir, TaskType: taskType}
}

// flags rebuilds the episode flags; local are the worker's own runtime settings.
func (s jobSettings) flags(local runtimeOptions) episodeFlags {
	rt := local
	rt.Name, rt.Timeout, rt.Isolate = s.Runtime, s.ActionTimeout, s.Isolate || local.Isolate
	return episodeFlags{policy: s.Policy, format: s.Format, grammar: s.Grammar, turns: s.Turns, proposals: s.Proposals,
		maxTokens: s.MaxTokens, envSteps: s.EnvSteps, wallTime: s.WallTime, stuck: s.Stuck, example: s.Example, rt: rt,
		model: modelFlags{baseURL: s.BaseURL, model: s.Model, temperature: s.Temperature, maxTokens: s.MaxCompletionTokens,
			timeout: s.ModelTimeout, retries: s.Retries, functionCalls: s.FunctionCalls}}
}

// queueEval returns an evaluation function with agent.Eval's signature
// that runs the episodes on workers; flags holds each variant's flags in
// the order of the variants.
func (q *queueFlags) eval(env string, flags []episodeFlags, gamesDir, taskType, outDir string, errOut io.Writer) func(context.Context, []agent.Job, []agent.Variant, agent.EvalOptions) (*agent.Report, error) {
	return func(ctx context.Context, jobs []agent.Job, variants []agent.Variant, opts agent.EvalOptions) (*agent.Report, error) {
		if env != "alfworld" {
			return nil, fmt.Errorf("--queue: only the alfworld environment runs on workers (not %q)", env)
		}
		if len(flags) != len(variants) {
			return nil, fmt.Errorf("--queue: %d variants, %d flag sets", len(variants), len(flags))
		}
		var js []queue.Job
		h := sha256.New()
		if abs, err := filepath.Abs(outDir); err == nil {
			h.Write([]byte(abs))
		}
		for i, v := range variants {
			if flags[i].policy == "replay" {
				return nil, errors.New("--queue: the replay policy needs its results file on every worker; run it locally")
			}
			settings, err := json.Marshal(newJobSettings(flags[i], gamesDir, taskType))
			if err != nil {
				return nil, err
			}
			h.Write(settings)
			for _, j := range jobs {
				h.Write([]byte(j.ID + "\n"))
				js = append(js, queue.Job{Variant: v.Name, Game: j.ID, Settings: settings})
			}
		}
		run := q.run
		if run == "" {
			run = "eval-" + hex.EncodeToString(h.Sum(nil))[:16]
		}
		if err := queue.CheckRun(run); err != nil {
			return nil, fmt.Errorf("--run: %w", err)
		}
		for i := range js {
			js[i].Run = run
		}
		fmt.Fprintf(errOut, "run %s: %d episodes on the workers of %s\n", run, len(js), redactURLs(q.url))
		recs, err := queue.Collect(ctx, queue.Config{URL: q.url, Options: natsTLS(q.ca)}, js, queue.CollectOptions{
			Progress: opts.Progress,
			Published: func(published, queued int) {
				fmt.Fprintf(errOut, "run %s: %d jobs queued now, %d were queued already\n", run, published, queued)
			},
		})
		results := queue.Results(recs)
		for i := range results {
			for _, v := range variants {
				if results[i].Run == nil && results[i].Variant == v.Name {
					id := v.Identity
					results[i].Run = &id
				}
			}
		}
		if opts.Transcripts != "" && len(results) > 0 {
			if werr := writeTranscripts(opts.Transcripts, results); werr != nil {
				return nil, werr
			}
		}
		if recs == nil && err != nil {
			return nil, err
		}
		return agent.NewReport(results), err
	}
}

// writeTranscripts writes the results as the transcripts file a local run
// writes (one JSON line per episode), replacing it.
func writeTranscripts(path string, results []agent.EpisodeResult) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("transcripts: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return fmt.Errorf("transcripts: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("transcripts: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("transcripts: %w", err)
	}
	return nil
}

// episodeRunner rebuilds and runs the episodes of jobs. It keeps the game
// list of each data directory it has loaded.
type episodeRunner struct {
	local runtimeOptions
	mu    sync.Mutex
	games map[string]map[string]agent.Job // settings -> game id -> job
}

func (r *episodeRunner) run(ctx context.Context, j queue.Job) (*agent.Transcript, error) {
	var s jobSettings
	if err := json.Unmarshal(j.Settings, &s); err != nil {
		return nil, fmt.Errorf("job settings: %w", err)
	}
	if s.Env != "alfworld" {
		return nil, fmt.Errorf("job of environment %q: this worker runs alfworld", s.Env)
	}
	f := s.flags(r.local)
	opts, err := f.alfworldOptions()
	if err != nil {
		return nil, err
	}
	var job agent.Job
	if seed, ok := strings.CutPrefix(j.Game, "generated/"); ok {
		n, err := strconv.ParseInt(seed, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("game %q: bad seed: %w", j.Game, err)
		}
		jobs, err := evalJobs("", s.TaskType, 1, n, opts)
		if err != nil {
			return nil, err
		}
		job = jobs[0]
	} else {
		r.mu.Lock()
		key := string(j.Settings)
		byID, ok := r.games[key]
		if !ok {
			jobs, err := evalJobs(s.Games, s.TaskType, 0, 0, opts)
			if err != nil {
				r.mu.Unlock()
				return nil, err
			}
			byID = map[string]agent.Job{}
			for _, jb := range jobs {
				byID[jb.ID] = jb
			}
			if r.games == nil {
				r.games = map[string]map[string]agent.Job{}
			}
			r.games[key] = byID
		}
		r.mu.Unlock()
		if job, ok = byID[j.Game]; !ok {
			return nil, fmt.Errorf("game %q is not in %s", j.Game, cmp(s.Games, "the embedded valid_unseen split"))
		}
	}
	spec, err := f.spec(nil)
	if err != nil {
		return nil, err
	}
	te, err := job.Start(ctx)
	if err != nil {
		return nil, err
	}
	ep, cleanup, err := agent.NewEpisode(ctx, job.ID, te, spec)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	tr, _ := ep.Run(ctx)
	return tr, nil
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newWorkerCmd() *cobra.Command {
	var (
		url         string
		ca          string
		concurrency int
		name        string
		rt          runtimeOptions
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run episodes of distributed evaluations from a NATS JetStream queue",
		Long: `worker takes episodes queued by gantry eval --queue from NATS JetStream,
runs them, and stores each result before acknowledging its job. Start as
many as you like, on any machine, at any time; stop one with Ctrl-C (its
episodes in flight go back to the queue) or kill it (they come back after
the ack wait). The game data directory of a run (--games) must be at the
same path on every worker; API keys come from each worker's environment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if url == "" {
				return errors.New("--queue is required (nats://host:4222)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			r := &episodeRunner{local: rt}
			var mu sync.Mutex
			done := 0
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			fmt.Fprintf(cmd.ErrOrStderr(), "worker: taking jobs from %s, %d at a time\n", redactURLs(url), max(concurrency, 1))
			return queue.Work(ctx, queue.Config{URL: url, Logger: logger, Options: natsTLS(ca)}, r.run, queue.WorkerOptions{
				Concurrency: concurrency, Name: name,
				Done: func(key string, recorded bool) {
					mu.Lock()
					defer mu.Unlock()
					if recorded {
						done++
						if done == 1 || done%100 == 0 {
							fmt.Fprintf(cmd.ErrOrStderr(), "worker: %d episodes recorded\n", done)
						}
					}
				},
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&url, "queue", "", "NATS URL (nats://host:4222, tls://host:4222; comma-separated for a cluster; credentials as nats://user:password@host:4222)")
	fl.StringVar(&ca, "ca", "", "with --queue tls://...: PEM file of the CA that signed the NATS servers' certificates")
	fl.IntVar(&concurrency, "concurrency", 1, "episodes run at once")
	fl.StringVar(&name, "name", "", "worker name in the records (default host:pid)")
	fl.StringVar(&rt.Python, "python", "", "Python interpreter for --runtime python jobs")
	fl.BoolVar(&rt.NoIsolation, "no-isolation", false, "run the Python worker without its sandbox (unsafe)")
	rt.registerIsolate(fl, false)
	return cmd
}

// natsTLS is the connection option that trusts the CA in file ca, if any.
func natsTLS(ca string) []nats.Option {
	if ca == "" {
		return nil
	}
	return []nats.Option{nats.RootCAs(ca)}
}

// redactURLs hides the passwords of comma-separated NATS URLs for display.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
