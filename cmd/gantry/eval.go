package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/alfworld/scene"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
)

func newEvalCmd() *cobra.Command {
	var (
		f        episodeFlags
		gamesDir string
		taskType string
		generate int
		seed     int64
		limit    int
		workers  int
		outDir   string
		compare  string
		quiet    bool
		env      string
		rf       roverFlags
		m3       m3Flags
		qf       queueFlags // --queue: distributed run (queue.go)
		qv       []episodeFlags
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Run many episodes (ALFWorld, or the rover task) in parallel and write transcripts and a report",
		Long: `eval runs every game of a set (the embedded valid_unseen split, a data
directory with --games, or N generated games with --generate) on parallel
workers. Transcripts go to OUT/transcripts.jsonl as episodes finish, each with
the run's identity (policy, model, base URL, format, runtime, temperature,
limits, prompt hash, gantry version). Running the same command again resumes:
finished episodes are kept, errored ones are played again. A variant whose
episodes in OUT were played with another identity is refused, naming the
difference. The report goes to OUT/report.json and OUT/report.md and covers
every variant in OUT.

--compare runs each game once per value of one axis: formats (code,json,text),
policies (expert,openai,replay), runtimes (starlark,python), or models
(model=a,b); key=values names the axis explicitly (format=, policy=,
runtime=, model=). Repeated values count once.

Exit status: 0 every episode was played (won or lost), 1 usage or set-up
error, 3 the model is unreachable or refused the key, or errored episodes
remain, 130 interrupted.

With --env m3tooleval: the 82 tasks of the CodeAct paper's M3ToolEval (or
those --tasks REGEX matches), under its harness's conventions (10 turns,
temperature 0, 512 completion tokens); with --compare code,json,text the
report adds the paper's table: success and turns per format, per family and
overall.

With --env rover: --generate N episodes of the rover device task (default
10), each on its own embedded broker and simulated rover, or on the rover
behind --broker one at a time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := qf.check(); err != nil {
				return err
			}
			ctx := cmd.Context()
			var jobs []agent.Job
			switch env {
			case "alfworld":
				opts, err := f.alfworldOptions()
				if err != nil {
					return err
				}
				if jobs, err = evalJobs(gamesDir, taskType, generate, seed, opts); err != nil {
					return err
				}
			case "rover":
				rj, err := newRoverJobs(ctx, &rf, generate, seed)
				if err != nil {
					return err
				}
				defer rj.Close()
				jobs, workers = rj.jobs, rj.workers(workers)
			case envM3:
				var err error
				if jobs, err = m3Jobs(m3.tasks); err != nil {
					return err
				}
			default:
				return fmt.Errorf("unknown --env %q (alfworld, rover or m3tooleval)", env)
			}
			if limit > 0 && limit < len(jobs) {
				jobs = jobs[:limit]
			}
			flagSets, err := compareVariants(f, compare)
			if err != nil {
				return err
			}
			var variants []agent.Variant
			checked := map[string]bool{}
			for _, vf := range flagSets {
				spec, err := vf.spec(nil)
				if err != nil {
					return err
				}
				if env == envM3 {
					if spec, err = vf.m3Spec(spec, nil); err != nil {
						return err
					}
				}
				if vf.policy == "openai" && !checked[vf.model.baseURL+"\x00"+vf.model.model] {
					checked[vf.model.baseURL+"\x00"+vf.model.model] = true
					format, _ := agent.ParseFormat(vf.format)
					if err := checkModel(ctx, vf.openAIConfig(format, nil)); err != nil {
						return err
					}
				}
				v := agent.Variant{Name: vf.variantName(), Spec: spec, Identity: vf.identity(env)}
				if env == envM3 {
					v.Identity = vf.m3Identity(spec)
				}
				if vf.policy == "replay" {
					if v.PolicyFor, err = replayPolicies(vf.replayFile); err != nil {
						return err
					}
				}
				variants = append(variants, v)
				qv = append(qv, vf)
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return fmt.Errorf("output directory: %w", err)
			}
			transcripts := filepath.Join(outDir, "transcripts.jsonl")
			errOut := cmd.ErrOrStderr()
			prog := newEvalProgress(errOut, quiet, len(jobs)*len(variants))
			evalFunc := agent.Eval
			if qf.url != "" {
				evalFunc = qf.eval(env, qv, gamesDir, taskType, outDir, errOut)
			}
			rep, runErr := evalFunc(ctx, jobs, variants, agent.EvalOptions{
				Workers:     workers,
				Transcripts: transcripts,
				Progress:    prog.set,
				OnResult: func(r agent.EpisodeResult) {
					if r.Errored() {
						prog.say(fmt.Sprintf("errored: %s %s: %s", r.Variant, r.Game, withKeyHint(r.Transcript.Error)))
					}
				},
			})
			prog.end(ctx.Err() != nil)
			if rep == nil {
				return runErr
			}
			if err := writeEvalReport(outDir, rep); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if env == envM3 {
				if err := writeM3Table(outDir, rep, out); err != nil {
					return err
				}
			}
			for _, v := range rep.Variants {
				fmt.Fprintf(out, "%s: %d/%d won (%.1f%%), %d errored, %.2f turns on average\n", v.Name, v.Won, v.Episodes, 100*v.SuccessRate, v.Errored, v.AvgTurns)
			}
			fmt.Fprintf(out, "report: %s\n", filepath.Join(outDir, "report.md"))
			if runErr != nil {
				if errors.Is(runErr, context.Canceled) {
					return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted: %d of %d episodes recorded in %s; run the same command again to resume",
						prog.done, prog.total, transcripts)}
				}
				return runErr
			}
			if n := rep.Errored(); n > 0 {
				return &exitError{code: exitModel, err: fmt.Errorf("%d episodes errored (listed in %s); run the same command again to play them again",
					n, filepath.Join(outDir, "report.md"))}
			}
			return nil
		},
	}
	f.register(cmd)
	configurable(cmd)
	fl := cmd.Flags()
	fl.StringVar(&gamesDir, "games", "", "ALFWorld data directory (json_2.1.1/<split>/<task>/<trial>/game.tw-pddl); default: the embedded valid_unseen split")
	fl.StringVar(&taskType, "task-type", "", "only games of this task type ("+taskTypeHelp+")")
	fl.IntVar(&generate, "generate", 0, "evaluate on N generated games instead")
	fl.Int64Var(&seed, "seed", 1, "first seed of generated games")
	fl.IntVar(&limit, "limit", 0, "at most this many games (0: all)")
	fl.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "parallel episodes")
	fl.StringVar(&outDir, "out", "runs/eval", "directory for transcripts.jsonl, report.json and report.md")
	fl.StringVar(&compare, "compare", "", "values of one axis to run side by side: code,json,text; expert,openai; starlark,python; model=a,b")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	fl.StringVar(&env, "env", "alfworld", "environment: alfworld, rover (the device task; --generate N episodes, default 10), or m3tooleval (the CodeAct paper's 82 tasks; --tasks REGEX)")
	rf.register(fl)
	m3.registerEval(fl)
	qf.register(fl)
	return cmd
}

// writeEvalReport writes OUT/report.json and OUT/report.md.
func writeEvalReport(outDir string, rep *agent.Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "report.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	mf, err := os.Create(filepath.Join(outDir, "report.md"))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rep.WriteMarkdown(mf); err != nil {
		mf.Close()
		return err
	}
	return mf.Close()
}

// compareAxes are the axes --compare varies, and the values each knows
// (a model takes any name).
var compareAxes = []struct {
	name   string
	values []string
	set    func(f *episodeFlags, v string)
}{
	{"format", []string{"code", "json", "text"}, func(f *episodeFlags, v string) { f.format = v }},
	{"policy", []string{"expert", "openai", "replay"}, func(f *episodeFlags, v string) { f.policy = v }},
	{"runtime", runtimeNames, func(f *episodeFlags, v string) { f.rt.Name = v }},
	{"model", nil, func(f *episodeFlags, v string) { f.model.model = v }},
}

// compareVariants are the flags of each variant --compare asks for: the
// base flags with one axis set to each listed value, repeated values
// once. Bare values name their axis by what they are; all must be of one
// axis (code,starlark mixes a format and a runtime and is refused).
func compareVariants(base episodeFlags, compare string) ([]episodeFlags, error) {
	if strings.TrimSpace(compare) == "" {
		return []episodeFlags{base}, nil
	}
	axis := -1
	list := compare
	explicit := false
	if k, rest, ok := strings.Cut(compare, "="); ok {
		explicit = true
		for i, a := range compareAxes {
			if a.name == strings.TrimSpace(k) {
				axis = i
			}
		}
		if axis < 0 {
			return nil, fmt.Errorf("--compare %s: no axis %q (format, policy, runtime or model)", compare, k)
		}
		list = rest
	}
	var values []string
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(values, v) {
			continue
		}
		values = append(values, v)
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("--compare %s: no values", compare)
	}
	for _, v := range values {
		of := -1
		for i, a := range compareAxes {
			if slices.Contains(a.values, v) {
				of = i
			}
		}
		switch {
		case explicit && compareAxes[axis].values == nil:
		case explicit && of != axis:
			return nil, fmt.Errorf("--compare %s: %q is not a %s (%s)", compare, v, compareAxes[axis].name, strings.Join(compareAxes[axis].values, ", "))
		case of < 0:
			return nil, fmt.Errorf("--compare %s: %q is not a format, policy or runtime (models: --compare model=%s)", compare, v, v)
		case axis < 0:
			axis = of
		case of != axis:
			return nil, fmt.Errorf("--compare %s mixes a %s and a %s: compare one axis at a time", compare, compareAxes[axis].name, compareAxes[of].name)
		}
	}
	var out []episodeFlags
	for _, v := range values {
		f := base
		compareAxes[axis].set(&f, v)
		out = append(out, f)
	}
	return out, nil
}

// variantName names a variant policy/format/runtime; a model's name
// follows its policy: openai:gpt-4o/code/starlark.
func (f *episodeFlags) variantName() string {
	p := f.policy
	if p == "openai" && f.model.model != "" {
		p += ":" + f.model.model
	}
	return p + "/" + f.format + "/" + f.rt.Name
}

// replayPolicies plays each game's recorded assistant turns from a MINT
// results file.
func replayPolicies(file string) (func(id string) agent.PolicyFactory, error) {
	recs, err := agent.ReadRecords(file)
	if err != nil {
		return nil, err
	}
	byID := map[string][]string{}
	for _, r := range recs {
		byID[r.TaskID] = r.Assistant
	}
	return func(id string) agent.PolicyFactory {
		return func(task.Episode) (agent.Policy, error) {
			msgs, ok := byID[id]
			if !ok {
				return nil, fmt.Errorf("no recorded episode of %s", id)
			}
			return &agent.ReplayPolicy{Messages: msgs}, nil
		}
	}, nil
}

// evalProgress shows an evaluation's progress: a bar on a terminal, a
// line every tenth otherwise. Its count is of recorded episodes, so after
// an interruption it says what was written.
type evalProgress struct {
	w           io.Writer
	bar         *progressbar.ProgressBar
	quiet       bool
	done, total int
	lastTenth   int
}

func newEvalProgress(w io.Writer, quiet bool, total int) *evalProgress {
	p := &evalProgress{w: w, quiet: quiet, total: total, lastTenth: -1}
	if f, ok := w.(*os.File); ok && !quiet && isTerminal(f) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("episodes"), progressbar.OptionShowCount(), progressbar.OptionThrottle(100_000_000))
	}
	return p
}

func (p *evalProgress) set(done, total int) {
	p.done, p.total = done, total
	switch {
	case p.bar != nil:
		p.bar.ChangeMax(total)
		p.bar.Set(done)
	case !p.quiet && total > 0 && done*10/total > p.lastTenth:
		p.lastTenth = done * 10 / total
		fmt.Fprintf(p.w, "episodes: %d/%d\n", done, total)
	}
}

// say prints a line (an errored episode) above the bar.
func (p *evalProgress) say(line string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
}

// end closes the bar; interrupted leaves it at the count recorded (a
// finished bar would fill up).
func (p *evalProgress) end(interrupted bool) {
	switch {
	case p.bar != nil && interrupted:
		p.bar.Exit()
		fmt.Fprintln(p.w)
	case p.bar != nil:
		p.bar.Finish()
		fmt.Fprintln(p.w)
	case interrupted && !p.quiet:
		fmt.Fprintf(p.w, "episodes: %d/%d (interrupted)\n", p.done, p.total)
	}
}

// evalJobs lists the games of an evaluation.
func evalJobs(dir, taskType string, generate int, seed int64, episode alfworldtask.Options) ([]agent.Job, error) {
	if generate > 0 {
		var opts scene.Options
		if taskType != "" {
			t, err := alfworld.ParseTaskTypeName(taskType)
			if err != nil {
				return nil, err
			}
			opts.Kind = scene.Kind(t.String())
		}
		gen := scene.Default()
		jobs := make([]agent.Job, generate)
		for i := range jobs {
			s := seed + int64(i)
			jobs[i] = agent.Job{ID: fmt.Sprintf("generated/%d", s), Start: startGame(episode, func() (*alfworld.Game, error) {
				sc, err := gen.Generate(s, opts)
				if err != nil {
					return nil, fmt.Errorf("generate %d: %w", s, err)
				}
				data, err := gen.MarshalGameFile(sc)
				if err != nil {
					return nil, err
				}
				g, err := alfworld.ParseGameFile(data)
				if err != nil {
					return nil, fmt.Errorf("generated game %d: %w", s, err)
				}
				if t, err := alfworld.ParseTaskType(sc.TaskDir()); err == nil {
					g.TaskType = t
				}
				return g, nil
			})}
		}
		return jobs, nil
	}
	refs, err := gameSet(games.NewSet(), dir, taskType)
	if err != nil {
		return nil, err
	}
	jobs := make([]agent.Job, len(refs))
	for i, r := range refs {
		jobs[i] = agent.Job{ID: r.id, Start: startGame(episode, r.load)}
	}
	return jobs, nil
}

// startGame starts ALFWorld episodes of the game load returns.
func startGame(opts alfworldtask.Options, load func() (*alfworld.Game, error)) func(context.Context) (task.Episode, error) {
	return func(context.Context) (task.Episode, error) {
		g, err := load()
		if err != nil {
			return nil, err
		}
		return alfworldtask.Start(g, opts)
	}
}
