package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/sandbox/isolate"
	"github.com/gantry-dev/gantry/tool"
)

// Runtimes a session can run code in; "none" makes a session for plain
// environment steps only.
var runtimeNames = []string{"starlark", "python", "none"}

// codeRuntime is a runtime session as the server uses it (sandbox.Session,
// isolate.Session, bridge.Session).
type codeRuntime interface {
	Exec(ctx context.Context, code string) (tool.Result, error)
	Close() error
}

// session is one client's environment and runtime.
type session struct {
	id      string
	owner   string
	runtime string
	created time.Time
	env     environment
	reg     *tool.Registry
	rt      codeRuntime // nil for runtime "none"
	release func()      // gives a pooled worker's binding back, if any
	devices []string    // the devices its code may use

	// lock is held by the one action running; lastUsed is the clock's
	// UnixNano of the last request.
	lock     sync.Mutex
	lastUsed atomic.Int64

	mu     sync.Mutex
	cancel context.CancelFunc // of the running action
	closed bool
}

// close ends the session's runtime and cancels its running action.
func (ss *session) close() error {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return nil
	}
	ss.closed = true
	if ss.cancel != nil {
		ss.cancel()
	}
	ss.mu.Unlock()
	var err error
	if ss.rt != nil {
		err = ss.rt.Close()
	}
	if ss.release != nil {
		ss.release()
	}
	return err
}

// stop cancels the running action, if any.
func (ss *session) stop() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cancel != nil {
		ss.cancel()
		return true
	}
	return false
}

// createRequest is the body of POST /v1/sessions.
type createRequest struct {
	Runtime string   `json:"runtime"`
	Env     EnvSpec  `json:"env"`
	Devices []string `json:"devices,omitempty"`
}

// createSession makes a session for owner (token may be nil).
func (s *Server) createSession(ctx context.Context, tok *Token, req createRequest) (*session, string, error) {
	if s.draining.Load() {
		return nil, "", errorf(http.StatusServiceUnavailable, "draining", "the server is shutting down and takes no new sessions")
	}
	if req.Runtime == "" {
		req.Runtime = "starlark"
	}
	if !slices.Contains(runtimeNames, req.Runtime) {
		return nil, "", errorf(http.StatusBadRequest, "bad_runtime", "unknown runtime %q (choose starlark, python or none)", req.Runtime)
	}
	if req.Env.Kind == "" {
		req.Env.Kind = defaultEnvKind(req)
	}
	owner := ""
	if tok != nil {
		owner = tok.Name
		if err := tok.allows(req.Runtime, req.Env.Kind); err != nil {
			return nil, "", errorf(http.StatusForbidden, "forbidden", "%v", err)
		}
	}
	devs, err := s.sessionDevices(tok, req.Devices, req.Runtime)
	if err != nil {
		return nil, "", err
	}
	// Reserve the place first, so that concurrent creations cannot pass
	// the limits together.
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, "", errorf(http.StatusServiceUnavailable, "draining", "the server is shutting down and takes no new sessions")
	case len(s.sessions)+s.reserved >= s.cfg.MaxSessions:
		s.mu.Unlock()
		return nil, "", errorf(http.StatusTooManyRequests, "too_many_sessions", "the server holds its maximum of %d sessions; delete one or wait for idle ones to expire (%s)", s.cfg.MaxSessions, s.cfg.IdleTimeout)
	case tok != nil && tok.MaxSessions > 0 && s.perToken[owner] >= tok.MaxSessions:
		s.mu.Unlock()
		return nil, "", errorf(http.StatusTooManyRequests, "quota", "token %q holds its quota of %d sessions; delete one first", owner, tok.MaxSessions)
	}
	s.perToken[owner]++
	s.reserved++
	s.mu.Unlock()
	unreserve := func(keepOwner bool) {
		s.mu.Lock()
		s.reserved--
		if !keepOwner {
			s.perToken[owner]--
		}
		s.mu.Unlock()
	}

	env, err := s.makeEnv(req.Env, devs)
	if err != nil {
		unreserve(false)
		if errors.Is(err, errBadEnv) {
			return nil, "", errorf(http.StatusBadRequest, "bad_env", "%v", err)
		}
		return nil, "", err
	}
	obs := env.Reset()
	ss := &session{id: newID("s-"), owner: owner, runtime: req.Runtime, created: s.cfg.now(), env: env, devices: devs}
	ss.lastUsed.Store(s.cfg.now().UnixNano())
	if req.Runtime != "none" {
		ss.reg = tool.NewRegistry()
		if err := env.RegisterTools(ss.reg); err != nil {
			unreserve(false)
			return nil, "", fmt.Errorf("environment tools: %w", err)
		}
		ss.reg = s.metrics.instrument(ss.reg)
		if err := s.addDeviceTools(ss.reg, tok, devs); err != nil {
			unreserve(false)
			return nil, "", err
		}
		rt, release, err := s.startRuntime(ctx, req.Runtime, env.Info().Kind, ss.reg)
		if err != nil {
			unreserve(false)
			return nil, "", errorf(http.StatusServiceUnavailable, "runtime_unavailable", "cannot start a %s runtime: %v", req.Runtime, err)
		}
		ss.rt, ss.release = rt, release
	}
	s.mu.Lock()
	s.reserved--
	if s.closed {
		s.perToken[owner]--
		s.mu.Unlock()
		ss.close()
		return nil, "", errorf(http.StatusServiceUnavailable, "draining", "the server is shutting down and takes no new sessions")
	}
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	s.metrics.sessions.WithLabelValues(ss.runtime).Inc()
	s.metrics.created.WithLabelValues(ss.runtime).Inc()
	s.log.InfoContext(ctx, "session created", "request_id", requestID(ctx), "session", ss.id, "owner", owner,
		"runtime", ss.runtime, "game", env.Info().Game)
	return ss, obs, nil
}

// startRuntime starts a code runtime with the tools of reg.
func (s *Server) startRuntime(ctx context.Context, name, envKind string, reg *tool.Registry) (codeRuntime, func(), error) {
	switch name {
	case "starlark":
		sb := sandbox.Options{Timeout: s.cfg.ActionTimeout, MaxCodeSize: s.cfg.MaxCode}
		if s.cfg.NoIsolate {
			rt, err := sandbox.New(reg, sb)
			return rt, nil, err
		}
		rt, err := isolate.New(ctx, reg, isolate.Options{Sandbox: sb, Command: s.cfg.WorkerCommand, Env: s.cfg.WorkerEnv, Logger: s.log})
		return rt, nil, err
	case "python":
		if s.pool != nil && envKind == s.pool.kind {
			if rt, release, ok := s.pool.get(reg); ok {
				return rt, release, nil
			}
		}
		rt, err := bridge.New(ctx, reg, s.bridgeOptions())
		return rt, nil, err
	}
	return nil, nil, fmt.Errorf("unknown runtime %q", name)
}

func (s *Server) bridgeOptions() bridge.Options {
	return bridge.Options{Python: s.cfg.Python, Timeout: s.cfg.ActionTimeout, MaxCode: s.cfg.MaxCode,
		NoIsolation: s.cfg.PythonNoIsolation, Logger: s.log}
}

// lookup finds a session of the request's client; an unknown id, another
// client's session and an expired one get the errors the API answers.
func (s *Server) lookup(ctx context.Context, id string) (*session, error) {
	owner := ownerOf(ctx)
	now := s.cfg.now()
	// The common case, a live session, only reads the table.
	s.mu.RLock()
	ss, ok := s.sessions[id]
	s.mu.RUnlock()
	if ok && ss.owner == owner && now.Sub(time.Unix(0, ss.lastUsed.Load())) <= s.cfg.IdleTimeout {
		ss.lastUsed.Store(now.UnixNano())
		return ss, nil
	}
	s.mu.Lock()
	ss, ok = s.sessions[id]
	if ok && now.Sub(time.Unix(0, ss.lastUsed.Load())) > s.cfg.IdleTimeout && !ss.lock.TryLock() {
		// Busy: not idle, whatever the clock says.
	} else if ok && now.Sub(time.Unix(0, ss.lastUsed.Load())) > s.cfg.IdleTimeout {
		ss.lock.Unlock()
		s.removeLocked(ss, now)
		ok = false
	}
	_, wasExpired := s.expired[id]
	s.mu.Unlock()
	if !ok || ss.owner != owner {
		if wasExpired && !ok {
			return nil, errorf(http.StatusGone, "session_expired", "session %s expired after %s without requests", id, s.cfg.IdleTimeout)
		}
		return nil, errorf(http.StatusNotFound, "unknown_session", "no session %s", id)
	}
	ss.lastUsed.Store(now.UnixNano())
	return ss, nil
}

// removeLocked takes an expired session out of the table and ends it in
// the background; s.mu is held.
func (s *Server) removeLocked(ss *session, now time.Time) {
	delete(s.sessions, ss.id)
	s.perToken[ss.owner]--
	if len(s.expired) >= 4*s.cfg.MaxSessions {
		clear(s.expired)
	}
	s.expired[ss.id] = now
	s.metrics.sessions.WithLabelValues(ss.runtime).Dec()
	s.metrics.expired.Inc()
	go ss.close()
}

// Sweep ends every session idle for longer than the idle timeout; the
// command calls it periodically. It returns how many it ended.
func (s *Server) Sweep() int {
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.sessions {
		if now.Sub(time.Unix(0, ss.lastUsed.Load())) <= s.cfg.IdleTimeout || !ss.lock.TryLock() {
			continue
		}
		ss.lock.Unlock()
		s.removeLocked(ss, now)
		n++
	}
	return n
}

// deleteSession ends a session of the request's client.
func (s *Server) deleteSession(ctx context.Context, id string) error {
	ss, err := s.lookup(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.sessions[id] != ss {
		s.mu.Unlock()
		return errorf(http.StatusNotFound, "unknown_session", "no session %s", id)
	}
	delete(s.sessions, id)
	s.perToken[ss.owner]--
	s.mu.Unlock()
	s.metrics.sessions.WithLabelValues(ss.runtime).Dec()
	return ss.close()
}

func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// errBusy is the 409 of a second action on a busy session.
func errBusy(id string) error {
	return errorf(http.StatusConflict, "session_busy", "session %s is running another action; a session runs one action at a time (wait for it, or POST /v1/estop)", id)
}

// begin takes the session's action lock and makes the action's context:
// cancelled when the client goes away, on e-stop, on drain past its grace
// period and when the session is deleted. end must be called.
func (s *Server) begin(ctx context.Context, ss *session, kind string) (context.Context, func(outcome string), error) {
	if !ss.lock.TryLock() {
		return nil, nil, errBusy(ss.id)
	}
	actx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(s.stopActions, cancel)
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		stopAfter()
		cancel()
		ss.lock.Unlock()
		return nil, nil, errorf(http.StatusNotFound, "unknown_session", "no session %s (deleted)", ss.id)
	}
	ss.cancel = cancel
	ss.mu.Unlock()
	if s.cfg.onAction != nil {
		s.cfg.onAction(ss.id, kind, "")
	}
	start := time.Now()
	end := func(outcome string) {
		m := s.metrics.action(ss.runtime, kind, outcome)
		m.count.Inc()
		m.latency.Observe(time.Since(start).Seconds())
		ss.mu.Lock()
		ss.cancel = nil
		ss.mu.Unlock()
		stopAfter()
		cancel()
		ss.lastUsed.Store(s.cfg.now().UnixNano())
		ss.lock.Unlock()
		if s.cfg.onAction != nil {
			s.cfg.onAction(ss.id, kind, outcome)
		}
	}
	return actx, end, nil
}

// beginQuick takes the session's action lock for an action that takes
// microseconds and cannot block (a plain step, a reset): unlike begin it
// makes no context, as there is nothing to cancel. endQuick must be
// called with the time beginQuick returned.
func (s *Server) beginQuick(ss *session, kind string) (time.Time, error) {
	if !ss.lock.TryLock() {
		return time.Time{}, errBusy(ss.id)
	}
	ss.mu.Lock()
	closed := ss.closed
	ss.mu.Unlock()
	if closed {
		ss.lock.Unlock()
		return time.Time{}, errorf(http.StatusNotFound, "unknown_session", "no session %s (deleted)", ss.id)
	}
	if s.cfg.onAction != nil {
		s.cfg.onAction(ss.id, kind, "")
	}
	return time.Now(), nil
}

// endQuick ends an action beginQuick began.
func (s *Server) endQuick(ss *session, kind, outcome string, start time.Time) {
	m := s.metrics.action(ss.runtime, kind, outcome)
	m.count.Inc()
	m.latency.Observe(time.Since(start).Seconds())
	ss.lastUsed.Store(s.cfg.now().UnixNano())
	ss.lock.Unlock()
	if s.cfg.onAction != nil {
		s.cfg.onAction(ss.id, kind, outcome)
	}
}

// ownedSessions returns the owner's sessions (a snapshot).
func (s *Server) ownedSessions(owner string) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*session
	for _, ss := range s.sessions {
		if ss.owner == owner {
			all = append(all, ss)
		}
	}
	return all
}

// estop cancels every running action of the owner's sessions (all
// sessions for a server without tokens) and returns how many it stopped.
func (s *Server) estop(owner string) int {
	n := 0
	for _, ss := range s.ownedSessions(owner) {
		if ss.stop() {
			n++
		}
	}
	return n
}
