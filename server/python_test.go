package server

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// python returns the interpreter for Python sessions, skipping (failing
// under scripts/test) when it or bubblewrap is missing.
func python(t *testing.T) string {
	t.Helper()
	testenv.LookPath(t, "bwrap")
	py, err := bridge.ResolvePython(testenv.Python(t))
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	return py
}

// TestPythonSession runs code in a Python session, cold and from the warm
// pool: the pooled worker's tools act on the session's own game.
func TestPythonSession(t *testing.T) {
	py := python(t)
	tests := []struct {
		name string
		pool int
	}{
		{"cold", 0},
		{"pool", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Python: py, PythonPool: tt.pool, MCP: MCPConfig{Env: EnvSpec{Game: testGame}}}
			filled := make(chan struct{}, 4)
			cfg.onPoolFill = func() { filled <- struct{}{} }
			h := newHarness(t, cfg)
			if tt.pool > 0 {
				<-filled
			}
			s := h.create("", map[string]any{"runtime": "python", "env": game()})
			sess := "/v1/sessions/" + s.ID
			var ex ExecResult
			h.do("POST", sess+"/exec", map[string]any{"code": "import sys\nobs = goto('shelf 1')\nprint(obs)"}).decode(t, &ex)
			if ex.Exception != nil || !strings.Contains(ex.Stdout, "On the shelf 1, you see a keychain 2.") || ex.Steps != 1 {
				t.Fatalf("python exec: %+v", ex)
			}
			ex = ExecResult{}
			h.do("POST", sess+"/exec", map[string]any{"code": "len(obs) > 0\nraise KeyError('k')"}).decode(t, &ex)
			if ex.Exception == nil || ex.Exception.Type != "KeyError" || !strings.Contains(ex.Exception.Traceback, "line 2") {
				t.Fatalf("python exception: %+v", ex)
			}
			var tl ToolList
			h.do("GET", sess+"/tools", nil).decode(t, &tl)
			if len(tl.Tools) == 0 {
				t.Fatal("no tools")
			}
			if r := h.do("DELETE", sess, nil); r.status != http.StatusNoContent {
				t.Fatalf("delete: %d", r.status)
			}
			if tt.pool > 0 {
				// The pool started another worker for the next session.
				<-filled
				if v := gauge(t, h, "gantry_python_pool_ready"); v != 1 {
					t.Fatalf("pool ready %v, want 1", v)
				}
			}
		})
	}
}

// TestPythonUnavailable checks that a runtime that cannot start is a 503
// with a clear message, and the server stays up.
func TestPythonUnavailable(t *testing.T) {
	if _, err := exec.LookPath("true"); err != nil {
		t.Skip("no true(1)")
	}
	h := newHarness(t, Config{Python: "/nonexistent/python3"})
	r := h.do("POST", "/v1/sessions", map[string]any{"runtime": "python"})
	if r.status != http.StatusServiceUnavailable || r.errCode(t) != "runtime_unavailable" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if n := h.srv.sessionCount(); n != 0 {
		t.Fatalf("%d sessions after a failed creation", n)
	}
	h.create("", map[string]any{"runtime": "none"})
}
