//go:build !edge

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestServeRefusesOpenBind(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		root := newRootCmd()
		root.SetArgs([]string{"serve", "--addr", addr})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.Execute(); !errors.Is(err, errOpenBind) {
			t.Errorf("serve --addr %s without tokens: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if !loopback(addr) {
			t.Errorf("%s is loopback", addr)
		}
	}
}

// TestServeDrain runs the built binary, starts an endless action, sends
// SIGTERM and checks that the action is interrupted after the grace period,
// answered, and that gantry exits 0.
func TestServeDrain(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gantry")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--drain", "300ms", "--timeout", "1h", "--log-json")
	stdout, _ := cmd.StdoutPipe()
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no address: %v", err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "gantry: serving on "))

	post := func(path, body string) (*http.Response, map[string]any) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp, v
	}
	_, s := post("/v1/sessions", `{"runtime": "starlark"}`)
	id, _ := s["id"].(string)
	if id == "" {
		t.Fatalf("create: %v", s)
	}
	type answer struct {
		status int
		body   map[string]any
	}
	done := make(chan answer, 1)
	go func() {
		resp, v := post("/v1/sessions/"+id+"/exec", `{"code": "import time\ntime.sleep(3600)"}`)
		done <- answer{resp.StatusCode, v}
	}()
	// The action runs once the session answers 409.
	for {
		resp, err := http.Get(base + "/v1/sessions/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusConflict {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-done
	exc, _ := a.body["exception"].(map[string]any)
	if a.status != 200 || exc == nil {
		t.Fatalf("interrupted action: %d %v", a.status, a.body)
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("gantry serve after SIGTERM: %v\n%s", err, logs.String())
	}
	for _, want := range []string{`"msg":"draining"`, `"msg":"grace period over: interrupting running actions"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
}
