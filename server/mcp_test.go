package server

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// mcpEnv makes the test binary serve MCP over stdio as `gantry mcp` does
// (see TestMain).
const mcpEnv = "GANTRY_SERVER_TEST_MCP"

// serveStdioForTest is `gantry mcp` for the test binary.
func serveStdioForTest() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	srv, err := New(Config{WorkerCommand: []string{exe}, WorkerEnv: []string{workerEnv + "=1"},
		MCP: MCPConfig{Env: EnvSpec{Game: testGame}}})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.ServeStdio(context.Background(), nil)
}

func textOf(t testing.TB, r *mcp.CallToolResult) string {
	t.Helper()
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestMCPInMemory drives the MCP server with the Go SDK's client.
func TestMCPInMemory(t *testing.T) {
	srv, err := New(workerConfig(t, Config{MCP: MCPConfig{Env: EnvSpec{Game: testGame}}}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ct, st := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStdio(ctx, st) }()
	client := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil)
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
		if tl.Name == "run_code" && !strings.Contains(tl.Description, "goto(receptacle: str) -> str") {
			t.Errorf("run_code's description does not list the functions:\n%s", tl.Description)
		}
	}
	if strings.Join(names, ",") != "estop,reset,run_code" {
		t.Fatalf("tools: %v", names)
	}
	call := func(name string, args map[string]any) *mcp.CallToolResult {
		t.Helper()
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	if r := call("run_code", map[string]any{"code": "x = 20\nprint(goto('shelf 1'))"}); r.IsError || !strings.Contains(textOf(t, r), "On the shelf 1, you see a keychain 2.") {
		t.Fatalf("run_code: %+v", textOf(t, r))
	}
	if r := call("run_code", map[string]any{"code": "print(x + 1)"}); textOf(t, r) != "21" {
		t.Fatalf("state not kept: %q", textOf(t, r))
	}
	if r := call("run_code", map[string]any{"code": "1/0"}); !r.IsError || !strings.Contains(textOf(t, r), "ZeroDivisionError") {
		t.Fatalf("error: %+v", textOf(t, r))
	}
	if r := call("reset", nil); !strings.Contains(textOf(t, r), "Your task is to: put a pencil in shelf.") {
		t.Fatalf("reset: %q", textOf(t, r))
	}
	if r := call("estop", nil); textOf(t, r) != "Stopped 0 running action(s)." {
		t.Fatalf("estop: %q", textOf(t, r))
	}
	if n := srv.sessionCount(); n != 1 {
		t.Fatalf("%d sessions for one MCP session", n)
	}
	cs.Close()
	<-served
}

// mcpPython returns a Python with the official MCP SDK (scripts/test
// installs it and sets GANTRY_TEST_MCP_PYTHON).
func mcpPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("GANTRY_TEST_MCP_PYTHON")
	if py == "" {
		py = testenv.Python(t)
	}
	if err := exec.Command(py, "-c", "import mcp").Run(); err != nil {
		testenv.Missing(t, "the Python mcp SDK (pip install mcp; scripts/test installs it)")
	}
	return py
}

// clientReport is what testdata/mcp_client.py prints.
type clientReport struct {
	Tools   []string `json:"tools"`
	HasGoto bool     `json:"has_goto"`
	First   string   `json:"first"`
	Second  string   `json:"second"`
	IsError bool     `json:"error_is_error"`
	Error   string   `json:"error"`
}

func checkReport(t *testing.T, out []byte) {
	t.Helper()
	var rep clientReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	if strings.Join(rep.Tools, ",") != "estop,reset,run_code" || !rep.HasGoto ||
		!strings.Contains(rep.First, "On the shelf 1, you see a keychain 2.") || rep.Second != "21" ||
		!rep.IsError || !strings.Contains(rep.Error, "ZeroDivisionError: division by zero") {
		t.Fatalf("client report: %+v", rep)
	}
}

// TestMCPPythonStdio runs the official Python SDK's client against the
// server over stdio.
func TestMCPPythonStdio(t *testing.T) {
	py := mcpPython(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join("testdata", "mcp_client.py"), "stdio", exe)
	cmd.Env = append(os.Environ(), mcpEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mcp_client.py: %v\n%s", err, stderrOf(err))
	}
	checkReport(t, out)
}

// TestMCPPythonHTTP runs the official Python SDK's client against the
// server over streamable HTTP, with a bearer token.
func TestMCPPythonHTTP(t *testing.T) {
	py := mcpPython(t)
	h := newHarness(t, Config{Tokens: testTokens(t), MCP: MCPConfig{Env: EnvSpec{Game: testGame}}})
	out, err := exec.Command(py, filepath.Join("testdata", "mcp_client.py"), "http", h.ts.URL+"/mcp", aliceSecret).Output()
	if err != nil {
		t.Fatalf("mcp_client.py: %v\n%s", err, stderrOf(err))
	}
	checkReport(t, out)
	// Without the token, the client is refused (the SDK says only "Server
	// returned an error response"; the answer is a 401 with a JSON error).
	if out, err := exec.Command(py, filepath.Join("testdata", "mcp_client.py"), "http", h.ts.URL+"/mcp").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "MCPError") {
		t.Fatalf("no token: %v\n%s", err, out)
	}
	r := h.raw(context.Background(), "", "POST", "/mcp", `{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}`)
	if r.status != 401 || r.errCode(t) != "no_token" {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// inspector returns the MCP Inspector's command (scripts/test installs it
// and sets GANTRY_TEST_MCP_INSPECTOR).
func inspector(t *testing.T) string {
	t.Helper()
	p := os.Getenv("GANTRY_TEST_MCP_INSPECTOR")
	if p == "" {
		testenv.Missing(t, "the MCP Inspector (npm @modelcontextprotocol/inspector; scripts/test installs it and sets GANTRY_TEST_MCP_INSPECTOR)")
	}
	return p
}

// TestMCPInspector lists and calls the tools with the MCP Inspector's CLI
// mode, over stdio and over streamable HTTP.
func TestMCPInspector(t *testing.T) {
	insp := inspector(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{MCP: MCPConfig{Env: EnvSpec{Game: testGame}}})
	targets := map[string][]string{
		"stdio": {"-e", mcpEnv + "=1", exe},
		"http":  {h.ts.URL + "/mcp", "--transport", "http"},
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			run := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(insp, append(append([]string{"--cli"}, target...), args...)...)
				cmd.Env = append(os.Environ(), mcpEnv+"=1")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("inspector %v: %v\n%s\n%s", args, err, out, stderrOf(err))
				}
				return string(out)
			}
			var list struct {
				Tools []struct{ Name, Description string }
			}
			if err := json.Unmarshal([]byte(run("--method", "tools/list")), &list); err != nil || len(list.Tools) != 3 {
				t.Fatalf("tools/list: %v %+v", err, list)
			}
			out := run("--method", "tools/call", "--tool-name", "run_code", "--tool-arg", "code=print(goto('shelf 1'))")
			var res struct {
				Content []struct{ Text string }
				IsError bool
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.IsError || len(res.Content) != 1 ||
				!strings.Contains(res.Content[0].Text, "On the shelf 1, you see a keychain 2.") {
				t.Fatalf("tools/call: %v\n%s", err, out)
			}
		})
	}
}
