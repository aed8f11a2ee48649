// Package agent runs the CodeAct loop: a policy (a model behind an
// OpenAI-compatible API, a task's expert, or a replay of recorded turns)
// writes assistant messages; the loop parses each into an action (code, a
// JSON tool call or a text command), runs it, and answers with the
// observation, until the environment is done, a solution is accepted, or a
// budget runs out. Every turn is recorded in a Transcript.
//
// The loop knows no environment: it plays any task.Episode (NewEpisode),
// and task packages (task/alfworldtask, task/rovertask, ...) provide them.
//
// The default conventions are MINT's and the CodeAct paper's
// (MINTHarness): code in <execute>...</execute>, the answer in
// <solution>...</solution>, and an observation that ends with the budget
// left ("You have 4 steps left and 2 chances to propose solution left.").
// A task may bring its own harness (task.Conventions).
package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// Role is who wrote a message (task.Role).
type Role = task.Role

// The roles of a conversation.
const (
	System    = task.System
	User      = task.User
	Assistant = task.Assistant
)

// Message is one message of the conversation (task.Message).
type Message = task.Message

// Usage counts the tokens of one model call (task.Usage).
type Usage = task.Usage

// Policy writes the next assistant message of a conversation (task.Policy).
type Policy = task.Policy

// Runtime runs code actions, keeping state across them.
type Runtime interface {
	Exec(ctx context.Context, code string) (tool.Result, error)
	Close() error
}

// Env is the task's environment as the loop sees it: whether it is over,
// and whether it was won. A nil Env means the task ends only by a solution.
type Env interface {
	Done() bool
	Won() bool
}

// Checker decides whether a proposed solution is right. For environments
// that decide success themselves (ALFWorld) the checker asks the env.
type Checker func(solution string) bool

// Config are the loop's budgets and conventions.
type Config struct {
	Format Format
	// MaxTurns is the number of assistant turns (MINT: 5).
	MaxTurns int
	// MaxProposals is the number of solutions the model may propose (MINT: 2).
	MaxProposals int
	// MaxTokens stops the episode when prompt+completion tokens pass it; 0 = no limit.
	MaxTokens int
	// WallTime stops the episode after this long; 0 = no limit.
	WallTime time.Duration
	// StuckAfter stops the episode when the same failing action (or the
	// same unparseable reply) repeats this many times in a row; 0 = never.
	// It is a leniency of gantry's: MINT has no such rule and always runs
	// to its turn limit, so MINTConfig leaves it 0.
	StuckAfter int
	// MaxObservation bounds an observation's length (head and tail kept).
	MaxObservation int
	// BudgetLine adds MINT's "You have N steps left ..." line to observations.
	BudgetLine bool
	// NotebookOut shows a trailing expression's value as IPython does,
	// "Out[N]: value", N counting the code actions run (MINT's executor).
	NotebookOut bool
	// NoRepair turns off the repair of an <execute> block whose closing tag
	// is missing, in the lenient parse mode.
	NoRepair bool
	// Parse selects how code-format messages are read: ParseLenient (the
	// default) or ParseMINT (MINT's rules exactly; see ParseMINTAction).
	Parse ParseMode
}

// MINTConfig is the configuration MINT ran ALFWorld with.
func MINTConfig() Config {
	return Config{Format: Code, MaxTurns: 5, MaxProposals: 2, MaxObservation: 16 << 10, BudgetLine: true, NotebookOut: true, NoRepair: true, Parse: ParseMINT}
}

func (c Config) withDefaults() Config {
	if c.Format == "" {
		c.Format = Code
	}
	if c.MaxTurns <= 0 {
		c.MaxTurns = 5
	}
	if c.MaxProposals <= 0 {
		c.MaxProposals = 2
	}
	if c.MaxObservation <= 0 {
		c.MaxObservation = 16 << 10
	}
	if c.Parse == "" {
		c.Parse = ParseLenient
	}
	return c
}

// Stop reasons.
const (
	StopSuccess   = "task_success"      // the env was won, or a solution accepted
	StopEnvDone   = "env_done"          // the env ended without a win (step limit)
	StopTurns     = "max_steps"         // the turn budget ran out (MINT's name)
	StopProposals = "max_propose_steps" // every solution attempt was wrong (MINT's name)
	StopTokens    = "max_tokens"        // the token budget ran out
	StopWallTime  = "max_wall_time"     // the wall-time budget ran out
	StopStuck     = "stuck"             // the same failing action repeated
	StopError     = "error"             // the policy or the runtime failed
	StopCancelled = "cancelled"         // the context was cancelled
)

// Turn is one assistant message and what came of it.
type Turn struct {
	Index       int    `json:"turn"`
	Assistant   string `json:"assistant"`
	Action      Action `json:"action"`
	Observation string `json:"observation"`
	// Budget is the budget line that followed the observation in the
	// message to the model (empty when the episode stopped, or without BudgetLine).
	Budget   string         `json:"budget,omitempty"`
	Result   *tool.Result   `json:"result,omitempty"`
	Usage    Usage          `json:"usage"`
	Duration time.Duration  `json:"duration_ns"`
	Error    string         `json:"error,omitempty"`
	Extra    map[string]any `json:"extra,omitempty"`
}

// Transcript is the record of one episode.
type Transcript struct {
	ID         string        `json:"id"`
	Task       string        `json:"task"`
	TaskType   string        `json:"task_type,omitempty"`
	Policy     string        `json:"policy"`
	Format     Format        `json:"format"`
	Runtime    string        `json:"runtime"`
	Messages   []Message     `json:"messages"`
	Turns      []Turn        `json:"turns"`
	Success    bool          `json:"success"`
	StopReason string        `json:"stop_reason"`
	Error      string        `json:"error,omitempty"`
	Usage      Usage         `json:"usage"`
	Duration   time.Duration `json:"duration_ns"`
}

// Episode is one run of the loop: the conversation's start, what acts, and
// the budgets.
type Episode struct {
	ID       string
	System   string // system prompt; may be empty (MINT puts everything in the first user message)
	Prompt   string // the first user message: instructions, tools, example, task
	Task     string
	TaskType string
	Policy   Policy
	Runtime  Runtime
	// Tools are the tools of json and text actions (code actions reach them
	// through the Runtime).
	Tools *tool.Registry
	// Env, when set, ends the episode when done and decides success.
	Env     Env
	Checker Checker
	Config  Config
	// Harness parses replies and renders answers; nil is MINT's
	// (MINTHarness with Config).
	Harness task.Harness
	// OnTurn, when set, is called after every turn (for live display).
	OnTurn func(Turn)
	// Names for the transcript.
	PolicyName, RuntimeName string
}

// Run plays the episode to its end and returns its transcript. Failures of
// the policy or the runtime end the episode with StopError and the error in
// the transcript; the returned error is non-nil only for a cancelled context.
func (ep *Episode) Run(ctx context.Context) (*Transcript, error) {
	cfg := ep.Config.withDefaults()
	start := time.Now()
	tr := &Transcript{ID: ep.ID, Task: ep.Task, TaskType: ep.TaskType, Policy: ep.PolicyName, Format: cfg.Format, Runtime: ep.RuntimeName}
	if ep.System != "" {
		tr.Messages = append(tr.Messages, Message{Role: System, Content: ep.System})
	}
	tr.Messages = append(tr.Messages, Message{Role: User, Content: ep.Prompt})
	if cfg.WallTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.WallTime)
		defer cancel()
	}
	h := ep.Harness
	if h == nil {
		h = MINTHarness(cfg)
	}
	proposalsLeft := cfg.MaxProposals
	var lastFail string
	repeats, executions := 0, 0
	stop := ""
	for turn := 0; turn < cfg.MaxTurns && stop == ""; turn++ {
		if err := ctx.Err(); err != nil {
			stop = stopFor(err)
			break
		}
		t := Turn{Index: turn}
		tStart := time.Now()
		msg, usage, err := ep.Policy.Next(ctx, tr.Messages)
		t.Usage = usage
		tr.Usage.PromptTokens += usage.PromptTokens
		tr.Usage.CompletionTokens += usage.CompletionTokens
		if err != nil {
			if ctx.Err() != nil {
				stop = stopFor(ctx.Err())
			} else {
				stop = StopError
				tr.Error = fmt.Sprintf("policy: %v", err)
			}
			t.Error = err.Error()
			t.Duration = time.Since(tStart)
			tr.Turns = append(tr.Turns, t)
			break
		}
		msg.Role = Assistant
		tr.Messages = append(tr.Messages, msg)
		t.Assistant = msg.Content
		t.Action = h.Parse(msg.Content, cfg.Format)

		var obs string
		failed := false
		switch t.Action.Kind {
		case ActExecute:
			res, err := ep.execute(ctx, t.Action, cfg)
			if err != nil {
				if ctx.Err() != nil {
					stop = stopFor(ctx.Err())
				} else {
					stop = StopError
					tr.Error = fmt.Sprintf("runtime: %v", err)
				}
				t.Error = err.Error()
			}
			t.Result = res
			if res != nil {
				executions++
				obs = h.Observe(t.Action, *res, executions)
				failed = res.Err != nil
			}
		case ActSolution:
			proposalsLeft--
			if t.Action.Problem != "" {
				// A proposal without an answer (MINT: "<solution>"
				// without its closing tag): it counts, and is not
				// understood.
				failed = true
				obs = invalidActionText(cfg.Format)
				if proposalsLeft <= 0 {
					stop = StopProposals
				}
				break
			}
			ok := false
			switch {
			case ep.Checker != nil:
				ok = ep.Checker(t.Action.Solution)
			case ep.Env != nil:
				ok = ep.Env.Won()
			}
			obs = h.Verdict(ok)
			if ok {
				stop = StopSuccess
			} else {
				if proposalsLeft <= 0 {
					stop = StopProposals
				}
			}
		default:
			failed = true
			obs = h.Invalid(t.Action, cfg.Format)
		}
		obs, _ = tool.Truncate(obs, cfg.MaxObservation)

		if ep.Env != nil && stop == "" {
			if ep.Env.Won() {
				stop = StopSuccess
			} else if ep.Env.Done() {
				stop = StopEnvDone
			}
		}
		if cfg.MaxTokens > 0 && tr.Usage.PromptTokens+tr.Usage.CompletionTokens >= cfg.MaxTokens && stop == "" {
			stop = StopTokens
		}
		if failed {
			key := t.Action.Code + t.Action.Command + obs
			if key == lastFail {
				repeats++
			} else {
				lastFail, repeats = key, 1
			}
			if cfg.StuckAfter > 0 && repeats >= cfg.StuckAfter && stop == "" {
				stop = StopStuck
			}
		} else {
			lastFail, repeats = "", 0
		}
		t.Observation = obs
		var left *task.Limits
		if stop == "" {
			left = &task.Limits{MaxTurns: cfg.MaxTurns - turn - 1, MaxProposals: proposalsLeft}
		}
		var content string
		content, t.Budget = h.Message(obs, left)
		tr.Messages = append(tr.Messages, Message{Role: User, Content: content})
		t.Duration = time.Since(tStart)
		tr.Turns = append(tr.Turns, t)
		if ep.OnTurn != nil {
			ep.OnTurn(t)
		}
	}
	if stop == "" {
		stop = StopTurns
		if ep.Env != nil && ep.Env.Won() {
			stop = StopSuccess
		}
	}
	tr.StopReason = stop
	tr.Success = stop == StopSuccess
	tr.Duration = time.Since(start)
	if stop == StopCancelled {
		return tr, ctx.Err()
	}
	return tr, nil
}

func stopFor(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return StopWallTime
	}
	return StopCancelled
}

// execute runs an action: code in the runtime; json and text actions as one
// call of the registry's tool.
func (ep *Episode) execute(ctx context.Context, a Action, cfg Config) (*tool.Result, error) {
	if cfg.Format == Code {
		if ep.Runtime == nil {
			return nil, errors.New("no runtime for code actions")
		}
		res, err := ep.Runtime.Exec(ctx, a.Code)
		if err != nil {
			return nil, err
		}
		return &res, nil
	}
	if ep.Tools == nil {
		return nil, errors.New("no tools for json/text actions")
	}
	start := time.Now()
	name, pos, named := a.Tool, a.Positional, a.Args
	if name == "" && cfg.Format == Text {
		name, named = "step", map[string]any{"command": a.Command}
	}
	var out any
	var err error
	if pos == nil {
		// A call by names (a JSON object, a function call): a variadic
		// parameter comes as a list under its name.
		out, err = ep.Tools.CallNamed(ctx, name, named)
	} else {
		out, err = ep.Tools.Call(ctx, name, pos, named)
	}
	res := &tool.Result{Duration: time.Since(start)}
	if err != nil {
		typ := tool.Exception(err) // as the runtimes name it
		res.Err = &tool.CodeError{Type: typ, Message: err.Error(), Traceback: typ + ": " + err.Error(), Cause: err}
		return res, nil
	}
	if s, ok := out.(string); ok {
		res.Stdout = s
	} else if out != nil {
		res.Stdout = tool.Repr(out)
	}
	return res, nil
}

// renderCall writes a tool call as a line of code, for the record.
func renderCall(name string, args map[string]any) string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tool.Repr(args[k])
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}
