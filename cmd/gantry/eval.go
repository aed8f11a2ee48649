package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/scene"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
)

func newEvalCmd() *cobra.Command {
	var (
		f          episodeFlags
		gamesDir   string
		taskType   string
		generate   int
		seed       int64
		limit      int
		workers    int
		outDir     string
		compare    string
		configPath string
		quiet      bool
		env        string
		rf         roverFlags
		qf         queueFlags // --queue: distributed run (queue.go)
		qv         []episodeFlags
	)
	cfg := loadConfigFromArgs(os.Args)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Run many episodes (ALFWorld, or the rover task) in parallel and write transcripts and a report",
		Long: `eval runs every game of a set (the embedded valid_unseen split, a data
directory with --games, or N generated games with --generate) on parallel
workers. Transcripts go to OUT/transcripts.jsonl as episodes finish; running
the same command again resumes, skipping finished episodes. The report goes to
OUT/report.json and OUT/report.md. --compare runs each game once per listed
value (formats, or policies) and reports them side by side.

With --env rover: --generate N episodes of the rover device task (default
10), each on its own embedded broker and simulated rover, or on the rover
behind --broker one at a time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.err != nil {
				return cfg.err
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
			default:
				return fmt.Errorf("unknown --env %q (alfworld or rover)", env)
			}
			if limit > 0 && limit < len(jobs) {
				jobs = jobs[:limit]
			}
			var variants []agent.Variant
			values := []string{""}
			if compare != "" {
				values = strings.Split(compare, ",")
			}
			for _, val := range values {
				vf := f
				name := f.policy + "/" + f.format + "/" + f.rt.Name
				switch {
				case val == "":
				case val == "code" || val == "json" || val == "text":
					vf.format = val
					name = f.policy + "/" + val + "/" + f.rt.Name
				case val == "expert" || val == "openai" || val == "replay":
					vf.policy = val
					name = val + "/" + f.format + "/" + f.rt.Name
				case val == "starlark" || val == "python":
					vf.rt.Name = val
					name = f.policy + "/" + f.format + "/" + val
				default:
					return fmt.Errorf("--compare: %q is not a format, policy or runtime", val)
				}
				spec, err := vf.spec(nil)
				if err != nil {
					return err
				}
				v := agent.Variant{Name: name, Spec: spec}
				if vf.policy == "replay" {
					recs, err := agent.ReadRecords(vf.replayFile)
					if err != nil {
						return err
					}
					byID := map[string][]string{}
					for _, r := range recs {
						byID[r.TaskID] = r.Assistant
					}
					v.PolicyFor = func(id string) agent.PolicyFactory {
						return func(task.Episode) (agent.Policy, error) {
							msgs, ok := byID[id]
							if !ok {
								return nil, fmt.Errorf("no recorded episode of %s", id)
							}
							return &agent.ReplayPolicy{Messages: msgs}, nil
						}
					}
				}
				variants = append(variants, v)
				qv = append(qv, vf)
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return fmt.Errorf("output directory: %w", err)
			}
			total := len(jobs) * len(variants)
			var bar *progressbar.ProgressBar
			errOut := cmd.ErrOrStderr()
			tty := false
			if f, ok := errOut.(*os.File); ok {
				tty = isTerminal(f)
			}
			if !quiet && tty {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(errOut),
					progressbar.OptionSetDescription("episodes"), progressbar.OptionShowCount(), progressbar.OptionThrottle(100_000_000))
			}
			lastTenth := -1
			evalFunc := agent.Eval
			if qf.url != "" {
				evalFunc = qf.eval(env, qv, gamesDir, taskType, outDir, errOut)
			}
			rep, runErr := evalFunc(ctx, jobs, variants, agent.EvalOptions{
				Workers:     workers,
				Transcripts: filepath.Join(outDir, "transcripts.jsonl"),
				Progress: func(done, total int) {
					switch {
					case bar != nil:
						bar.Set(done)
					case !quiet && total > 0 && done*10/total > lastTenth:
						// Not a terminal: a plain line every tenth.
						lastTenth = done * 10 / total
						fmt.Fprintf(errOut, "episodes: %d/%d\n", done, total)
					}
				},
			})
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			if rep == nil {
				return runErr
			}
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
			if err := mf.Close(); err != nil {
				return err
			}
			for _, v := range rep.Variants {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d/%d won (%.1f%%), %.2f turns on average\n", v.Name, v.Won, v.Episodes, 100*v.SuccessRate, v.AvgTurns)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(outDir, "report.md"))
			return runErr
		},
	}
	f.register(cmd, cfg)
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", "YAML configuration file (flags override it; see docs/agent.md)")
	fl.StringVar(&gamesDir, "games", cfg.str("games", ""), "ALFWorld data directory (json_2.1.1/<split>/<task>/<trial>/game.tw-pddl); default: the embedded valid_unseen split")
	fl.StringVar(&taskType, "task-type", cfg.str("task_type", ""), "only games of this task type (put, clean, heat, cool, examine, puttwo)")
	fl.IntVar(&generate, "generate", 0, "evaluate on N generated games instead")
	fl.Int64Var(&seed, "seed", 1, "first seed of generated games")
	fl.IntVar(&limit, "limit", 0, "at most this many games (0: all)")
	fl.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "parallel episodes")
	fl.StringVar(&outDir, "out", cfg.str("out", "runs/eval"), "directory for transcripts.jsonl, report.json and report.md")
	fl.StringVar(&compare, "compare", "", "comma-separated formats, policies or runtimes to run side by side (e.g. code,json,text)")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	fl.StringVar(&env, "env", cfg.str("env", "alfworld"), "environment: alfworld, or rover (the device task; --generate N episodes, default 10)")
	rf.register(fl, cfg)
	qf.register(fl)
	return cmd
}

// evalJobs lists the games of an evaluation.
func evalJobs(dir, taskType string, generate int, seed int64, episode alfworldtask.Options) ([]agent.Job, error) {
	if generate > 0 {
		var opts scene.Options
		if taskType != "" {
			t, ok := taskTypeNames[taskType]
			if !ok {
				return nil, fmt.Errorf("unknown task type %q", taskType)
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
	refs, err := gameSet(dir, taskType)
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
