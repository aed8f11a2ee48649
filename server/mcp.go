package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gantry-dev/gantry/tool"
)

// MCPConfig chooses the session each MCP client gets: its runtime and its
// environment. The session starts at the client's first run_code call and
// keeps its state until the MCP session ends or idles out.
type MCPConfig struct {
	Runtime string  // starlark (default) or python
	Env     EnvSpec // default: an embedded ALFWorld game at random; kind "none" with Devices
	// Devices are the devices of MCP sessions (names, or "*": all the
	// client may use); the server's Devices must be set.
	Devices []string
}

// mcpState is the MCP server and the gantry session of each MCP session.
type mcpState struct {
	s      *Server
	server *mcp.Server
	http   *mcp.StreamableHTTPHandler

	mu       sync.Mutex
	sessions map[*mcp.ServerSession]string // gantry session ids
}

// runCodeArgs are the arguments of the run_code tool.
type runCodeArgs struct {
	Code string `json:"code" jsonschema:"the code to run; variables and functions persist across calls"`
}

type noArgs struct{}

func newMCPState(s *Server) *mcpState {
	m := &mcpState{s: s, sessions: make(map[*mcp.ServerSession]string)}
	m.server = mcp.NewServer(&mcp.Implementation{Name: "gantry", Version: s.cfg.Version}, &mcp.ServerOptions{
		Instructions: "gantry runs your code in a sandboxed session whose functions act in a task environment. " +
			"Call run_code with code; it prints what you print and keeps variables across calls.",
		Logger:             s.log,
		InitializedHandler: m.initialized,
	})
	mcp.AddTool(m.server, &mcp.Tool{Name: "run_code", Description: m.runCodeDescription()}, m.runCode)
	mcp.AddTool(m.server, &mcp.Tool{Name: "reset", Description: "Restart the task environment's episode " +
		"(the code's variables are kept) and return the opening observation."}, m.reset)
	mcp.AddTool(m.server, &mcp.Tool{Name: "estop", Description: m.estopDescription()}, m.estop)
	if s.cfg.MCP.Env.Kind == envM3 {
		mcp.AddTool(m.server, &mcp.Tool{Name: "answer", Description: m3AnswerDescription}, m.answer) // m3.go
	}
	m.addDeviceResources()
	m.http = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return m.server },
		&mcp.StreamableHTTPOptions{Logger: s.log, SessionTimeout: s.cfg.IdleTimeout, MaxRequestBodyBytes: s.cfg.MaxBody})
	return m
}

func (m *mcpState) httpHandler() http.Handler { return m.http }

// runCodeDescription lists the functions the code can call, as a prompt
// lists them.
func (m *mcpState) runCodeDescription() string {
	lang := "Python (run by Starlark, a Python dialect: no classes, no imports but math, json, time, re, random)"
	if m.s.cfg.MCP.Runtime == "python" {
		lang = "Python 3 (CPython in a sandbox)"
	}
	var docs string
	if env, err := m.s.makeEnv(m.s.cfg.MCP.Env, nil); err == nil {
		reg := tool.NewRegistry()
		if env.RegisterTools(reg) == nil && m.registerDeviceTools(reg) == nil {
			docs = promptDocs(env, reg) // m3.go
		}
	}
	return fmt.Sprintf("Run %s code in this conversation's session and return what it printed, its last "+
		"expression's value and any error with its traceback. Variables, functions and imports persist across "+
		"calls. The code can call these functions:\n\n%s", lang, docs)
}

// initialized ties the end of an MCP session to the end of its gantry
// session.
func (m *mcpState) initialized(ctx context.Context, req *mcp.InitializedRequest) {
	ss := req.Session
	go func() {
		ss.Wait()
		m.forget(ss)
	}()
}

// forget ends the gantry session of an MCP session that ended.
func (m *mcpState) forget(ss *mcp.ServerSession) {
	m.mu.Lock()
	id, ok := m.sessions[ss]
	delete(m.sessions, ss)
	m.mu.Unlock()
	if ok {
		m.s.deleteOwned(id)
	}
}

// session returns the gantry session of the MCP session of req, starting it
// at the first call; note says when an earlier one was lost.
func (m *mcpState) session(ctx context.Context, req *mcp.CallToolRequest) (ss *session, note string, err error) {
	tok, err := m.s.mcpToken(req)
	if err != nil {
		return nil, "", err
	}
	if tok != nil {
		ctx = context.WithValue(ctx, keyToken, tok)
	}
	m.mu.Lock()
	id, ok := m.sessions[req.Session]
	m.mu.Unlock()
	if ok {
		ss, err := m.s.lookup(ctx, id)
		if err == nil {
			return ss, "", nil
		}
		var ae *apiError
		if errors.As(err, &ae) {
			err = errors.New(ae.Message)
		}
		note = "[The previous session ended (" + err.Error() + "); this is a new one: earlier variables are gone.]\n"
	}
	ss, _, err = m.s.createSession(ctx, tok, createRequest{Runtime: m.s.cfg.MCP.Runtime, Env: m.s.cfg.MCP.Env, Devices: m.devicesFor(tok)})
	if err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	m.sessions[req.Session] = ss.id
	m.mu.Unlock()
	return ss, note, nil
}

// mcpToken finds the token of an MCP request made over HTTP (the
// middleware checked it already); stdio has none.
func (s *Server) mcpToken(req *mcp.CallToolRequest) (*Token, error) {
	if s.cfg.Tokens == nil || req.Extra == nil || req.Extra.Header == nil {
		return nil, nil
	}
	h := req.Extra.Header.Get("Authorization")
	if len(h) > 7 {
		if t, ok := s.cfg.Tokens.lookup(h[7:]); ok {
			return t, nil
		}
	}
	return nil, errors.New("unknown bearer token")
}

// toolError is an MCP tool result reporting an error.
func toolError(err error) *mcp.CallToolResult {
	msg := err.Error()
	var ae *apiError
	if errors.As(err, &ae) {
		msg = ae.Message
	}
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}

func (m *mcpState) runCode(ctx context.Context, req *mcp.CallToolRequest, in runCodeArgs) (*mcp.CallToolResult, any, error) {
	ss, note, err := m.session(ctx, req)
	if err != nil {
		return toolError(err), nil, nil
	}
	res, err := m.s.exec(ctx, ss, in.Code)
	if err != nil {
		return toolError(err), nil, nil
	}
	var b strings.Builder
	b.WriteString(note)
	b.WriteString(res.Observation)
	if res.Done {
		fmt.Fprintf(&b, "\n[The episode is over: won=%t, reward=%g. Call reset to play again.]", res.Won, res.Reward)
	}
	return &mcp.CallToolResult{
		IsError:           res.Exception != nil,
		Content:           []mcp.Content{&mcp.TextContent{Text: b.String()}},
		StructuredContent: res,
	}, nil, nil
}

func (m *mcpState) reset(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
	ss, note, err := m.session(ctx, req)
	if err != nil {
		return toolError(err), nil, nil
	}
	_, end, err := m.s.begin(ctx, ss, "reset")
	if err != nil {
		return toolError(err), nil, nil
	}
	obs := ss.env.Reset()
	end("ok")
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: note + obs}}}, nil, nil
}

func (m *mcpState) estop(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
	tok, err := m.s.mcpToken(req)
	if err != nil {
		return toolError(err), nil, nil
	}
	owner := ""
	if tok != nil {
		owner = tok.Name
	}
	return m.estopResult(ctx, tok, owner), nil, nil
}

// ServeStdio serves MCP over standard input and output until the client
// closes it or ctx ends.
func (s *Server) ServeStdio(ctx context.Context, t mcp.Transport) error {
	if t == nil {
		t = &mcp.StdioTransport{}
	}
	return s.mcp.server.Run(ctx, t)
}

// close ends every MCP session (their event streams with them).
func (m *mcpState) close() {
	var all []*mcp.ServerSession
	for ss := range m.server.Sessions() {
		all = append(all, ss)
	}
	for _, ss := range all {
		ss.Close()
	}
	m.mu.Lock()
	clear(m.sessions)
	m.mu.Unlock()
}

// deleteOwned ends a session whatever its owner (an MCP session's end).
func (s *Server) deleteOwned(id string) {
	s.mu.Lock()
	ss, ok := s.sessions[id]
	if ok {
		delete(s.sessions, id)
		s.perToken[ss.owner]--
	}
	s.mu.Unlock()
	if ok {
		s.metrics.sessions.WithLabelValues(ss.runtime).Dec()
		ss.close()
	}
}
