// Package m3task is M3ToolEval (package m3tooleval) as a task the agent
// loop plays: one Episode per task and format, with the task's tools, the
// harness's prompt, its Harness (post-processing, parsing, the messages of
// invalid replies, the observations and the answer check, the single-tool
// rule, 10 turns) and its expert.
//
// The loop stores the assistant's reply as the policy wrote it; the
// harness keeps the post-processed reply in the conversation. Wrap the
// policy with Postprocessing (a model's; the expert's replies are already
// clean) to make the conversation the harness's, byte for byte.
package m3task

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/gantry-dev/gantry/m3tooleval"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// ActionTool is the name of the one tool of a json or text episode's
// registry: it runs an action's text as the harness's execute_non_code
// does (json.loads, or the comma split; the tool by name; str() of the
// result, cut at 2,000 characters; the harness's failure messages).
const ActionTool = "step"

// Episode is one M3ToolEval episode: a task in a format.
type Episode struct {
	task m3tooleval.Task
	ep   *m3tooleval.Episode
	reg  *tool.Registry
	// extra is the reminder the harness adds to the next message (a reply
	// with a second Action: or Answer:).
	extra string
	won   bool
}

// Start starts an episode of t in format f with fresh tool state. With f
// empty the format is the one the first Prompt asks for (agent.NewEpisode
// asks for the prompt before the tools), so that one job of an
// evaluation serves every format of a --compare; Tools before any Prompt
// then binds the code format.
func Start(t m3tooleval.Task, f task.Format) (*Episode, error) {
	e := &Episode{task: t}
	if _, ok := m3tooleval.FamilyTools(t.Family); !ok {
		return nil, fmt.Errorf("m3tooleval: task %s: unknown family %q", t.Name, t.Family)
	}
	if f != "" {
		if err := e.bind(f); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// bind starts the m3tooleval episode in format f.
func (e *Episode) bind(f task.Format) error {
	t := e.task
	mf, err := m3tooleval.ParseFormat(string(f))
	if err != nil {
		return fmt.Errorf("m3tooleval %s: %s: %w", t.Name, f, task.ErrFormat)
	}
	ep, err := m3tooleval.NewEpisode(t, mf)
	if err != nil {
		return err
	}
	if mf == m3tooleval.Code {
		e.ep, e.reg = ep, ep.CodeRegistry()
		return nil
	}
	reg := tool.NewRegistry()
	err = reg.Register(tool.Tool{
		Name: ActionTool, Doc: "Run one " + string(f) + " action of M3ToolEval's harness (the text between Action: and End Action).",
		Params:  []tool.Param{{Name: "command", Type: tool.String, Required: true}},
		Returns: tool.String,
		Fn: func(_ context.Context, a tool.Args) (any, error) {
			if mf == m3tooleval.JSON {
				return ep.ExecuteJSON(a.String("command")), nil
			}
			return ep.ExecuteText(a.String("command")), nil
		},
	})
	if err != nil {
		return fmt.Errorf("m3tooleval %s: %w", t.Name, err)
	}
	e.ep, e.reg = ep, reg
	return nil
}

// StartNamed starts an episode of the task with the given name
// ("family/task").
func StartNamed(name string, f task.Format) (*Episode, error) {
	t, ok := m3tooleval.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("m3tooleval: no task %q", name)
	}
	return Start(t, f)
}

// Task is the episode's task.
func (e *Episode) Task() m3tooleval.Task { return e.task }

// Info names the episode: the instruction, and the family as its type.
func (e *Episode) Info() task.Info {
	return task.Info{Task: e.task.Instruction, Type: e.task.Family}
}

// Tools are, in the code format, the task's tools for the runtime
// (m3tooleval's CodeRegistry: travel's max and min are the runtime's
// builtins); in json and text, the one ActionTool.
func (e *Episode) Tools() *tool.Registry {
	if e.reg == nil {
		if err := e.bind(task.Code); err != nil {
			return tool.NewRegistry()
		}
	}
	return e.reg
}

// Prompt is the harness's one user message, byte for byte. The harness's
// prompt does not mention the budget, so l is not used.
func (e *Episode) Prompt(f task.Format, _ task.Limits) (string, error) {
	if e.ep == nil {
		if err := e.bind(f); err != nil {
			return "", err
		}
	}
	if string(f) != string(e.ep.Format) {
		return "", fmt.Errorf("m3tooleval %s: started in %s, asked for %s: %w", e.ep.Task.Name, e.ep.Format, f, task.ErrFormat)
	}
	return e.ep.Task.Prompt(e.ep.Format), nil
}

// Check is the harness's answer check (m3tooleval.CheckAnswer, with its
// quirk) of the text after "Answer:".
func (e *Episode) Check(_ context.Context, solution string) bool {
	return m3tooleval.CheckAnswer(m3tooleval.Str(solution), e.task.Expected)
}

// Done is false: the loop's turn budget is the harness's 10 turns.
func (e *Episode) Done() bool { return false }

// Won reports that an action of a single-tool task produced the expected
// output (the harness then ends the episode as solved).
func (e *Episode) Won() bool { return e.won }

// Conventions are the harness's: 10 turns, an answer may be proposed on
// any of them, and the Harness of this episode.
func (e *Episode) Conventions() task.Conventions {
	return task.Conventions{
		Limits:  task.Limits{MaxTurns: m3tooleval.MaxTurns, MaxProposals: m3tooleval.MaxTurns},
		Harness: harness{e},
	}
}

// Close releases nothing: the episode holds no outside resources.
func (e *Episode) Close() error { return nil }

// harness is M3ToolEval's side of the conversation for one episode.
type harness struct{ e *Episode }

// Parse post-processes the reply (idempotent: an already post-processed
// reply is unchanged) and reads it as parse_generation does. An action is
// code (code format) or a call of ActionTool with the action's text.
func (h harness) Parse(reply string, f task.Format) task.Action {
	p := m3tooleval.Parse(m3tooleval.Postprocess(reply))
	h.e.extra = p.Extra
	switch p.Kind {
	case m3tooleval.KindAction:
		a := task.Action{Kind: task.ActExecute, Code: p.Content}
		if f != task.Code {
			a.Tool, a.Args = ActionTool, map[string]any{"command": p.Content}
		}
		return a
	case m3tooleval.KindAnswer:
		return task.Action{Kind: task.ActSolution, Solution: p.Content}
	}
	return task.Action{Kind: task.ActNone, Problem: p.Content}
}

// Observe renders the execution result as the model reads it: in code,
// the IPython cell's output with Out[N]: removed, through literal_eval and
// str(); in json and text, the action tool's text. It also applies the
// single-tool rule.
func (h harness) Observe(_ task.Action, res tool.Result, n int) string {
	var v m3tooleval.Value
	if h.e.ep.Format == m3tooleval.Code {
		v = m3tooleval.CodeObservation(m3tooleval.IPythonOutput(res, n))
	} else {
		s := res.Stdout
		if res.Err != nil { // not raised by ActionTool; kept visible
			s = res.Err.Report()
		}
		v = m3tooleval.Str(s)
	}
	if h.e.ep.Task.SingleTool && m3tooleval.CheckAnswer(v, h.e.ep.Task.Expected) {
		h.e.won = true
	}
	return h.withExtra(m3tooleval.StrOf(v))
}

// Invalid is the harness's message for a reply with neither or both
// markers.
func (h harness) Invalid(a task.Action, _ task.Format) string { return a.Problem }

// Verdict: nothing follows a correct answer (the harness ends the
// episode); a wrong one gets the harness's message.
func (h harness) Verdict(correct bool) string {
	if correct {
		return ""
	}
	return h.withExtra(m3tooleval.MsgWrongAnswer)
}

// Message is the observation alone: the harness shows no budget.
func (h harness) Message(obs string, _ *task.Limits) (string, string) { return obs, "" }

func (h harness) withExtra(s string) string {
	if h.e.extra != "" {
		s += m3tooleval.MsgExtraReminder + h.e.extra
	}
	return s
}

// Postprocessing wraps a policy so that its replies are post-processed as
// the harness does before the conversation keeps them.
func Postprocessing(p task.Policy) task.Policy { return postprocessing{p} }

type postprocessing struct{ p task.Policy }

func (pp postprocessing) Next(ctx context.Context, conv []task.Message) (task.Message, task.Usage, error) {
	m, u, err := pp.p.Next(ctx, conv)
	if err == nil {
		m.Content = m3tooleval.Postprocess(m.Content)
	}
	return m, u, err
}

// Expert is the task's built-in policy. In code: the expert program as
// one action, then what it printed as the answer. In json and text: the
// program's tool calls, one action each, then the same answer; when the
// format cannot write a call, or changes a call's result, the expert says
// so in a Thought and answers "not expressible" (scored as lost).
func (e *Episode) Expert(f task.Format) (task.Policy, error) {
	t := e.task
	prog, err := m3tooleval.ExpertProgram(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", task.ErrNoExpert, err)
	}
	if f == task.Code {
		return &codeExpert{program: prog}, nil
	}
	plan, err := m3tooleval.NewExpertPlan(context.Background(), t, starlarkRunner)
	if err != nil {
		return nil, fmt.Errorf("m3tooleval %s: the expert's plan: %w", t.Name, err)
	}
	x := &planExpert{format: f, plan: plan}
	for _, c := range plan.Calls {
		var action string
		if f == task.JSON {
			action, err = c.ActionJSON()
		} else {
			action, err = c.ActionText()
		}
		if err != nil {
			x.giveUp = fmt.Sprintf("the %s format cannot express the call %s: %v", f, c.Tool, err)
			break
		}
		x.actions = append(x.actions, action)
	}
	return x, nil
}

func starlarkRunner(reg *tool.Registry) (m3tooleval.CodeRunner, func(), error) {
	s, err := sandbox.New(reg, sandbox.Options{})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

// assistantTurns counts the assistant messages of a conversation.
func assistantTurns(conv []task.Message) int {
	n := 0
	for _, m := range conv {
		if m.Role == task.Assistant {
			n++
		}
	}
	return n
}

func lastUser(conv []task.Message) string {
	for i := len(conv) - 1; i >= 0; i-- {
		if conv[i].Role == task.User {
			return conv[i].Content
		}
	}
	return ""
}

// codeExpert acts with the program, then answers with its observation.
type codeExpert struct{ program string }

func (x *codeExpert) Next(_ context.Context, conv []task.Message) (task.Message, task.Usage, error) {
	turn := assistantTurns(conv)
	return task.Message{Role: task.Assistant, Content: m3tooleval.ExpertReply(x.program, lastUser(conv), turn)}, task.Usage{}, nil
}

// notExpressible is the expert's answer when the format cannot carry its
// plan.
const notExpressible = "not expressible"

// markerFree keeps the harness's markers out of the expert's thought.
var markerFree = strings.NewReplacer("Action:", "Action", "Answer:", "Answer", "End Action", "End-Action", "Thought:", "Thought")

// planExpert plays the plan's calls in json or text, then its answer.
type planExpert struct {
	format  task.Format
	plan    m3tooleval.ExpertPlan
	actions []string
	giveUp  string
}

func (x *planExpert) Next(_ context.Context, conv []task.Message) (task.Message, task.Usage, error) {
	turn := assistantTurns(conv)
	reply := func(s string) (task.Message, task.Usage, error) {
		return task.Message{Role: task.Assistant, Content: s}, task.Usage{}, nil
	}
	if x.giveUp == "" && turn > 0 && turn <= len(x.actions) {
		// The observation of the previous call must be the program's.
		want := x.plan.Calls[turn-1].Observation
		if got := lastUser(conv); got != want {
			x.giveUp = fmt.Sprintf("the %s format changed the result of %s to %s", x.format, x.plan.Calls[turn-1].Tool, m3tooleval.Repr(m3tooleval.Str(got)))
		}
	}
	if x.giveUp != "" {
		return reply("Thought: " + markerFree.Replace(x.giveUp) + ".\nAnswer: " + notExpressible)
	}
	if turn < len(x.actions) {
		return reply("Action: " + x.actions[turn] + " End Action")
	}
	return reply("Answer: " + x.plan.Answer)
}

// Sources are what the prompts are made of, for the run identity's
// prompt hash: every task's prompt in every format, one file per format
// (prompts/code.txt, ...).
func Sources() fs.FS {
	m := fstest.MapFS{}
	for _, f := range m3tooleval.Formats() {
		var b strings.Builder
		for _, t := range m3tooleval.Tasks() {
			b.WriteString(t.Name + "\n" + t.Prompt(f) + "\n\x00\n")
		}
		m["prompts/"+string(f)+".txt"] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return m
}

// paper is the CodeAct paper's M3ToolEval result (Table 3) for
// PaperModel, per format.
var paper = map[task.Format][2]float64{task.Code: {0.744, 5.5}, task.JSON: {0.524, 7.6}, task.Text: {0.537, 7.7}}

// PaperModel is the model of the paper's figures.
const PaperModel = "gpt-4-1106-preview"

// Paper returns the paper's success rate and average turns of
// PaperModel in format f.
func Paper(f task.Format) (successRate, avgTurns float64, ok bool) {
	p, ok := paper[f]
	return p[0], p[1], ok
}
