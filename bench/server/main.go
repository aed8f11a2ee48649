// Command server measures gantry serve's figures side by side in one run
// (docs/benchmarks.md): a trivial Starlark action over HTTP on loopback
// against the same action in process, plain ALFWorld steps with many
// concurrent clients, the batch endpoint, the memory of idle sessions and
// Python session creation with and without the warm pool.
//
//	go run ./bench/server [-clients 64] [-duration 5s] [-idle 10000] [-python] [-only steps,external] [-cpuprofile FILE] [-baseline BIN -rounds N]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/sandbox/isolate"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/tool"
)

const trivial = "x = 1 + 1\nprint(x)"

func main() {
	if len(os.Args) > 1 && os.Args[1] == serveChildArg {
		serveChild(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == isolate.WorkerArg {
		if err := isolate.ServeWorker(context.Background()); err != nil {
			log.Fatal(err)
		}
		return
	}
	clients := flag.Int("clients", 64, "concurrent clients of the plain-step test")
	duration := flag.Duration("duration", 5*time.Second, "length of each throughput test")
	actions := flag.Int("actions", 2000, "trivial actions per latency test")
	idle := flag.Int("idle", 10000, "idle sessions of the memory test")
	python := flag.Bool("python", true, "measure Python session creation")
	pythonN := flag.Int("python-n", 10, "Python sessions created per variant")
	only := flag.String("only", "", "run only these tests (comma-separated: latency, steps, external, python, idle)")
	profile := flag.String("cpuprofile", "", "external test: write the server process's CPU profile to this file")
	baseline := flag.String("baseline", "", "external test: alternate with the server of this bench/server binary (built from another commit)")
	rounds := flag.Int("rounds", 1, "external test: runs of each server")
	flag.Parse()
	fmt.Printf("GOMAXPROCS=%d, %s\n\n", runtime.GOMAXPROCS(0), runtime.Version())
	run := func(name string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), name) }

	if run("latency") {
		latency(*actions)
	}
	if run("steps") {
		throughput(*clients, *duration)
	}
	if run("external") {
		external(*clients, *duration, *profile, *baseline, *rounds)
	}
	if *python && run("python") {
		pythonCreation(*pythonN)
	}
	if run("idle") {
		idleMemory(*idle) // last: it leaves the heap large
	}
}

// start serves a server on a loopback port.
func start(cfg server.Config) (*server.Server, string, func()) {
	srv, err := server.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	return srv, "http://" + ln.Addr().String(), func() { hs.Close(); srv.Close() }
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024}}

func post(url string, body any, out any) {
	data, _ := json.Marshal(body)
	resp, err := client.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		log.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			log.Fatal(err)
		}
	}
}

func create(base string, body map[string]any) string {
	var s struct{ ID string }
	post(base+"/v1/sessions", body, &s)
	return s.ID
}

func pct(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[int(float64(len(d)-1)*p)]
}

// latency compares a trivial Starlark action over HTTP with the same in
// process, for in-process and isolated sessions.
func latency(n int) {
	fmt.Println("## trivial Starlark action, HTTP on loopback vs in process (p50 / p90)")
	for _, isolated := range []bool{false, true} {
		var rt interface {
			Exec(context.Context, string) (tool.Result, error)
			Close() error
		}
		var err error
		if isolated {
			rt, err = isolate.New(context.Background(), tool.NewRegistry(), isolate.Options{})
		} else {
			rt, err = sandbox.New(tool.NewRegistry(), sandbox.Options{})
		}
		if err != nil {
			log.Fatal(err)
		}
		inproc := make([]time.Duration, 0, n)
		for i := 0; i < n+100; i++ {
			t0 := time.Now()
			if _, err := rt.Exec(context.Background(), trivial); err != nil {
				log.Fatal(err)
			}
			if i >= 100 {
				inproc = append(inproc, time.Since(t0))
			}
		}
		rt.Close()

		_, base, stop := start(server.Config{NoIsolate: !isolated})
		id := create(base, map[string]any{"runtime": "starlark", "env": map[string]any{"game": gameID}})
		url := base + "/v1/sessions/" + id + "/exec"
		overHTTP := make([]time.Duration, 0, n)
		for i := 0; i < n+100; i++ {
			t0 := time.Now()
			post(url, map[string]any{"code": trivial}, nil)
			if i >= 100 {
				overHTTP = append(overHTTP, time.Since(t0))
			}
		}
		stop()
		kind := "in-process sandbox"
		if isolated {
			kind = "isolated worker"
		}
		a, b := pct(inproc, 0.5), pct(overHTTP, 0.5)
		fmt.Printf("%-20s in process %v / %v   over HTTP %v / %v   HTTP adds %v at p50\n", kind,
			a.Round(100*time.Nanosecond), pct(inproc, 0.9).Round(100*time.Nanosecond),
			b.Round(100*time.Nanosecond), pct(overHTTP, 0.9).Round(100*time.Nanosecond), (b - a).Round(100*time.Nanosecond))
	}
	fmt.Println()
}

const gameID = "pick_and_place_simple-Pencil-None-Shelf-308/trial_T20190908_121952_610012"

var commands = []string{"go to desk 1", "look", "go to shelf 1", "inventory", "open drawer 1", "go to drawer 1"}

// throughput measures plain steps with many clients, one session each,
// and the batch endpoint.
func throughput(clients int, d time.Duration) {
	fmt.Printf("## plain ALFWorld steps, %d concurrent clients, %v\n", clients, d)
	_, base, stop := start(server.Config{NoIsolate: true})
	defer stop()
	ids := make([]string, clients)
	for i := range ids {
		ids[i] = create(base, map[string]any{"runtime": "none", "env": map[string]any{"game": gameID}})
	}
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			url := base + "/v1/sessions/" + ids[c] + "/step"
			for i := 0; time.Now().Before(deadline); i++ {
				if i%40 == 39 {
					post(base+"/v1/sessions/"+ids[c]+"/reset", map[string]any{}, nil)
				}
				post(url, map[string]any{"command": commands[i%len(commands)]}, nil)
				n.Add(1)
			}
		}(c)
	}
	wg.Wait()
	fmt.Printf("requests/s: %.0f\n", float64(n.Load())/d.Seconds())

	for _, size := range []int{64, 256} {
		sess := make([]string, size)
		for i := range sess {
			sess[i] = create(base, map[string]any{"runtime": "none", "env": map[string]any{"game": gameID}})
		}
		var steps atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for c := 0; c < 4; c++ { // a few concurrent batch clients, each its own sessions' slice
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				mine := sess[c*size/4 : (c+1)*size/4]
				for i := 0; time.Now().Before(deadline); i++ {
					batch := make([]map[string]string, len(mine))
					for j, id := range mine {
						batch[j] = map[string]string{"session": id, "command": commands[(i+j)%len(commands)]}
					}
					if i%40 == 39 {
						for _, id := range mine {
							post(base+"/v1/sessions/"+id+"/reset", map[string]any{}, nil)
						}
					}
					post(base+"/v1/batch/step", map[string]any{"steps": batch}, nil)
					steps.Add(int64(len(mine)))
				}
			}(c)
		}
		wg.Wait()
		fmt.Printf("batch of %d steps (4 clients × %d): steps/s: %.0f\n", size, size/4, float64(steps.Load())/d.Seconds())
	}
	fmt.Println()
}

// rss reads this process's resident set size in bytes.
func rss() int64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// idleMemory creates n idle sessions and reports the process's RSS.
func idleMemory(n int) {
	fmt.Printf("## %d idle ALFWorld sessions (runtime none, and starlark in process)\n", n)
	for _, rt := range []string{"none", "starlark"} {
		runtime.GC()
		debug.FreeOSMemory()
		before := rss()
		srv, base, stop := start(server.Config{NoIsolate: true, MaxSessions: n + 10})
		for i := 0; i < n; i++ {
			create(base, map[string]any{"runtime": rt, "env": map[string]any{"game": gameID}})
		}
		runtime.GC()
		debug.FreeOSMemory()
		after := rss()
		fmt.Printf("runtime %-8s RSS %d MiB before, %d MiB with the sessions: %.1f KiB per session\n", rt,
			before>>20, after>>20, float64(after-before)/float64(n)/1024)
		_ = srv
		stop()
	}
	fmt.Println()
}

// pythonCreation times the creation of Python sessions with and without
// the warm pool.
func pythonCreation(n int) {
	fmt.Printf("## Python session creation (%d each, p50 / max)\n", n)
	for _, pool := range []int{0, 2} {
		srv, base, stop := start(server.Config{PythonPool: pool})
		var times []time.Duration
		for i := 0; i < n; i++ {
			if pool > 0 {
				waitPool(srv, pool)
			}
			t0 := time.Now()
			id := create(base, map[string]any{"runtime": "python", "env": map[string]any{"game": gameID}})
			times = append(times, time.Since(t0))
			var r struct{ Stdout string }
			post(base+"/v1/sessions/"+id+"/exec", map[string]any{"code": "print(look())"}, &r)
			if !strings.Contains(r.Stdout, "You are in the middle of a room") {
				log.Fatalf("python session: %q", r.Stdout)
			}
			req, _ := http.NewRequest("DELETE", base+"/v1/sessions/"+id, nil)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}
		stop()
		mx := slices.Max(times)
		fmt.Printf("pool %d: %v / %v\n", pool, pct(times, 0.5).Round(10*time.Microsecond), mx.Round(10*time.Microsecond))
	}
	fmt.Println()
}

// waitPool waits until the pool holds want ready workers.
func waitPool(srv *server.Server, want int) {
	for {
		mfs, _ := srv.Gatherer().Gather()
		for _, mf := range mfs {
			if mf.GetName() == "gantry_python_pool_ready" && int(mf.GetMetric()[0].GetGauge().GetValue()) >= want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
