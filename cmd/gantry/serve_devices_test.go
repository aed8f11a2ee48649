//go:build !edge

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeSimRover runs serve with a simulated rover and drives it
// through the API.
func TestServeSimRover(t *testing.T) {
	root := newRootCmd()
	pr, pw := io.Pipe()
	root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--no-isolate", "--sim-rover", "rover", "--sim-speed", "50", "--log-level", "error"})
	root.SetOut(pw)
	root.SetErr(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var base string
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if a, ok := strings.CutPrefix(sc.Text(), "gantry: serving on "); ok {
			base = a
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" || !strings.HasPrefix(lines[0], "gantry: embedded broker tcp://127.0.0.1:") {
		t.Fatalf("serve printed %q; %v", lines, <-done)
	}
	call := func(method, path, body string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var list struct {
		Devices []struct{ Name, State string }
	}
	if call("GET", "/v1/devices", "", &list); len(list.Devices) != 1 || list.Devices[0].Name != "rover" || list.Devices[0].State != "online" {
		t.Fatalf("devices: %+v", list)
	}
	var s struct{ ID string }
	if st := call("POST", "/v1/sessions", `{"devices": ["rover"]}`, &s); st != 201 {
		t.Fatalf("create: %d", st)
	}
	var ex struct{ Stdout string }
	call("POST", "/v1/sessions/"+s.ID+"/exec", `{"code": "print(rover.drive(speed=0.5, ms=200)['moved'])"}`, &ex)
	if ex.Stdout != "0.1\n" {
		t.Fatalf("drive: %+v", ex)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
