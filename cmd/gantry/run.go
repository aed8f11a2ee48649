package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
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

func (f *episodeFlags) register(cmd *cobra.Command, cfg *fileConfig) {
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", cfg.str("policy", "expert"), "who writes the assistant turns: expert, openai or replay")
	fl.StringVar(&f.format, "format", cfg.str("format", "code"), "action format: code, json or text")
	fl.StringVar(&f.grammar, "grammar", cfg.str("grammar", "classic"), "ALFWorld text grammar: classic (ReAct, MINT) or current (alfworld 0.4+)")
	fl.IntVar(&f.turns, "turns", cfg.int("turns", 10), "turn budget (MINT used 5)")
	fl.IntVar(&f.proposals, "proposals", cfg.int("proposals", 2), "solution attempts")
	fl.IntVar(&f.maxTokens, "max-tokens", cfg.int("max_tokens", 0), "token budget of the episode (0: none)")
	fl.IntVar(&f.envSteps, "env-steps", cfg.int("env_steps", 50), "environment step limit")
	fl.DurationVar(&f.wallTime, "wall-time", cfg.duration("wall_time", 0), "wall-time budget of the episode (0: none)")
	fl.IntVar(&f.stuck, "stuck", cfg.int("stuck", 3), "stop after the same failing action this many times in a row (0: never)")
	fl.BoolVar(&f.example, "example", cfg.bool("example", true), "show MINT's in-context example in code format")
	fl.StringVar(&f.rt.Name, "runtime", cfg.str("runtime", "starlark"), "runtime for code actions: starlark or python")
	fl.DurationVar(&f.rt.Timeout, "action-timeout", cfg.duration("action_timeout", 10*time.Second), "wall-time limit of one code action")
	fl.StringVar(&f.rt.Python, "python", cfg.str("python", ""), "Python interpreter for --runtime python")
	fl.BoolVar(&f.rt.NoIsolation, "no-isolation", cfg.bool("no_isolation", false), "run the Python worker without its sandbox (unsafe)")
	f.rt.registerIsolate(fl, cfg.bool("isolate", false))
	fl.StringVar(&f.model.baseURL, "base-url", cfg.str("base_url", os.Getenv("OPENAI_BASE_URL")), "OpenAI-compatible API base URL (env OPENAI_BASE_URL)")
	fl.StringVar(&f.model.model, "model", cfg.str("model", os.Getenv("GANTRY_MODEL")), "model name (env GANTRY_MODEL)")
	fl.Float32Var(&f.model.temperature, "temperature", float32(cfg.float("temperature", 0)), "sampling temperature")
	fl.IntVar(&f.model.maxTokens, "max-completion-tokens", cfg.int("max_completion_tokens", 512), "completion tokens per model call")
	fl.DurationVar(&f.model.timeout, "model-timeout", cfg.duration("model_timeout", agent.DefaultModelTimeout), "timeout of one model call; a call that runs out of it is not retried and the episode ends as an error")
	fl.StringArrayVar(&f.model.stop, "stop", nil, `a stop sequence sent to the model, repeatable; \n is a newline; "none" sends none (default: MINT's "\nObservation:", "\nExpert feedback:", "\nTask:", "\n---")`)
	fl.IntVar(&f.model.retries, "retries", cfg.int("retries", 4), "retries of a model call on 429, 5xx and network errors")
	fl.BoolVar(&f.model.functionCalls, "function-calls", cfg.bool("function_calls", false), "json format: offer the tools as OpenAI function calls (the server must support tools)")
	fl.StringVar(&f.replayFile, "replay", cfg.str("replay", ""), "MINT results file whose assistant turns the replay policy plays")
}

// spec turns the flags into an episode spec. stream, when set, receives
// the model's tokens as they arrive.
func (f *episodeFlags) spec(stream io.Writer) (agent.ALFWorldSpec, error) {
	format, err := agent.ParseFormat(f.format)
	if err != nil {
		return agent.ALFWorldSpec{}, err
	}
	grammar := alfworld.Classic
	switch f.grammar {
	case "classic":
	case "current":
		grammar = alfworld.Current
	default:
		return agent.ALFWorldSpec{}, fmt.Errorf("unknown grammar %q (classic or current)", f.grammar)
	}
	spec := agent.ALFWorldSpec{
		Config: agent.Config{Format: format, MaxTurns: f.turns, MaxProposals: f.proposals, MaxTokens: f.maxTokens,
			WallTime: f.wallTime, StuckAfter: f.stuck, BudgetLine: true},
		Grammar: grammar, MaxSteps: f.envSteps, Example: f.example,
		PolicyName: f.policy, Runtime: f.rt.Name,
	}
	rt := f.rt
	spec.NewRuntime = func(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
		return newRuntime(ctx, rt, reg)
	}
	switch f.policy {
	case "expert":
		spec.NewPolicy = func(env *alfworld.Env) (agent.Policy, error) {
			return &agent.ExpertPolicy{Env: env, Format: format}, nil
		}
	case "openai":
		cfg := f.openAIConfig(format, stream)
		if _, err := agent.NewOpenAIPolicy(cfg); err != nil {
			return spec, err
		}
		functions := f.model.functionCalls && format == agent.JSON
		spec.NewPolicy = func(env *alfworld.Env) (agent.Policy, error) {
			cfg := cfg
			if functions {
				reg := tool.NewRegistry()
				if err := alfworld.RegisterTools(reg, env); err != nil {
					return nil, fmt.Errorf("alfworld tools: %w", err)
				}
				cfg.Functions = reg.Functions()
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

// openAIConfig is the model configuration the flags say.
func (f *episodeFlags) openAIConfig(format agent.Format, stream io.Writer) agent.OpenAIConfig {
	key := os.Getenv("OPENAI_API_KEY")
	if k := os.Getenv("GANTRY_API_KEY"); k != "" {
		key = k
	}
	cfg := agent.OpenAIConfig{BaseURL: f.model.baseURL, APIKey: key, Model: f.model.model, Temperature: f.model.temperature,
		MaxTokens: f.model.maxTokens, Timeout: f.model.timeout, Retries: f.model.retries, Stream: stream,
		Stop: stopSequences(f.model.stop)}
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
		configPath string
		env        string
		rf         roverFlags
	)
	cfg := loadConfigFromArgs(os.Args)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one episode (ALFWorld, or a rover over MQTT) and print the conversation",
		Long: `run plays one episode. With no flags: the first ALFWorld game of the
valid_unseen split (embedded), the built-in expert policy, code actions, Starlark.

With --env rover: a device task on a rover reached over MQTT through the guard.
Without --broker, gantry starts an embedded broker and a simulated rover (the
reference firmware) on it, so this too runs with no setup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.err != nil {
				return cfg.err
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			var stream io.Writer
			if f.policy == "openai" {
				stream = out
			}
			switch env {
			case "alfworld":
			case "rover":
				return runRover(ctx, out, &f, &rf, stream, transcript)
			default:
				return fmt.Errorf("unknown --env %q (alfworld or rover)", env)
			}
			spec, err := f.spec(stream)
			if err != nil {
				return err
			}
			id, g, err := pickGame(game, gamesDir, taskType, seed)
			if err != nil {
				return err
			}
			if f.policy == "replay" {
				rec, err := findRecord(f.replayFile, id)
				if err != nil {
					return err
				}
				spec.NewPolicy = func(*alfworld.Env) (agent.Policy, error) { return &agent.ReplayPolicy{Messages: rec.Assistant}, nil }
			}
			ep, _, cleanup, err := agent.ALFWorldEpisode(ctx, id, g, spec)
			if err != nil {
				return err
			}
			defer cleanup()
			return playEpisode(ctx, out, ep, f.policy == "openai", transcript)
		},
	}
	f.register(cmd, cfg)
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", "YAML configuration file (flags override it; see docs/agent.md)")
	fl.StringVar(&game, "game", cfg.str("game", ""), "game: a game.tw-pddl path, or a valid_unseen task id (\"<task>/<trial>\"); default: by --seed")
	fl.StringVar(&gamesDir, "games", cfg.str("games", ""), "ALFWorld data directory (json_2.1.1/<split>/...) to draw games from instead of the embedded split")
	fl.StringVar(&taskType, "task-type", cfg.str("task_type", ""), "draw a game of this task type (put, clean, heat, cool, examine, puttwo)")
	fl.Int64Var(&seed, "seed", 0, "draw the game with this seed (0: the first game)")
	fl.StringVar(&transcript, "transcript", "", "append the episode's transcript (JSON) to this file")
	fl.StringVar(&env, "env", cfg.str("env", "alfworld"), "environment: alfworld, or rover (a device task over MQTT)")
	rf.register(fl, cfg)
	return cmd
}

// playEpisode runs ep, printing the conversation as it goes (streamed
// says the policy already prints the assistant's tokens), and appends the
// transcript to a file when one is named. A lost episode exits with 2.
func playEpisode(ctx context.Context, out io.Writer, ep *agent.Episode, streamed bool, transcript string) error {
	p := newPrinter(out)
	p.message(agent.Message{Role: agent.User, Content: ep.Prompt})
	ep.OnTurn = func(t agent.Turn) {
		if !streamed {
			p.message(agent.Message{Role: agent.Assistant, Content: t.Assistant})
		}
		p.observation(t.Observation, t.Budget)
	}
	tr, err := ep.Run(ctx)
	if tr != nil {
		p.summary(tr)
		if transcript != "" {
			if werr := writeJSONL(transcript, tr); werr != nil {
				return werr
			}
		}
	}
	if err != nil {
		return err
	}
	if !tr.Success {
		return &exitError{code: 2}
	}
	return nil
}

// pickGame chooses the game of a run.
func pickGame(game, dir, taskType string, seed int64) (string, *alfworld.Game, error) {
	if game != "" {
		if _, err := os.Stat(game); err == nil {
			g, err := alfworld.LoadGameFile(game)
			return game, g, err
		}
		eg, err := games.Find(game)
		if err != nil {
			return "", nil, err
		}
		g, err := eg.Load()
		return eg.ID, g, err
	}
	cands, err := gameSet(dir, taskType)
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

// taskTypeNames maps short names to the engine's task types.
var taskTypeNames = map[string]alfworld.TaskType{
	"put": alfworld.Put, "clean": alfworld.Clean, "heat": alfworld.Heat, "cool": alfworld.Cool,
	"examine": alfworld.Examine, "puttwo": alfworld.PutTwo,
}

// gameSet lists the games of a data directory, or the embedded split,
// optionally of one task type.
func gameSet(dir, taskType string) ([]gameRef, error) {
	var want alfworld.TaskType
	if taskType != "" {
		t, ok := taskTypeNames[taskType]
		if !ok {
			var err error
			if t, err = alfworld.ParseTaskType(taskType); err != nil {
				return nil, fmt.Errorf("unknown task type %q (put, clean, heat, cool, examine, puttwo)", taskType)
			}
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
		all, err := games.ValidUnseen()
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
		return nil, fmt.Errorf("no games found (dir %q, task type %q)", dir, taskType)
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
