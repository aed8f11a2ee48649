package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gantry-dev/gantry/m3tooleval"
	"github.com/gantry-dev/gantry/tool"
)

// envM3 is the environment kind of M3ToolEval sessions.
const envM3 = "m3tooleval"

// findM3Task finds an M3ToolEval task by its name ("family/task") or by the
// last part of one task's name, as gantry run --task does.
func findM3Task(name string) (m3tooleval.Task, error) {
	if name == "" {
		return m3tooleval.Task{}, fmt.Errorf("%w: an m3tooleval environment needs \"task\" (a name such as travel_itinerary_planning/plan_trip_to_0)", errBadEnv)
	}
	if t, ok := m3tooleval.Lookup(name); ok {
		return t, nil
	}
	var found []m3tooleval.Task
	for _, t := range m3tooleval.Tasks() {
		if strings.HasSuffix(t.Name, "/"+name) {
			found = append(found, t)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return m3tooleval.Task{}, fmt.Errorf("%w: no M3ToolEval task %q (names are family/task; families: %s)", errBadEnv, name, strings.Join(m3tooleval.Families(), ", "))
}

// makeM3 makes an M3ToolEval environment.
func makeM3(spec EnvSpec) (environment, error) {
	if spec.Game != "" || spec.Seed != 0 || spec.MaxSteps != 0 {
		return nil, fmt.Errorf("%w: an m3tooleval environment takes \"task\" and \"format\", not game, seed or max_steps", errBadEnv)
	}
	t, err := findM3Task(spec.Task)
	if err != nil {
		return nil, err
	}
	f := m3tooleval.Code
	if spec.Format != "" {
		if f, err = m3tooleval.ParseFormat(spec.Format); err != nil {
			return nil, fmt.Errorf("%w: format %q (choose code, json or text)", errBadEnv, spec.Format)
		}
	}
	m := &m3Env{task: t, format: f}
	if err := m.start(); err != nil {
		return nil, err
	}
	m.tools = m.ep.CodeRegistry().Tools()
	return m, nil
}

// m3Env is one M3ToolEval task as a session's environment. Code calls the
// task's tools (the family's, as in the harness's code format; the state of
// the web browser is the episode's); /step runs a json or text action of
// the harness (a text action in the code format); /answer proposes an
// answer, checked by the harness's check. Reset starts a fresh episode:
// fresh tool state.
type m3Env struct {
	task   m3tooleval.Task
	format m3tooleval.Format
	// tools are the code's tools as the first episode registered them
	// (immutable: read without the session's lock, for their names and
	// signatures); calls go to the current episode.
	tools []*tool.Tool
	ep    *m3tooleval.Episode // replaced by Reset, under the session's lock

	answers, steps int
	done, won      bool
}

func (m *m3Env) start() error {
	ep, err := m3tooleval.NewEpisode(m.task, m.format)
	if err != nil {
		return fmt.Errorf("m3tooleval episode: %w", err)
	}
	m.ep, m.answers, m.steps, m.done, m.won = ep, 0, 0, false, false
	return nil
}

// Reset starts a new episode and returns the harness's prompt.
func (m *m3Env) Reset() string {
	if err := m.start(); err != nil {
		return err.Error() // embedded data: checked by the package's tests
	}
	return m.task.Prompt(m.format)
}

// Step runs one action of the harness's json format, or its text format
// (in the text and code formats), and returns its observation. In a
// single-tool task an action whose result is the expected output wins.
func (m *m3Env) Step(cmd string) (string, bool, bool) {
	var obs string
	if m.format == m3tooleval.JSON {
		obs = m.ep.ExecuteJSON(cmd)
	} else {
		obs = m.ep.ExecuteText(cmd)
	}
	if m.done {
		return obs, true, m.won
	}
	m.steps++
	if m.task.SingleTool && m3tooleval.CheckAnswer(m3tooleval.Str(obs), m.task.Expected) {
		m.done, m.won = true, true
	}
	if m.steps+m.answers >= m3tooleval.MaxTurns {
		m.done = true
	}
	return obs, m.done, m.won
}

// Answer checks a proposed answer with the harness's check; the
// observation is the harness's message for a wrong one ("" for a right
// one). The episode ends with a correct answer or after MaxTurns actions
// and answers; answers after the end are checked but change nothing.
func (m *m3Env) Answer(answer string) (correct bool, obs string) {
	correct = m3tooleval.CheckAnswer(m3tooleval.Str(answer), m.task.Expected)
	if !correct {
		obs = m3tooleval.MsgWrongAnswer
	}
	if m.done {
		return correct, obs
	}
	m.answers++
	if correct {
		m.done, m.won = true, true
	}
	if m.steps+m.answers >= m3tooleval.MaxTurns {
		m.done = true
	}
	return correct, obs
}

func (m *m3Env) Admissible() []string { return nil }

func (m *m3Env) Status() status {
	st := status{Done: m.done, Won: m.won, Steps: m.steps + m.answers}
	if m.won {
		st.Reward = 1
	}
	return st
}

// RegisterTools adds the task's tools for code (the episode's
// CodeRegistry). Each call goes to the episode running at the time of the
// call, so that a reset gives the code fresh tool state.
func (m *m3Env) RegisterTools(reg *tool.Registry) error {
	for _, t := range m.tools {
		nt := *t
		name := t.Name
		nt.Fn = func(ctx context.Context, args tool.Args) (any, error) {
			cur, ok := m.ep.CodeRegistry().Lookup(name)
			if !ok {
				return nil, &tool.NotFoundError{Name: name}
			}
			return cur.Fn(ctx, args)
		}
		if err := reg.Register(nt); err != nil {
			return fmt.Errorf("m3tooleval tool %s: %w", name, err)
		}
	}
	return nil
}

func (m *m3Env) Info() EnvInfo {
	return EnvInfo{Kind: envM3, Game: m.task.Name, Task: m.task.Instruction, Format: string(m.format)}
}

// ToolDocs is the harness's own listing of the task's tools (its prompt's
// "[i] name: description" and "Signature:" lines): the signatures of the
// task, not the registry's (whose *args are 64 optional parameters).
func (m *m3Env) ToolDocs() string {
	var b strings.Builder
	for i, t := range m.task.Tools {
		fmt.Fprintf(&b, "[%d] %s: %s\n    Signature: %s\n", i+1, t.Name, t.Description, t.Signature)
	}
	return b.String()
}

// toolDocser is an environment whose prompts list its tools their own way.
type toolDocser interface{ ToolDocs() string }

// promptDocs is the listing of a session's tools a prompt shows: the
// environment's own, or the registry's help.
func promptDocs(env environment, reg *tool.Registry) string {
	if d, ok := env.(toolDocser); ok {
		return d.ToolDocs()
	}
	return reg.PromptDocs()
}

// answerer is an environment that takes proposed answers (M3ToolEval).
type answerer interface {
	Answer(answer string) (correct bool, obs string)
}

// answerRequest is the body of POST /v1/sessions/{id}/answer.
type answerRequest struct {
	Answer string `json:"answer"`
}

// AnswerResult is the harness's verdict on a proposed answer.
type AnswerResult struct {
	Correct bool `json:"correct"`
	// Observation is the harness's message for a wrong answer, "" for a
	// correct one (the harness ends the episode).
	Observation string `json:"observation"`
	EpisodeState
}

// maxAnswer bounds a proposed answer's length.
const maxAnswer = 64 << 10

func (s *Server) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req answerRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, ok := ss.env.(answerer)
	if !ok {
		return errorf(http.StatusBadRequest, "no_answer", "session %s plays %s, which takes no answers (m3tooleval sessions do)", ss.id, ss.env.Info().Kind)
	}
	if len(req.Answer) > maxAnswer {
		return errorf(http.StatusBadRequest, "answer_too_long", "the answer is %d bytes, over the limit of %d", len(req.Answer), maxAnswer)
	}
	_, end, err := s.begin(r.Context(), ss, "answer")
	if err != nil {
		return err
	}
	correct, obs := a.Answer(req.Answer)
	res := AnswerResult{Correct: correct, Observation: obs, EpisodeState: episode(ss.env.Status())}
	end("ok")
	writeJSON(w, http.StatusOK, res)
	return nil
}

// m3AnswerDescription describes the MCP answer tool of M3ToolEval sessions.
const m3AnswerDescription = "Propose the final answer to the task (only the answer, e.g. a single number). " +
	"The task's own checker says whether it is correct; a correct answer ends the episode."

// answerArgs are the arguments of the MCP answer tool.
type answerArgs struct {
	Answer string `json:"answer" jsonschema:"the answer, and nothing else"`
}

// answer is the MCP tool that proposes an answer in the MCP session's
// M3ToolEval session.
func (m *mcpState) answer(ctx context.Context, req *mcp.CallToolRequest, in answerArgs) (*mcp.CallToolResult, any, error) {
	ss, note, err := m.session(ctx, req)
	if err != nil {
		return toolError(err), nil, nil
	}
	a, ok := ss.env.(answerer)
	if !ok {
		return toolError(fmt.Errorf("this session plays %s, which takes no answers", ss.env.Info().Kind)), nil, nil
	}
	if len(in.Answer) > maxAnswer {
		return toolError(fmt.Errorf("the answer is %d bytes, over the limit of %d", len(in.Answer), maxAnswer)), nil, nil
	}
	_, end, err := m.s.begin(ctx, ss, "answer")
	if err != nil {
		return toolError(err), nil, nil
	}
	correct, obs := a.Answer(in.Answer)
	res := AnswerResult{Correct: correct, Observation: obs, EpisodeState: episode(ss.env.Status())}
	end("ok")
	text := obs
	if correct {
		text = "Correct: the task is solved."
	}
	return &mcp.CallToolResult{
		IsError:           !correct,
		Content:           []mcp.Content{&mcp.TextContent{Text: note + text}},
		StructuredContent: res,
	}, nil, nil
}
