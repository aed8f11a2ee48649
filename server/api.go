package server

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// SessionInfo describes a session (POST /v1/sessions, GET /v1/sessions/{id}).
type SessionInfo struct {
	ID      string  `json:"id"`
	Runtime string  `json:"runtime"`
	Env     EnvInfo `json:"env"`
	// Devices are the devices the session's code may use.
	Devices []string `json:"devices,omitempty"`
	// Observation is the opening observation (creation only).
	Observation string    `json:"observation,omitempty"`
	Created     time.Time `json:"created"`
	// IdleTimeoutS is how long the session lives without requests.
	IdleTimeoutS float64 `json:"idle_timeout_s"`
	EpisodeState
}

// EpisodeState is the environment's state after a request.
type EpisodeState struct {
	Done   bool    `json:"done"`
	Won    bool    `json:"won"`
	Reward float64 `json:"reward"`
	Steps  int     `json:"steps"`
}

func episode(st status) EpisodeState {
	return EpisodeState{Done: st.Done, Won: st.Won, Reward: st.Reward, Steps: st.Steps}
}

func (s *Server) info(ss *session) SessionInfo {
	return SessionInfo{ID: ss.id, Runtime: ss.runtime, Env: ss.env.Info(), Devices: ss.devices, Created: ss.created.UTC(),
		IdleTimeoutS: s.cfg.IdleTimeout.Seconds()}
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var req createRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ss, obs, err := s.createSession(r.Context(), tokenOf(r.Context()), req)
	if err != nil {
		return err
	}
	in := s.info(ss)
	in.Observation = obs
	in.EpisodeState = episode(ss.env.Status())
	w.Header().Set("Location", "/v1/sessions/"+ss.id)
	writeJSON(w, http.StatusCreated, in)
	return nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) error {
	owner := ownerOf(r.Context())
	s.mu.Lock()
	out := []SessionInfo{}
	for _, ss := range s.sessions {
		if ss.owner == owner {
			out = append(out, s.info(ss))
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	in := s.info(ss)
	if ss.lock.TryLock() { // the environment is not read during an action
		in.EpisodeState = episode(ss.env.Status())
		ss.lock.Unlock()
	} else {
		return errBusy(ss.id)
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.deleteSession(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// execRequest is the body of POST /v1/sessions/{id}/exec.
type execRequest struct {
	Code string `json:"code"`
}

// Exception is the error that ended a code action.
type Exception struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Line      int    `json:"line,omitempty"`
	Source    string `json:"source,omitempty"`
	Traceback string `json:"traceback"`
}

// ExecResult is the answer to a code action.
type ExecResult struct {
	// Observation is the text a model reads next: stdout, the value, the
	// error report.
	Observation string     `json:"observation"`
	Stdout      string     `json:"stdout"`
	Value       string     `json:"value,omitempty"`
	Exception   *Exception `json:"exception,omitempty"`
	Truncated   bool       `json:"truncated"`
	Restarted   bool       `json:"restarted"`
	DurationMS  float64    `json:"duration_ms"`
	EpisodeState
}

func (s *Server) handleExec(w http.ResponseWriter, r *http.Request) error {
	if wantsStream(r) {
		return s.handleExecStream(w, r) // stream.go
	}
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req execRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	res, err := s.exec(r.Context(), ss, req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// exec runs one code action in ss.
func (s *Server) exec(ctx context.Context, ss *session, code string) (ExecResult, error) {
	if ss.rt == nil {
		return ExecResult{}, errorf(http.StatusBadRequest, "no_runtime", "session %s has no runtime (created with runtime \"none\"): use /step", ss.id)
	}
	if len(code) > s.cfg.MaxCode {
		return ExecResult{}, errorf(http.StatusRequestEntityTooLarge, "code_too_large", "%s", tool.CodeSizeError(int64(len(code)), s.cfg.MaxCode).Message)
	}
	actx, end, err := s.begin(ctx, ss, "exec")
	if err != nil {
		return ExecResult{}, err
	}
	actionStarted(ctx) // the stream's header (stream.go)
	actx = tool.WithSession(actx, ss.id)
	if ss.devices != nil {
		actx = tool.WithCode(actx, code) // the audit log's code_sha256
	}
	res, err := ss.rt.Exec(actx, code)
	outcome := "ok"
	switch {
	case err != nil:
		outcome = "failed"
	case actx.Err() != nil:
		outcome = "cancelled"
	case res.Err != nil && res.Err.Type == "TimeoutError":
		outcome = "timeout"
	case res.Err != nil:
		outcome = "error"
	}
	st := ss.env.Status()
	end(outcome)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return ExecResult{}, errorf(http.StatusServiceUnavailable, "cancelled", "the action was cancelled")
		}
		return ExecResult{}, errorf(http.StatusServiceUnavailable, "runtime_failed", "the %s runtime cannot run code: %v", ss.runtime, err)
	}
	out := ExecResult{Observation: res.Observation(), Stdout: res.Stdout, Value: res.Value, Truncated: res.Truncated,
		Restarted: res.Restarted, DurationMS: float64(res.Duration) / 1e6, EpisodeState: episode(st)}
	if e := res.Err; e != nil {
		out.Exception = &Exception{Type: e.Type, Message: e.Message, Line: e.Line, Source: e.Source, Traceback: e.Traceback}
	}
	return out, nil
}

// stepRequest is the body of POST /v1/sessions/{id}/step and of one step
// of a batch.
type stepRequest struct {
	Command    string `json:"command"`
	Admissible bool   `json:"admissible,omitempty"`
}

// StepResult is the answer to a plain environment step or a reset.
type StepResult struct {
	Observation string   `json:"observation"`
	Admissible  []string `json:"admissible,omitempty"`
	EpisodeState
}

func (s *Server) handleStep(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	req, err := s.decodeStep(w, r)
	if err != nil {
		return err
	}
	res, err := s.step(r.Context(), ss, req.Command, req.Admissible)
	if err != nil {
		return err
	}
	s.writeStepResult(w, &res)
	return nil
}

// maxCommand bounds a plain command's length.
const maxCommand = 1024

func (s *Server) step(ctx context.Context, ss *session, cmd string, admissible bool) (StepResult, error) {
	if len(cmd) > maxCommand {
		return StepResult{}, errorf(http.StatusBadRequest, "command_too_long", "the command is %d bytes, over the limit of %d", len(cmd), maxCommand)
	}
	start, err := s.beginQuick(ss, "step")
	if err != nil {
		return StepResult{}, err
	}
	obs, _, _ := ss.env.Step(cmd)
	res := StepResult{Observation: obs, EpisodeState: episode(ss.env.Status())}
	if admissible {
		res.Admissible = ss.env.Admissible()
	}
	s.endQuick(ss, "step", "ok", start)
	return res, nil
}

// resetRequest is the body of POST /v1/sessions/{id}/reset (optional).
type resetRequest struct {
	Admissible bool `json:"admissible,omitempty"`
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req resetRequest
	if r.ContentLength != 0 {
		if err := s.decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	start, err := s.beginQuick(ss, "reset")
	if err != nil {
		return err
	}
	res := StepResult{Observation: ss.env.Reset(), EpisodeState: episode(ss.env.Status())}
	if req.Admissible {
		res.Admissible = ss.env.Admissible()
	}
	s.endQuick(ss, "reset", "ok", start)
	s.writeStepResult(w, &res)
	return nil
}

// ToolInfo describes one function a session's code can call.
type ToolInfo struct {
	Name      string         `json:"name"`
	Signature string         `json:"signature"`
	Doc       string         `json:"doc"`
	Schema    map[string]any `json:"parameters"`
}

func (s *Server) handleTools(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	reg := ss.reg
	if reg == nil {
		reg = tool.NewRegistry()
		if err := ss.env.RegisterTools(reg); err != nil {
			return err
		}
	}
	tl := toolsOf(reg)
	tl.Prompt = promptDocs(ss.env, reg) // m3.go
	writeJSON(w, http.StatusOK, tl)
	return nil
}

// ToolList is the answer of GET /v1/sessions/{id}/tools.
type ToolList struct {
	Tools []ToolInfo `json:"tools"`
	// Prompt is the listing a prompt shows: every tool's help.
	Prompt string `json:"prompt"`
}

func toolsOf(reg *tool.Registry) ToolList {
	out := ToolList{Tools: []ToolInfo{}, Prompt: reg.PromptDocs()}
	for _, t := range reg.Tools() {
		out.Tools = append(out.Tools, ToolInfo{Name: t.Name, Signature: t.Signature(), Doc: t.Doc, Schema: t.JSONSchema()})
	}
	return out
}

// batchRequest is the body of POST /v1/batch/step.
type batchRequest struct {
	Steps []struct {
		Session string `json:"session"`
		Command string `json:"command"`
	} `json:"steps"`
	Admissible bool `json:"admissible,omitempty"`
}

// BatchItem is the result of one step of a batch: a step's result or an
// error.
type BatchItem struct {
	Session string `json:"session"`
	*StepResult
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) error {
	var req batchRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Steps) > s.cfg.MaxBatch {
		return errorf(http.StatusRequestEntityTooLarge, "batch_too_large", "the batch has %d steps, over the limit of %d", len(req.Steps), s.cfg.MaxBatch)
	}
	out := make([]BatchItem, len(req.Steps))
	for i, st := range req.Steps {
		out[i].Session = st.Session
		ss, err := s.lookup(r.Context(), st.Session)
		var res StepResult
		if err == nil {
			res, err = s.step(r.Context(), ss, st.Command, req.Admissible)
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				return err
			}
			out[i].Error = &struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}{ae.Code, ae.Message}
			continue
		}
		out[i].StepResult = &res
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}
