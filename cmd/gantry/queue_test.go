//go:build !edge

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/internal/natstest"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/queue"
)

// The expert on generated games gives the same report through three
// workers on a three-node cluster as locally: same wins, same turns, same
// stop reasons per task type (wall times differ).
func TestEvalQueueSameReport(t *testing.T) {
	const games = "200"
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	local, dist := t.TempDir(), t.TempDir()
	if out, err := runCLI(t, "", "eval", "--generate", games, "--quiet", "--out", local); err != nil {
		t.Fatalf("local eval: %v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &episodeRunner{local: runtimeOptions{}}
			if err := queue.Work(ctx, queue.Config{URL: cl.ClientURLs()}, r.run, queue.WorkerOptions{Name: fmt.Sprintf("w%d", i+1)}); err != nil {
				t.Errorf("worker %d: %v", i+1, err)
			}
		}()
	}
	defer wg.Wait()
	defer cancel()
	out, err := runCLI(t, "", "eval", "--generate", games, "--quiet", "--out", dist, "--queue", cl.ClientURLs())
	if err != nil {
		t.Fatalf("distributed eval: %v\n%s", err, out)
	}
	if !strings.Contains(out, "jobs queued now") {
		t.Errorf("output:\n%s", out)
	}
	want, got := reportNoTimes(t, local), reportNoTimes(t, dist)
	if got != want {
		t.Errorf("distributed report\n%s\nlocal report\n%s", got, want)
	}
	lines := func(dir string) int {
		data, err := os.ReadFile(filepath.Join(dir, "transcripts.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(data), "\n")
	}
	if l, d := lines(local), lines(dist); l != d {
		t.Errorf("transcripts: %d lines distributed, %d locally", d, l)
	}

	// Run again: every result is in the bucket, nothing is queued.
	out, err = runCLI(t, "", "eval", "--generate", games, "--quiet", "--out", dist, "--queue", cl.ClientURLs())
	if err != nil {
		t.Fatalf("second distributed eval: %v\n%s", err, out)
	}
	if !strings.Contains(out, ": 0 jobs queued now, 0 were queued already") {
		t.Errorf("second run's output:\n%s", out)
	}
}

// reportNoTimes is the report of a run without its wall times, as JSON.
func reportNoTimes(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep agent.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for i := range rep.Variants {
		v := &rep.Variants[i]
		v.WallTime = 0
		for k, st := range v.ByTaskType {
			st.WallTime = 0
			v.ByTaskType[k] = st
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestQueueFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"worker"}, "--queue is required (nats://host:4222)"},
		{[]string{"eval", "--generate", "2", "--quiet", "--out", t.TempDir(), "--queue", "nats://127.0.0.1:1", "--run", "a b"}, `--run: queue: run "a b": run name must be 1-64 letters, digits, '-' or '_'`},
	} {
		out, err := runCLI(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gantry %s: %v, want %q\n%s", strings.Join(c.args, " "), err, c.want, out)
		}
	}
}

// gantry eval --queue and gantry worker on a secured cluster
// (deploy/nats/secure): tls:// URLs with the users' credentials, the CA
// given by --queue-ca and --ca; no password in the output.
func TestQueueTLS(t *testing.T) {
	accounts, err := filepath.Abs(filepath.Join("..", "..", "deploy", "nats", "secure", "accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts, pass := natstest.Secured(t, accounts, "gateway", "rover", "arm", "gateway", "worker", "collector")
	cl := natstest.StartCluster(t, 3, opts)
	urls := func(user string) string {
		var s []string
		for _, nd := range cl.Nodes {
			s = append(s, "tls://"+user+":"+pass[user]+"@"+nd.Client)
		}
		return strings.Join(s, ",")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var workerOut testenv.Buffer // the NATS client's closed callback may log after the worker returns
	wg.Add(1)
	go func() {
		defer wg.Done()
		cmd := newRootCmd()
		cmd.SetOut(&workerOut)
		cmd.SetErr(&workerOut)
		cmd.SetArgs([]string{"worker", "--queue", urls("worker"), "--ca", opts.TLS.CA, "--concurrency", "2"})
		if err := cmd.ExecuteContext(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("worker: %v", err)
		}
	}()
	out, err := runCLI(t, "", "eval", "--generate", "6", "--quiet", "--out", t.TempDir(), "--queue", urls("collector"), "--queue-ca", opts.TLS.CA)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("eval over TLS: %v\n%s\nworker:\n%s", err, out, workerOut.String())
	}
	for user, p := range pass {
		if strings.Contains(out, p) || strings.Contains(workerOut.String(), p) {
			t.Errorf("the output shows %s's password:\n%s\n%s", user, out, workerOut.String())
		}
	}
	if !strings.Contains(workerOut.String(), "tls://worker:xxxxx@") {
		t.Errorf("worker output:\n%s", workerOut.String())
	}
}
