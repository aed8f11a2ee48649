//go:build !edge

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	tests := []struct {
		name, path string
		inUse      bool
	}{
		{"new path", filepath.Join(dir, "new.sock"), false},
		{"stale socket replaced", stale, false},
		{"regular file refused", file, true},
		{"live socket refused", live, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := listenUnix(tt.path)
			if tt.inUse {
				if !errors.Is(err, errUnixInUse) {
					t.Fatalf("listenUnix(%s) = %v, want errUnixInUse", tt.path, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestServeUnix serves on TCP and a Unix socket and plays the same step
// through both.
func TestServeUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gantry.sock")
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--unix", sock, "--drain", "1s"})
	pr, pw := io.Pipe()
	root.SetOut(pw)
	root.SetErr(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	lines := bufio.NewReader(pr)
	var base string
	for _, prefix := range []string{"gantry: serving on http://", "gantry: serving on unix:"} {
		line, err := lines.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Fatalf("line %q (%v), want %s...", line, err, prefix)
		}
		if base == "" {
			base = strings.TrimSpace(strings.TrimPrefix(line, "gantry: serving on "))
		}
	}
	go io.Copy(io.Discard, lines)
	overUnix := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	post := func(c *http.Client, url, body string, out any) {
		t.Helper()
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %s", url, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	const game = `{"runtime": "none", "env": {"game": "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"}}`
	var obs [2]string
	for i, c := range []*http.Client{http.DefaultClient, overUnix} {
		url := base
		if i == 1 {
			url = "http://gantry" // any host: the dialer goes to the socket
		}
		var s struct{ ID string }
		post(c, url+"/v1/sessions", game, &s)
		var r struct{ Observation string }
		post(c, url+"/v1/sessions/"+s.ID+"/step", `{"command": "go to desk 1"}`, &r)
		obs[i] = r.Observation
	}
	if obs[0] == "" || obs[0] != obs[1] {
		t.Fatalf("the same step over TCP and the Unix socket: %q, %q", obs[0], obs[1])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket outlives the server: %v", err)
	}
}
