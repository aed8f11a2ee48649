package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/tool"
)

// Defaults of Config.
const (
	DefaultMaxSessions   = 10000
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultActionTimeout = 10 * time.Second
	DefaultMaxBody       = 4 << 20
	DefaultMaxBatch      = 1024
)

// Config configures a Server. Zero values select the defaults.
type Config struct {
	// Tokens, when set, are the bearer tokens clients must present; nil
	// lets every request in (the command refuses that on a non-loopback
	// address).
	Tokens *Tokens
	// MaxSessions bounds the sessions alive at once (default 10,000).
	MaxSessions int
	// IdleTimeout ends a session no request has used for this long
	// (default 30 min).
	IdleTimeout time.Duration
	// ActionTimeout bounds the wall time of one code action (default 10 s).
	ActionTimeout time.Duration
	// MaxBody bounds a request body in bytes (default 4 MiB); MaxCode the
	// code of one action (default 1 MiB); MaxBatch the steps of one batch
	// request (default 1024).
	MaxBody  int64
	MaxCode  int
	MaxBatch int
	// NoIsolate runs Starlark sessions in the server's process instead of
	// one worker process each (faster to start and lighter, but code that
	// escapes the sandbox's limits takes the server down with it).
	NoIsolate bool
	// WorkerCommand and WorkerEnv start Starlark workers (default: this
	// executable with isolate.WorkerArg; see isolate.Options).
	WorkerCommand []string
	WorkerEnv     []string
	// Python is the interpreter of Python sessions (default $GANTRY_PYTHON,
	// else python3); PythonNoIsolation runs its workers without bubblewrap.
	Python            string
	PythonNoIsolation bool
	// PythonPool is the number of Python workers kept started and waiting
	// for a session, so that creating one takes milliseconds (0: none).
	PythonPool int
	// MCP chooses the session each MCP client gets.
	MCP MCPConfig
	// Devices, when set, are the devices sessions may use (see
	// docs/server.md#devices); the server does not close the hub.
	Devices *devices.Hub
	// Logger receives the structured log (default: discard).
	Logger *slog.Logger
	// Version is reported by MCP and /healthz.
	Version string

	// Test hooks: now replaces the clock; onAction hears of every action's
	// start (outcome "") and end; onPoolFill of every worker the Python
	// pool adds.
	now        func() time.Time
	onAction   func(session, kind, outcome string)
	onPoolFill func()
}

// Server serves the sessions API, MCP and the operational endpoints. Its
// handler is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	envs    *envFactory
	metrics *metrics
	pool    *pyPool
	handler http.Handler

	draining atomic.Bool
	// stopActions is cancelled to stop every running action (drain past
	// its grace period).
	stopActions context.Context
	cancelAll   context.CancelFunc

	// ids makes request ids: a random prefix per server and a counter.
	ids requestIDs
	// bufs holds the buffers of plain steps' bodies and answers.
	bufs bufferPool

	// mu guards the session table; lookups (every request) take it for
	// reading only.
	mu       sync.RWMutex
	sessions map[string]*session
	perToken map[string]int       // sessions per owner, reserved ones included
	reserved int                  // sessions being created
	expired  map[string]time.Time // ids expired recently, to answer 410
	closed   bool

	mcp *mcpState
	dev *deviceState
}

// New makes a server. Close releases its sessions and workers.
func New(cfg Config) (*Server, error) {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = DefaultActionTimeout
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxCode <= 0 {
		cfg.MaxCode = tool.DefaultMaxCodeSize
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.MCP.Runtime == "" {
		cfg.MCP.Runtime = "starlark"
	}
	if cfg.MCP.Env.Kind == "" && len(cfg.MCP.Devices) > 0 {
		cfg.MCP.Env.Kind = "none"
	}
	if cfg.MCP.Env.Kind == "" {
		cfg.MCP.Env.Kind = "alfworld"
	}
	if cfg.MCP.Env.Kind == envM3 {
		if _, err := findM3Task(cfg.MCP.Env.Task); err != nil { // m3.go
			return nil, fmt.Errorf("MCP sessions: %w", err)
		}
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		envs:     newEnvFactory(),
		metrics:  newMetrics(),
		sessions: make(map[string]*session),
		perToken: make(map[string]int),
		expired:  make(map[string]time.Time),
	}
	s.ids.prefix = newID("r-") + "-"
	s.stopActions, s.cancelAll = context.WithCancel(context.Background())
	s.dev = newDeviceState(cfg.Devices, s.metrics.reg)
	if cfg.PythonPool > 0 {
		p, err := newPyPool(s, cfg.PythonPool)
		if err != nil {
			return nil, err
		}
		s.pool = p
	}
	s.mcp = newMCPState(s)
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Gatherer exposes the server's metrics (for tests and embedding).
func (s *Server) Gatherer() prometheus.Gatherer { return s.metrics.reg }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.authenticated(func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				s.writeError(w, r, err)
			}
		}))
	}
	api("POST /v1/sessions", s.handleCreate)
	api("GET /v1/sessions", s.handleList)
	api("GET /v1/sessions/{id}", s.handleGet)
	api("DELETE /v1/sessions/{id}", s.handleDelete)
	api("POST /v1/sessions/{id}/exec", s.handleExec)
	api("POST /v1/sessions/{id}/step", s.handleStep)
	api("POST /v1/sessions/{id}/reset", s.handleReset)
	api("GET /v1/sessions/{id}/tools", s.handleTools)
	api("POST /v1/batch/step", s.handleBatch)
	api("POST /v1/batch/reset", s.handleBatchReset)      // batch_reset.go
	api("POST /v1/sessions/{id}/answer", s.handleAnswer) // m3.go
	api("POST /v1/estop", s.handleEstop)
	s.deviceRoutes(api)
	mux.Handle("/mcp", s.authenticated(s.mcp.httpHandler().ServeHTTP))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDoc)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.cfg.Version})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "sessions": s.sessionCount()})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", s.authenticated(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "not_found", "no such endpoint: %s %s (see /openapi.json)", r.Method, r.URL.Path))
	}))
	// A web page the user visits must not drive a server on their machine:
	// cross-origin browser requests that could change state are refused.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusForbidden, "cross_origin", "cross-origin browser requests are refused"))
	}))
	return s.logged(cop.Handler(mux))
}

// BeginDrain makes the server refuse new sessions and report not ready;
// running actions go on.
func (s *Server) BeginDrain() { s.draining.Store(true) }

// StopActions cancels every running action: their requests end with the
// interrupted action's observation.
func (s *Server) StopActions() { s.cancelAll() }

// Close ends every session, stopping its running action, and the Python
// pool.
func (s *Server) Close() error {
	s.draining.Store(true)
	s.closeDevices()
	s.cancelAll()
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for id, sess := range s.sessions {
		all = append(all, sess)
		delete(s.sessions, id)
	}
	s.perToken = map[string]int{}
	s.mu.Unlock()
	var errs []error
	for _, sess := range all {
		errs = append(errs, sess.close())
		s.metrics.sessions.WithLabelValues(sess.runtime).Dec()
	}
	if s.pool != nil {
		s.pool.close()
	}
	s.mcp.close()
	return errors.Join(errs...)
}

// newID returns a fresh random session id.
func newID(prefix string) string {
	var b [15]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// requestIDs makes the ids of requests that come without one: unique per
// server (a random prefix) and cheap (a counter), not secret.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func (g *requestIDs) next() string {
	var b [48]byte
	return string(strconv.AppendUint(append(b[:0], g.prefix...), g.n.Add(1), 36))
}

// ctxKey keys the values the middleware puts in a request's context.
type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyToken
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// tokenOf is the token that authenticated the request, nil without tokens.
func tokenOf(ctx context.Context) *Token {
	t, _ := ctx.Value(keyToken).(*Token)
	return t
}

// ownerOf names a request's client for quotas and logs: the token's name,
// "" without tokens.
func ownerOf(ctx context.Context) string {
	if t := tokenOf(ctx); t != nil {
		return t.Name
	}
	return ""
}

// statusWriter records the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, write
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on (server-sent events of MCP).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logged gives every request an id (the client's X-Request-Id when it is
// short and printable, else a new one), echoes it, and logs the request
// when it ends: at level info when it failed (status 400 and up), at debug
// otherwise, so that a server answering tens of thousands of steps a
// second does not write a log line for each. Headers are not logged: the
// bearer token never is.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = s.ids.next()
		}
		w.Header()["X-Request-Id"] = []string{id}
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the mux
		if route == "" {
			route = "other"
		}
		s.metrics.request(route, sw.status).Inc()
		level := slog.LevelDebug
		if sw.status >= 400 {
			level = slog.LevelInfo
		}
		if route != "GET /metrics" && s.log.Enabled(ctx, level) {
			s.log.LogAttrs(ctx, level, "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
		}
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// authenticated checks the bearer token, when the server has tokens, and
// puts it in the request's context.
func (s *Server) authenticated(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Tokens == nil {
			next(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		const prefix = "Bearer "
		if h == "" {
			s.writeError(w, r, errorf(http.StatusUnauthorized, "no_token", "this server needs a bearer token: send \"Authorization: Bearer <token>\""))
			return
		}
		if len(h) < len(prefix) || !equalFoldASCII(h[:len(prefix)], prefix) {
			s.writeError(w, r, errorf(http.StatusUnauthorized, "bad_token", "the Authorization header is not \"Bearer <token>\""))
			return
		}
		t, ok := s.cfg.Tokens.lookup(h[len(prefix):])
		if !ok {
			s.writeError(w, r, errorf(http.StatusUnauthorized, "bad_token", "unknown bearer token"))
			return
		}
		s.log.DebugContext(r.Context(), "authenticated", "request_id", requestID(r.Context()), "token", t.Name)
		next(w, r.WithContext(context.WithValue(r.Context(), keyToken, t)))
	})
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
