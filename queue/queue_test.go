package queue_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/internal/natstest"
	"github.com/gantry-dev/gantry/queue"
)

// The helper process: the test binary re-executed with childURL set is a
// worker whose episode of the game "slow" never ends (it says "started"
// first), so the test can kill it mid-episode.
const (
	childURL  = "GANTRY_QUEUE_TEST_CHILD_URL"
	childWait = "GANTRY_QUEUE_TEST_CHILD_ACKWAIT"
	childMax  = "GANTRY_QUEUE_TEST_CHILD_MAXDELIVER"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(childURL); url != "" {
		os.Exit(runChild(url))
	}
	os.Exit(m.Run())
}

func runChild(url string) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	wait, _ := time.ParseDuration(os.Getenv(childWait))
	run := func(ctx context.Context, j queue.Job) (*agent.Transcript, error) {
		if j.Game == "slow" {
			fmt.Println("started", j.Game)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return fakeRun(ctx, j)
	}
	max, _ := strconv.Atoi(os.Getenv(childMax))
	if err := queue.Work(ctx, queue.Config{URL: url, AckWait: wait, MaxDeliver: max}, run, queue.WorkerOptions{Name: "child"}); err != nil {
		fmt.Fprintln(os.Stderr, "child worker:", err)
		return 1
	}
	return 0
}

// fakeRun is a deterministic episode: its turns and outcome follow from
// the game's name.
func fakeRun(_ context.Context, j queue.Job) (*agent.Transcript, error) {
	if strings.HasPrefix(j.Game, "poison") {
		return nil, errors.New("game file does not load")
	}
	h := 0
	for _, c := range j.Game {
		h = h*31 + int(c)
	}
	h &= 0xffff
	tr := &agent.Transcript{ID: j.Game, TaskType: []string{"put", "clean", "heat"}[h%3], Policy: "fake", Success: h%4 != 0,
		StopReason: "done", Turns: make([]agent.Turn, 1+h%7)}
	return tr, nil
}

func jobs(run string, n int, extra ...string) []queue.Job {
	var out []queue.Job
	for i := 0; i < n; i++ {
		out = append(out, queue.Job{Run: run, Variant: "fake/code/starlark", Game: fmt.Sprintf("generated/%d", i+1), Settings: []byte(`{}`)})
	}
	for _, g := range extra {
		out = append(out, queue.Job{Run: run, Variant: "fake/code/starlark", Game: g, Settings: []byte(`{}`)})
	}
	return out
}

// startWorkers runs n in-process workers until the test ends.
func startWorkers(t *testing.T, cfg queue.Config, n int, run queue.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := queue.Work(ctx, cfg, run, queue.WorkerOptions{Name: fmt.Sprintf("w%d", i+1), Concurrency: 2}); err != nil {
				t.Errorf("worker %d: %v", i+1, err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// checkOnce checks there is one record per job, each of its own job.
func checkOnce(t *testing.T, js []queue.Job, recs []queue.Record) {
	t.Helper()
	if len(recs) != len(js) {
		t.Fatalf("%d records for %d jobs", len(recs), len(js))
	}
	seen := map[string]bool{}
	for i, r := range recs {
		if r.Game != js[i].Game || r.Variant != js[i].Variant {
			t.Errorf("record %d is of %s/%s, want %s/%s", i, r.Variant, r.Game, js[i].Variant, js[i].Game)
		}
		if seen[r.Game] {
			t.Errorf("%s recorded twice", r.Game)
		}
		seen[r.Game] = true
	}
}

// localReport is the report of running the jobs here, one after another.
func localReport(t *testing.T, js []queue.Job) *agent.Report {
	t.Helper()
	var res []agent.EpisodeResult
	for _, j := range js {
		tr, err := fakeRun(context.Background(), j)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, agent.EpisodeResult{Variant: j.Variant, Game: j.Game, Transcript: tr})
	}
	return agent.NewReport(res)
}

func collect(t *testing.T, ctx context.Context, cfg queue.Config, js []queue.Job, opts queue.CollectOptions) []queue.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	recs, err := queue.Collect(ctx, cfg, js, opts)
	if err != nil {
		t.Fatalf("collect: %v (%d records)", err, len(recs))
	}
	return recs
}

// Three workers on a three-node cluster give the local report.
func TestDistributedSameReport(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs()}
	js := jobs("same", 60)
	startWorkers(t, cfg, 3, fakeRun)
	recs := collect(t, context.Background(), cfg, js, queue.CollectOptions{})
	checkOnce(t, js, recs)
	got := agent.NewReport(queue.Results(recs))
	want := localReport(t, js)
	var gb, wb strings.Builder
	got.WriteMarkdown(&gb)
	want.WriteMarkdown(&wb)
	if gb.String() != wb.String() {
		t.Errorf("distributed report\n%s\nlocal report\n%s", gb.String(), wb.String())
	}
	workers := map[string]int{}
	for _, r := range recs {
		workers[r.Worker]++
	}
	t.Logf("episodes per worker: %v", workers)
}

// A worker killed mid-episode: the job comes back after the ack wait, a
// live worker runs it, and it is recorded once.
func TestWorkerKilled(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs(), AckWait: 2 * time.Second, MaxDeliver: 3}
	js := jobs("kill", 0, "slow")

	child, started := startChildWorker(t, cfg)

	type result struct {
		recs []queue.Record
		err  error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		recs, err := queue.Collect(ctx, cfg, js, queue.CollectOptions{})
		done <- result{recs, err}
	}()
	<-started
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	// Only now a live worker: the job can only reach it by redelivery.
	startWorkers(t, cfg, 1, fakeRun)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	checkOnce(t, js, res.recs)
	r := res.recs[0]
	if r.Worker == "child" || r.Deliveries != 2 || r.Transcript.StopReason != "done" {
		t.Errorf("record by %s after %d deliveries, stop %s: want a live worker, delivery 2, done", r.Worker, r.Deliveries, r.Transcript.StopReason)
	}
}

// A job whose game does not load is recorded as failed on its last
// delivery, and the others complete.
func TestPoisonJob(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs(), AckWait: 5 * time.Second, MaxDeliver: 3}
	js := jobs("poison", 10, "poison/1")
	startWorkers(t, cfg, 2, fakeRun)
	recs := collect(t, context.Background(), cfg, js, queue.CollectOptions{})
	checkOnce(t, js, recs)
	p := recs[len(recs)-1]
	if p.Deliveries != 3 || p.Transcript.StopReason != agent.StopError ||
		!strings.Contains(p.Transcript.Error, "job failed after 3 deliveries: game file does not load") {
		t.Errorf("poison record: %d deliveries, stop %s, error %q", p.Deliveries, p.Transcript.StopReason, p.Transcript.Error)
	}
	rep := agent.NewReport(queue.Results(recs))
	if rep.Variants[0].Stops[agent.StopError] != 1 || len(rep.Variants[0].Errors) != 1 {
		t.Errorf("report: stops %v errors %v", rep.Variants[0].Stops, rep.Variants[0].Errors)
	}
}

// The collector stops mid-run and starts again: it counts what is
// recorded, queues nothing twice, and ends with every job recorded once.
func TestCollectorRestart(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs()}
	js := jobs("restart", 40)
	gate := make(chan struct{})
	var once sync.Once
	slowRun := func(ctx context.Context, j queue.Job) (*agent.Transcript, error) {
		if j.Game != "generated/1" && j.Game != "generated/2" {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return fakeRun(ctx, j)
	}
	startWorkers(t, cfg, 2, slowRun)

	ctx, cancel := context.WithCancel(context.Background())
	var first int
	_, err := queue.Collect(ctx, cfg, js, queue.CollectOptions{
		Published: func(p, q int) { first = p },
		Progress: func(done, total int) {
			if done >= 1 {
				once.Do(cancel)
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first collector: %v, want cancelled", err)
	}
	if first != len(js) {
		t.Errorf("first collector published %d jobs, want %d", first, len(js))
	}
	close(gate)
	var published, queued, startDone int
	recs := collect(t, context.Background(), cfg, js, queue.CollectOptions{
		Published: func(p, q int) { published, queued = p, q },
		Progress: func(done, total int) {
			if startDone == 0 {
				startDone = done
			}
		},
	})
	checkOnce(t, js, recs)
	if published != 0 {
		t.Errorf("the second collector published %d jobs (%d queued), want 0: every job was recorded or queued", published, queued)
	}
	if startDone < 1 {
		t.Errorf("the second collector started from %d records, want at least 1", startDone)
	}
}

// The node leading the stream dies mid-run (an R3 stream): the run ends
// with every job recorded once.
func TestStreamLeaderKilled(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs(), AckWait: 5 * time.Second}
	js := jobs("leader", 120)
	startWorkers(t, cfg, 2, fakeRun)
	leader, replicas := streamLeader(t, cfg)
	if replicas != 3 {
		t.Fatalf("stream has %d replicas, want 3", replicas)
	}
	node := cl.Node(leader)
	if node == nil {
		t.Fatalf("leader %q is not a node of the cluster", leader)
	}
	var once sync.Once
	recs := collect(t, context.Background(), cfg, js, queue.CollectOptions{
		Progress: func(done, total int) {
			if done >= 20 {
				once.Do(func() { t.Logf("killing %s, the stream's leader, after %d records", leader, done); node.Kill() })
			}
		},
	})
	checkOnce(t, js, recs)
	if node.Running() {
		t.Error("the leader was never killed")
	}
}

func streamLeader(t *testing.T, cfg queue.Config) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := queue.Inspect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return info.Leader, info.Replicas
}

// A job delivered again after its result was stored (its worker died
// between storing and acknowledging) is acknowledged without running, and
// the stored result stays the first one.
func TestRecordedOnce(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs()}
	js := jobs("once", 1)
	skipped := make(chan string, 4)
	var runs atomic.Int32
	counting := func(ctx context.Context, j queue.Job) (*agent.Transcript, error) {
		runs.Add(1)
		return fakeRun(ctx, j)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := queue.Work(ctx, cfg, counting, queue.WorkerOptions{Name: "only", Done: func(key string, recorded bool) {
			if !recorded {
				skipped <- key
			}
		}})
		if err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	first := collect(t, context.Background(), cfg, js, queue.CollectOptions{})
	checkOnce(t, js, first)

	// The same job once more, as a redelivery would bring it.
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(js[0])
	if _, err := jsc.Publish(context.Background(), "gantry.jobs."+js[0].Key(), data); err != nil {
		t.Fatal(err)
	}
	if key := <-skipped; key != js[0].Key() {
		t.Errorf("skipped %s, want %s", key, js[0].Key())
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the episode ran %d times, want once", n)
	}
	again := collect(t, context.Background(), cfg, js, queue.CollectOptions{})
	if again[0].Worker != first[0].Worker || again[0].Deliveries != first[0].Deliveries {
		t.Errorf("stored record changed: %+v, first %+v", again[0], first[0])
	}
}

// startChildWorker runs a worker in a child process; started is closed
// when it has begun the endless episode of the game "slow".
func startChildWorker(t *testing.T, cfg queue.Config) (*exec.Cmd, chan struct{}) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childURL+"="+cfg.URL, childWait+"="+cfg.AckWait.String(), childMax+"="+strconv.Itoa(cfg.MaxDeliver))
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "started") {
				close(started)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return child, started
}

// Every worker given a job dies on it, while no collector runs: after
// MaxDeliver runs the next worker records it as failed without running
// it, and a collector started later finds the record.
func TestWorkersDieOnJob(t *testing.T) {
	cl := natstest.StartCluster(t, 3, natstest.Options{})
	cfg := queue.Config{URL: cl.ClientURLs(), AckWait: time.Second, MaxDeliver: 2}
	js := jobs("doomed", 0, "slow")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := queue.Collect(ctx, cfg, js, queue.CollectOptions{Published: func(int, int) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("collector: %v, want cancelled once the job is queued", err)
	}
	for i := 0; i < cfg.MaxDeliver; i++ {
		child, started := startChildWorker(t, cfg)
		<-started
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
	}
	var runs atomic.Int32
	startWorkers(t, cfg, 1, func(ctx context.Context, j queue.Job) (*agent.Transcript, error) {
		runs.Add(1)
		return fakeRun(ctx, j)
	})
	recs := collect(t, context.Background(), cfg, js, queue.CollectOptions{})
	checkOnce(t, js, recs)
	r := recs[0]
	if r.Transcript.StopReason != agent.StopError || !strings.Contains(r.Transcript.Error, "job failed: delivered 2 times, no worker finished it") || r.Deliveries != 3 {
		t.Errorf("record: stop %s, error %q, %d deliveries", r.Transcript.StopReason, r.Transcript.Error, r.Deliveries)
	}
	if n := runs.Load(); n != 0 {
		t.Errorf("the live worker ran the job %d times, want 0", n)
	}
}
