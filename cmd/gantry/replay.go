package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
	"github.com/gantry-dev/gantry/tool"
)

// maxGameBytes bounds a game file read from --games (the ALFWorld games
// are tens of KB).
const maxGameBytes = 64 << 20

func newReplayCmd() *cobra.Command {
	var (
		rt       runtimeOptions
		gamesDir string
		outDir   string
		workers  int
		maxMiB   int64
		lineMiB  int
		parse    string
	)
	cmd := &cobra.Command{
		Use:   "replay [flags] RESULTS.jsonl...",
		Short: "Replay recorded model episodes (MINT results) and compare every observation",
		Long: `replay feeds the assistant turns of recorded ALFWorld episodes (MINT's
results.jsonl, optionally gzipped) through the normal loop with MINT's
conventions (5 turns, 2 proposals), runs the code in the chosen runtime against
the Go engine, and compares each observation and the outcome with the
recording. It writes OUT/replay.json and OUT/replay.md with every mismatch as a
diff, prints a summary line last, and exits 1 when anything differs.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if maxMiB < 1 || maxMiB > 1<<30 || lineMiB < 1 || lineMiB > 1<<20 {
				return fmt.Errorf("--max-input-mib must be 1..%d and --max-line-mib 1..%d", 1<<30, 1<<20)
			}
			set := games.NewSet() // unpacked once, for every game replayed
			load := func(id string) (*alfworld.Game, error) {
				if gamesDir != "" {
					path := filepath.Join(gamesDir, id, "game.tw-pddl")
					if st, err := os.Stat(path); err == nil && st.Size() > maxGameBytes {
						return nil, fmt.Errorf("game %s: %d bytes, more than the %d MiB a game file may have", path, st.Size(), maxGameBytes>>20)
					}
					return alfworld.LoadGameFile(path)
				}
				g, err := set.Find(id)
				if err != nil {
					return nil, err
				}
				return g.Load()
			}
			mode, err := agent.ParseParseMode(parse)
			if err != nil {
				return fmt.Errorf("--parse: %w", err)
			}
			check := &agent.ReplayCheck{
				Parse:   mode,
				Runtime: rt.Name,
				NewRuntime: func(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
					return newRuntime(ctx, rt, reg)
				},
				Start: func(_ context.Context, id string) (task.Episode, error) {
					g, err := load(id)
					if err != nil {
						return nil, err
					}
					return alfworldtask.Start(g, alfworldtask.Options{})
				},
				Workers: workers,
			}
			var reps []*agent.ReplayReport
			for _, file := range args {
				recs, err := agent.ReadRecordsLimited(file, agent.RecordLimits{MaxBytes: maxMiB << 20, MaxLine: lineMiB << 20})
				if err != nil {
					return err
				}
				rep, err := check.Run(ctx, filepath.Base(file), recs)
				if err != nil {
					return err
				}
				reps = append(reps, rep)
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s): %d/%d observations identical, %d/%d outcomes identical, %d won (recorded %d)\n",
					rep.File, rep.Runtime, rep.Identical, rep.Observations, rep.SameOutcome, rep.Episodes, rep.Won, rep.RecordedWon)
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return err
				}
				data, _ := json.MarshalIndent(reps, "", "  ")
				if err := os.WriteFile(filepath.Join(outDir, "replay.json"), append(data, '\n'), 0o644); err != nil {
					return err
				}
				f, err := os.Create(filepath.Join(outDir, "replay.md"))
				if err != nil {
					return err
				}
				if err := agent.WriteReplayMarkdown(f, reps); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			summary := agent.Summary(reps)
			fmt.Fprintln(cmd.OutOrStdout(), summary)
			for _, r := range reps {
				if r.Identical != r.Observations || r.SameOutcome != r.Episodes {
					return &exitError{code: 1}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&rt.Name, "runtime", "starlark", "runtime: starlark or python")
	fl.DurationVar(&rt.Timeout, "action-timeout", 0, "wall-time limit of one code action (0: the runtime's default)")
	fl.StringVar(&rt.Python, "python", "", "Python interpreter for --runtime python")
	fl.BoolVar(&rt.NoIsolation, "no-isolation", false, "run the Python worker without its sandbox (unsafe)")
	rt.registerIsolate(fl, false)
	rt.registerErrors(fl, "ipython")
	fl.StringVar(&parse, "parse", "mint", "how assistant messages are read: mint (MINT's parser) or lenient (also fenced python blocks and cut-off <execute> blocks, as some harnesses ran them)")
	fl.StringVar(&gamesDir, "games", "", "directory holding <task>/<trial>/game.tw-pddl (default: the embedded valid_unseen games)")
	fl.StringVar(&outDir, "out", "runs/replay", "directory for replay.json and replay.md (empty: none)")
	fl.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "episodes replayed in parallel")
	fl.Int64Var(&maxMiB, "max-input-mib", agent.DefaultMaxRecordBytes>>20, "refuse a results file larger than this many MiB once decompressed")
	fl.IntVar(&lineMiB, "max-line-mib", agent.DefaultMaxRecordLine>>20, "refuse a results line (one episode) longer than this many MiB")
	return cmd
}
