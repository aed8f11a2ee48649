package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/internal/buildinfo"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
	"github.com/gantry-dev/gantry/task/m3task"
	"github.com/gantry-dev/gantry/task/prompt"
	"github.com/gantry-dev/gantry/tool"
)

// episodeFlags are the flags run and eval share.
type episodeFlags struct {
	policy, format, grammar string
	turns, proposals        int
	maxTokens, envSteps     int
	wallTime                time.Duration
	stuck                   int
	example                 bool
	rt                      runtimeOptions
	model                   modelFlags
	replayFile              string
	parse                   string
	// log is where warnings go (model retries): the command's stderr.
	log func() io.Writer
	// names are the flags register added (the run identity's options).
	names []string
	// flags is the command's flag set, for the identity's options.
	flags *pflag.FlagSet
}

type modelFlags struct {
	baseURL, model string
	temperature    float32
	maxTokens      int
	timeout        time.Duration
	retries        int
	functionCalls  bool
	stop           []string
}

func (f *episodeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	before := map[string]bool{}
	fl.VisitAll(func(fl *pflag.Flag) { before[fl.Name] = true })
	defer func() {
		fl.VisitAll(func(fl *pflag.Flag) {
			if !before[fl.Name] {
				f.names = append(f.names, fl.Name)
			}
		})
	}()
	fl.StringVar(&f.policy, "policy", "expert", "who writes the assistant turns: expert, openai or replay")
	fl.StringVar(&f.format, "format", "code", "action format: code, json or text")
	fl.StringVar(&f.grammar, "grammar", "classic", "ALFWorld text grammar: classic (ReAct, MINT) or current (alfworld 0.4+)")
	fl.IntVar(&f.turns, "turns", 10, "turn budget (MINT used 5)")
	fl.IntVar(&f.proposals, "proposals", 2, "solution attempts")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "token budget of the episode (0: none)")
	fl.IntVar(&f.envSteps, "env-steps", 50, "environment step limit")
	fl.DurationVar(&f.wallTime, "wall-time", 0, "wall-time budget of the episode (0: none)")
	fl.IntVar(&f.stuck, "stuck", 0, "stop after the same failing action (or unparseable reply) this many times in a row; 0: never, as MINT")
	fl.BoolVar(&f.example, "example", true, "show MINT's in-context example in code format")
	fl.StringVar(&f.rt.Name, "runtime", "starlark", "runtime for code actions: starlark or python")
	fl.DurationVar(&f.rt.Timeout, "action-timeout", 10*time.Second, "wall-time limit of one code action")
	fl.StringVar(&f.rt.Python, "python", "", "Python interpreter for --runtime python")
	fl.BoolVar(&f.rt.NoIsolation, "no-isolation", false, "run the Python worker without its sandbox (unsafe)")
	f.rt.registerIsolate(fl, false)
	f.rt.registerErrors(fl, "ipython")
	fl.StringVar(&f.model.baseURL, "base-url", "", "OpenAI-compatible API base URL (env OPENAI_BASE_URL)")
	fl.StringVar(&f.model.model, "model", "", "model name (env GANTRY_MODEL)")
	fl.Float32Var(&f.model.temperature, "temperature", 0, "sampling temperature")
	fl.IntVar(&f.model.maxTokens, "max-completion-tokens", 512, "completion tokens per model call")
	fl.DurationVar(&f.model.timeout, "model-timeout", agent.DefaultModelTimeout, "timeout of one model call; a call that runs out of it is not retried and the episode ends as an error")
	fl.IntVar(&f.model.retries, "retries", 4, "retries of a model call on 429, 5xx and network errors")
	fl.BoolVar(&f.model.functionCalls, "function-calls", false, "json format: offer the tools as OpenAI function calls (the server must support tools)")
	fl.StringArrayVar(&f.model.stop, "stop", nil, `a stop sequence sent to the model, repeatable; \n is a newline; "none" sends none (default: MINT's "\nObservation:", "\nExpert feedback:", "\nTask:", "\n---")`)
	fl.StringVar(&f.parse, "parse", "mint", "how assistant messages are read: mint (MINT's parser, with IPython's Out[N] for a trailing value) or lenient (also fenced python blocks and cut-off <execute> blocks, as some harnesses ran them)")
	fl.StringVar(&f.replayFile, "replay", "", "MINT results file whose assistant turns the replay policy plays")
	f.log = cmd.ErrOrStderr
	f.flags = fl
}

// identityFields are the flags the run identity holds as fields of its
// own; notIdentity are those that do not change what an episode does.
var (
	identityFields = map[string]bool{"policy": true, "format": true, "runtime": true, "model": true, "base-url": true,
		"temperature": true, "turns": true, "proposals": true, "errors": true}
	notIdentity = map[string]bool{"model-timeout": true, "retries": true, "python": true, "no-isolation": true, "isolate": true}
)

// promptSources are what an environment's prompts are made of.
func promptSources(env string) []fs.FS {
	switch env {
	case "alfworld":
		return []fs.FS{prompt.Sources(), alfworldtask.Sources()}
	case envM3:
		return []fs.FS{m3task.Sources()}
	}
	return []fs.FS{prompt.Sources()}
}

// identity is the run identity of an evaluation with these flags: the
// fields that decide how episodes are played, and as options every other
// episode flag but the operational ones (timeouts of model calls,
// retries, the interpreter's path, isolation).
func (f *episodeFlags) identity(env string) agent.RunIdentity {
	format, _ := agent.ParseFormat(f.format)
	id := agent.RunIdentity{Policy: f.policy, Format: format, Runtime: f.rt.Name, MaxTurns: f.turns, MaxProposals: f.proposals,
		PromptHash: agent.PromptHash(promptSources(env)...), Version: buildinfo.Version(), Options: map[string]string{}}
	if f.policy == "openai" {
		id.Model, id.BaseURL = f.model.model, f.model.baseURL
		if id.BaseURL == "" {
			id.BaseURL = openAIBaseURL
		}
		// The flag's float32, printed as typed (0.9, not 0.8999999761581421).
		id.Temperature, _ = strconv.ParseFloat(strconv.FormatFloat(float64(f.model.temperature), 'g', -1, 32), 64)
	}
	if f.flags == nil {
		return id
	}
	if e := f.flags.Lookup("errors"); e != nil {
		id.ErrorDisplay = e.Value.String()
	}
	for _, name := range f.names {
		if identityFields[name] || notIdentity[name] {
			continue
		}
		if fl := f.flags.Lookup(name); fl != nil {
			id.Options[name] = fl.Value.String()
		}
	}
	return id
}

// spec turns the flags into an episode spec. stream, when set, receives
// the model's tokens as they arrive.
func (f *episodeFlags) spec(stream io.Writer) (agent.Spec, error) {
	format, err := agent.ParseFormat(f.format)
	if err != nil {
		return agent.Spec{}, err
	}
	if _, err := f.alfworldOptions(); err != nil {
		return agent.Spec{}, err
	}
	mode, err := agent.ParseParseMode(f.parse)
	if err != nil {
		return agent.Spec{}, fmt.Errorf("--parse: %w", err)
	}
	spec := agent.Spec{
		// MINT's conventions unless a flag says otherwise: its parser, no
		// repair of a cut-off <execute> block, IPython's Out[N].
		Config: agent.Config{Format: format, MaxTurns: f.turns, MaxProposals: f.proposals, MaxTokens: f.maxTokens,
			WallTime: f.wallTime, StuckAfter: f.stuck, BudgetLine: true,
			Parse: mode, NoRepair: mode == agent.ParseMINT, NotebookOut: mode == agent.ParseMINT},
		PolicyName: f.policy, Runtime: f.rt.Name,
	}
	rt := f.rt
	spec.NewRuntime = func(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
		return newRuntime(ctx, rt, reg)
	}
	switch f.policy {
	case "expert":
		// The task's own expert (NewPolicy nil).
	case "openai":
		if f.model.model == "" {
			return spec, errNoModel
		}
		cfg := f.openAIConfig(format, stream)
		if _, err := agent.NewOpenAIPolicy(cfg); err != nil {
			return spec, err
		}
		functions := f.model.functionCalls && format == agent.JSON
		spec.NewPolicy = func(te task.Episode) (agent.Policy, error) {
			cfg := cfg
			if functions {
				cfg.Functions = te.Tools().Functions()
			}
			return agent.NewOpenAIPolicy(cfg)
		}
	case "replay":
		if f.replayFile == "" {
			return spec, fmt.Errorf("--policy replay needs --replay FILE (a MINT results.jsonl)")
		}
	default:
		return spec, fmt.Errorf("unknown policy %q (expert, openai or replay)", f.policy)
	}
	return spec, nil
}

// alfworldOptions are the ALFWorld task options the flags say.
func (f *episodeFlags) alfworldOptions() (alfworldtask.Options, error) {
	grammar := alfworld.Classic
	switch f.grammar {
	case "classic":
	case "current":
		grammar = alfworld.Current
	default:
		return alfworldtask.Options{}, fmt.Errorf("unknown grammar %q (classic or current)", f.grammar)
	}
	return alfworldtask.Options{Grammar: grammar, MaxSteps: f.envSteps, Example: f.example}, nil
}

// openAIConfig is the model configuration the flags say.
func (f *episodeFlags) openAIConfig(format agent.Format, stream io.Writer) agent.OpenAIConfig {
	key := os.Getenv("OPENAI_API_KEY")
	if k := os.Getenv("GANTRY_API_KEY"); k != "" {
		key = k
	}
	cfg := agent.OpenAIConfig{BaseURL: f.model.baseURL, APIKey: key, Model: f.model.model, Temperature: f.model.temperature,
		MaxTokens: f.model.maxTokens, Timeout: f.model.timeout, Retries: f.model.retries, Stream: stream,
		Stop: stopSequences(f.model.stop)}
	if f.log != nil {
		// Retries are said on the terminal, not waited out in silence.
		cfg.Logger = slog.New(slog.NewTextHandler(f.log(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return cfg
}

func newRunCmd() *cobra.Command {
	var (
		f          episodeFlags
		game       string
		gamesDir   string
		taskType   string
		seed       int64
		transcript string
		env        string
		rf         roverFlags
		m3         m3Flags
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one episode (ALFWorld, or a rover over MQTT) and print the conversation",
		Long: `run plays one episode. With no flags: the first ALFWorld game of the
valid_unseen split (embedded), the built-in expert policy, code actions, Starlark.

With --env rover: a device task on a rover reached over MQTT through the guard.
Without --broker, gantry starts an embedded broker and a simulated rover (the
reference firmware) on it, so this too runs with no setup.

Exit status: 0 won, 1 usage or set-up error, 2 lost, 3 the model failed
(unreachable, key refused, or the episode ended by a model error), 130
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			var stream io.Writer
			if f.policy == "openai" {
				stream = out
				if f.model.model == "" {
					return errNoModel
				}
				format, err := agent.ParseFormat(f.format)
				if err != nil {
					return err
				}
				// Before the prompt: a missing key or a dead server fails now.
				if err := checkModel(ctx, f.openAIConfig(format, nil)); err != nil {
					return err
				}
			}
			switch env {
			case "alfworld":
			case "rover":
				return runRover(ctx, out, &f, &rf, stream, transcript)
			case envM3:
				return runM3(ctx, out, &f, &m3, stream, transcript)
			default:
				return fmt.Errorf("unknown --env %q (alfworld, rover or m3tooleval)", env)
			}
			spec, err := f.spec(stream)
			if err != nil {
				return err
			}
			id, g, err := pickGame(games.NewSet(), game, gamesDir, taskType, seed)
			if err != nil {
				return err
			}
			if f.policy == "replay" {
				rec, err := findRecord(f.replayFile, id)
				if err != nil {
					return err
				}
				spec.NewPolicy = func(task.Episode) (agent.Policy, error) { return &agent.ReplayPolicy{Messages: rec.Assistant}, nil }
			}
			opts, err := f.alfworldOptions()
			if err != nil {
				return err
			}
			te, err := alfworldtask.Start(g, opts)
			if err != nil {
				return err
			}
			ep, cleanup, err := agent.NewEpisode(ctx, id, te, spec)
			if err != nil {
				return err
			}
			defer cleanup()
			return playEpisode(ctx, out, ep, f.policy == "openai", transcript, f.identity("alfworld"))
		},
	}
	f.register(cmd)
	configurable(cmd)
	fl := cmd.Flags()
	fl.StringVar(&game, "game", "", "game: a game.tw-pddl path, or a valid_unseen task id (\"<task>/<trial>\"); default: by --seed")
	fl.StringVar(&gamesDir, "games", "", "ALFWorld data directory (json_2.1.1/<split>/...) to draw games from instead of the embedded split")
	fl.StringVar(&taskType, "task-type", "", "draw a game of this task type ("+taskTypeHelp+")")
	fl.Int64Var(&seed, "seed", 0, "draw the game with this seed (0: the first game)")
	fl.StringVar(&transcript, "transcript", "", "append the episode's transcript (JSON, with the run's identity) to this file")
	fl.StringVar(&env, "env", "alfworld", "environment: alfworld, rover (a device task over MQTT), or m3tooleval (--task NAME)")
	rf.register(fl)
	m3.registerRun(fl)
	return cmd
}

// playEpisode runs ep, printing the conversation as it goes (streamed
// says the policy already prints the assistant's tokens), and appends the
// transcript, with the run's identity, to a file when one is named. A lost
// episode exits with 2, an errored one with 3.
func playEpisode(ctx context.Context, out io.Writer, ep *agent.Episode, streamed bool, transcript string, id agent.RunIdentity) error {
	p := newPrinter(out)
	p.message(agent.Message{Role: agent.User, Content: ep.Prompt})
	var silent *agent.Turn // an answer the harness answered with nothing
	ep.OnTurn = func(t agent.Turn) {
		if !streamed {
			p.message(agent.Message{Role: agent.Assistant, Content: t.Assistant})
		}
		if t.Observation == "" && t.Action.Kind == agent.ActSolution {
			silent = &t
			return
		}
		p.observation(t.Observation, t.Budget)
	}
	tr, err := ep.Run(ctx)
	if silent != nil {
		// A harness that sends nothing after a correct answer
		// (M3ToolEval's) ends the episode: say so, as a verdict.
		if tr != nil && tr.Success && len(tr.Turns) > 0 && tr.Turns[len(tr.Turns)-1].Index == silent.Index {
			p.verdict("Your answer is correct.")
		} else {
			p.observation(silent.Observation, silent.Budget)
		}
	}
	if tr != nil {
		p.summary(tr)
		if transcript != "" {
			rec := struct {
				Run *agent.RunIdentity `json:"run"`
				*agent.Transcript
			}{&id, tr}
			if werr := writeJSONL(transcript, rec); werr != nil {
				return werr
			}
		}
	}
	if err != nil {
		return err
	}
	if tr.StopReason == agent.StopError {
		return &exitError{code: exitModel, err: fmt.Errorf("the episode errored: %s", withKeyHint(tr.Error))}
	}
	if !tr.Success {
		return &exitError{code: exitLost}
	}
	return nil
}

// pickGame chooses the game of a run; embedded games come from set.
func pickGame(set *games.Set, game, dir, taskType string, seed int64) (string, *alfworld.Game, error) {
	if game != "" {
		if _, err := os.Stat(game); err == nil {
			g, err := alfworld.LoadGameFile(game)
			return game, g, err
		}
		eg, err := set.Find(game)
		if err != nil {
			return "", nil, err
		}
		g, err := eg.Load()
		return eg.ID, g, err
	}
	cands, err := gameSet(set, dir, taskType)
	if err != nil {
		return "", nil, err
	}
	i := 0
	if seed != 0 {
		i = rand.New(rand.NewPCG(uint64(seed), 1)).IntN(len(cands))
	}
	g, err := cands[i].load()
	return cands[i].id, g, err
}

// gameRef is a game to load.
type gameRef struct {
	id   string
	load func() (*alfworld.Game, error)
}

// taskTypeHelp lists the task types' short names; ALFWorld's folder
// names (pick_heat_then_place_in_recep) are accepted too.
const taskTypeHelp = "put, clean, heat, cool, examine, puttwo, or ALFWorld's folder names"

// gameSet lists the games of a data directory, or the embedded split,
// optionally of one task type.
func gameSet(set *games.Set, dir, taskType string) ([]gameRef, error) {
	var want alfworld.TaskType
	if taskType != "" {
		t, err := alfworld.ParseTaskTypeName(taskType)
		if err != nil {
			return nil, err
		}
		want = t
	}
	var out []gameRef
	if dir != "" {
		paths, err := alfworld.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			parts := strings.Split(p, string(os.PathSeparator))
			if want != alfworld.Unknown && len(parts) >= 3 {
				if t, err := alfworld.ParseTaskType(parts[len(parts)-3]); err == nil && t != want {
					continue
				}
			}
			path := p
			out = append(out, gameRef{id: path, load: func() (*alfworld.Game, error) { return alfworld.LoadGameFile(path) }})
		}
	} else {
		all, err := set.All()
		if err != nil {
			return nil, err
		}
		for _, g := range all {
			if want != alfworld.Unknown {
				if t, err := alfworld.ParseTaskType(strings.SplitN(g.ID, "/", 2)[0]); err == nil && t != want {
					continue
				}
			}
			eg := g
			out = append(out, gameRef{id: eg.ID, load: eg.Load})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no games found (dir %q, task type %s)", dir, alfworld.TaskTypeName(taskType))
	}
	return out, nil
}

// findRecord returns the record of game id in a MINT results file.
func findRecord(path, id string) (agent.Record, error) {
	recs, err := agent.ReadRecords(path)
	if err != nil {
		return agent.Record{}, err
	}
	for _, r := range recs {
		if r.TaskID == id {
			return r, nil
		}
	}
	return agent.Record{}, fmt.Errorf("%s has no episode of game %s", path, id)
}

// writeJSONL appends v as one JSON line to path.
func writeJSONL(path string, v any) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		f.Close()
		return fmt.Errorf("transcript: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("transcript: %w", err)
	}
	return f.Close()
}

// printer shows a conversation to a person: coloured on a terminal, plain
// when piped.
type printer struct {
	w                             io.Writer
	user, assistant, obs, ok, bad *color.Color
}

func newPrinter(w io.Writer) *printer {
	p := &printer{w: w,
		user: color.New(color.FgCyan, color.Bold), assistant: color.New(color.FgYellow, color.Bold),
		obs: color.New(color.FgGreen), ok: color.New(color.FgGreen, color.Bold), bad: color.New(color.FgRed, color.Bold)}
	if f, isFile := w.(*os.File); !isFile || !isTerminal(f) {
		for _, c := range []*color.Color{p.user, p.assistant, p.obs, p.ok, p.bad} {
			c.DisableColor()
		}
	}
	return p
}

func (p *printer) message(m agent.Message) {
	c := p.user
	if m.Role == agent.Assistant {
		c = p.assistant
	}
	c.Fprintf(p.w, "=== %s ===\n", m.Role)
	fmt.Fprintln(p.w, strings.TrimRight(m.Content, "\n"))
}

func (p *printer) observation(obs, budget string) {
	p.obs.Fprintln(p.w, "=== observation ===")
	fmt.Fprintln(p.w, strings.TrimRight(obs, "\n"))
	if budget != "" {
		p.obs.Fprintln(p.w, budget)
	}
}

// verdict prints the outcome of an answer that no message answered.
func (p *printer) verdict(text string) {
	p.obs.Fprintln(p.w, "=== verdict ===")
	fmt.Fprintln(p.w, text)
}

func (p *printer) summary(tr *agent.Transcript) {
	c, word := p.bad, "LOST"
	if tr.Success {
		c, word = p.ok, "WON"
	}
	c.Fprintf(p.w, "=== %s: %s in %d turns (%s, %s, %s), %s", word, tr.ID, len(tr.Turns), tr.Policy, tr.Format, tr.Runtime, tr.StopReason)
	if tr.Error != "" {
		fmt.Fprintf(p.w, ": %s", tr.Error)
	}
	fmt.Fprintln(p.w)
}
