package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/server"
)

// serveChildArg makes the bench binary a server of its own (the process
// the external load generator drives).
const serveChildArg = "-serve-child"

// serveChild serves the sessions API the way gantry serve does (the same
// http.Server settings, a text log at info level to stderr) on a loopback
// port, prints "addr <host:port>" and serves until SIGTERM. With a profile
// path it records a CPU profile of the whole run.
func serveChild(args []string) {
	fs := flag.NewFlagSet("serve-child", flag.ExitOnError)
	profile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	unix := fs.String("unix", "", "serve on this Unix socket instead of TCP")
	fs.Parse(args)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.New(server.Config{NoIsolate: true, Logger: logger, MaxSessions: 100000})
	if err != nil {
		log.Fatal(err)
	}
	var ln net.Listener
	if *unix != "" {
		ln, err = net.Listen("unix", *unix)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		log.Fatal(err)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go hs.Serve(ln)
	fmt.Printf("addr %s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	hs.Close()
	srv.Close()
}

// child is a server process started by startChild.
type child struct {
	cmd  *exec.Cmd
	addr string
}

// startChild starts bin (this binary when empty) as a server process.
func startChild(bin string, args ...string) *child {
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			log.Fatal(err)
		}
		bin = self
	}
	cmd := exec.Command(bin, append([]string{serveChildArg}, args...)...)
	logf, err := os.CreateTemp("", "gantry-bench-serve-*.log")
	if err != nil {
		log.Fatal(err)
	}
	os.Remove(logf.Name()) // the child writes its log to an unlinked file: written, never read
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	logf.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr ") {
		log.Fatalf("server process: %q %v", line, err)
	}
	return &child{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "addr "))}
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
}

// cpuTime is a process's user+system CPU time from /proc.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

// rawConn is one keep-alive HTTP/1.1 connection with pre-encoded requests:
// the load generator's cost per request is a write, a read and a header
// scan, so that it is not what limits the server.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(network, addr string) *rawConn {
	c, err := net.Dial(network, addr)
	if err != nil {
		log.Fatal(err)
	}
	return &rawConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}
}

// postRequest encodes a POST with a JSON body.
func postRequest(path, body string) []byte {
	return []byte("POST " + path + " HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

var errStatus = errors.New("status not 200")

// roundTrip sends req and reads the response, returning its status.
func (rc *rawConn) roundTrip(req []byte) (int, error) {
	if _, err := rc.c.Write(req); err != nil {
		return 0, err
	}
	status, n := 0, -1
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if status == 0 {
			if len(line) < 12 {
				return 0, fmt.Errorf("bad status line %q", line)
			}
			status, _ = strconv.Atoi(string(line[9:12]))
			continue
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && (line[0] == 'C' || line[0] == 'c') && bytes.EqualFold(line[:15], []byte("content-length:")) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
		}
	}
	if n < 0 {
		return 0, errors.New("no Content-Length")
	}
	if _, err := rc.br.Discard(n); err != nil {
		return 0, err
	}
	return status, nil
}

// inProcessSteps is ALFWorld's own step rate: the same command stream on
// one Env, no server.
func inProcessSteps(d time.Duration) float64 {
	all, err := games.ValidUnseen()
	if err != nil {
		log.Fatal(err)
	}
	var g *alfworld.Game
	for _, eg := range all {
		if eg.ID == gameID {
			if g, err = eg.Load(); err != nil {
				log.Fatal(err)
			}
		}
	}
	env := alfworld.NewEnv(g, alfworld.Options{MaxSteps: 10000})
	env.Reset()
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for i := range 1000 {
			if (n+i)%40 == 39 {
				env.Reset()
			}
			env.Step(commands[(n+i)%len(commands)])
		}
		n += 1000
	}
	return float64(n) / time.Since(start).Seconds()
}

// external drives a server in its own process with a lean load generator
// in this one: clients connections, one session each, pre-encoded steps
// (a reset every 40 requests, as in the in-process test). With a baseline
// binary (bench/server built from another commit) it alternates that
// binary's server and this one's, rounds times each.
func external(clients int, d time.Duration, profile, baseline string, rounds int) {
	fmt.Printf("## plain ALFWorld steps, server in its own process, lean load generator (%d connections, %v)\n", clients, d)
	fmt.Printf("ALFWorld in process (one Env, no server): steps/s: %.0f\n", inProcessSteps(d/2))
	for range rounds {
		if baseline != "" {
			fmt.Printf("baseline %s: ", baseline)
			externalRun(baseline, clients, d, "")
		}
		if baseline != "" {
			fmt.Print("this build: ")
		}
		externalRun("", clients, d, profile)
	}
	fmt.Println()
}

func externalRun(bin string, clients int, d time.Duration, profile string) {
	args := []string{}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	ch := startChild(bin, args...)
	defer ch.stop()
	base := "http://" + ch.addr
	ids := make([]string, clients)
	for i := range ids {
		ids[i] = create(base, map[string]any{"runtime": "none", "env": map[string]any{"game": gameID, "max_steps": 10000}})
	}
	var n, failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cpu0, wall0 := cpuTime(ch.cmd.Process.Pid), time.Now()
	var self0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rc := dialRaw("tcp", ch.addr)
			defer rc.c.Close()
			path := "/v1/sessions/" + ids[c]
			steps := make([][]byte, len(commands))
			for i, cmd := range commands {
				steps[i] = postRequest(path+"/step", `{"command":"`+cmd+`"}`)
			}
			reset := postRequest(path+"/reset", `{}`)
			for i := 0; ctx.Err() == nil; i++ {
				req := steps[i%len(steps)]
				if i%40 == 39 {
					req = reset
				}
				status, err := rc.roundTrip(req)
				if err != nil {
					log.Fatal(err)
				}
				if status != http.StatusOK {
					failed.Add(1)
				}
				n.Add(1)
			}
		}(c)
	}
	wg.Wait()
	wall := time.Since(wall0)
	cpu := cpuTime(ch.cmd.Process.Pid) - cpu0
	var self1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
	gen := time.Duration(self1.Utime.Nano()+self1.Stime.Nano()-self0.Utime.Nano()-self0.Stime.Nano()) * time.Nanosecond
	fmt.Printf("requests/s: %.0f (%d not 200)   server CPU %.1f µs/request (%.2f cores), load generator %.1f µs/request (%.2f cores)\n",
		float64(n.Load())/wall.Seconds(), failed.Load(),
		float64(cpu.Microseconds())/float64(n.Load()), cpu.Seconds()/wall.Seconds(),
		float64(gen.Microseconds())/float64(n.Load()), gen.Seconds()/wall.Seconds())
}
