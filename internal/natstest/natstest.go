// Package natstest runs a real NATS cluster for tests: nats-server
// processes on loopback, JetStream and MQTT enabled on every node.
//
// Ports: the client, MQTT and monitoring listeners are configured with
// port -1 (the server picks a free one) and the actual addresses are read
// from the server's log as it starts. Cluster routes need the route ports
// in the configuration, so those are picked free beforehand; a node that
// loses the race for its port (its log says the address is in use) is
// started again on another one, and the others learn its new address by
// gossip once it connects to them. A killed node restarts on the ports it
// had, so clients that know its address reconnect to it.
//
// The binary is found in GANTRY_NATS_SERVER, on PATH, or in the
// repository's .cache/bin (where scripts/test installs it); when none is
// there the test is skipped, or failed under GANTRY_TEST_STRICT=1.
//
// Options.TLS and Options.Include run a secured cluster: TLS on every
// listener with certificates made for the test (GenerateTLS), and the
// repository's accounts and users (Secured sets their passwords).
//
// When a test fails, each node's whole log is written to a file (its path
// is in the test's output) and its tail to the test's output. With
// GANTRY_NATS_DEBUG=1 the servers log at debug level (-D: connections
// closed and why, JetStream consumers created), with GANTRY_NATS_DEBUG=trace
// also every protocol message (-DV).
package natstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// Binary returns the path of nats-server, or skips (fails under strict
// mode) the test.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GANTRY_NATS_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if dir, err := os.Getwd(); err == nil {
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				p := filepath.Join(d, ".cache", "bin", "nats-server")
				if _, err := os.Stat(p); err == nil {
					return p
				}
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	testenv.Missing(t, "nats-server is not installed (scripts/test installs it in .cache/bin)")
	return ""
}

// Node is one nats-server of a cluster.
type Node struct {
	Name string
	// Addresses, host:port, fixed at the first start.
	Client, MQTT, Route, HTTP string

	t      testing.TB
	bin    string
	dir    string
	routes []string // route URLs of every node, this one included
	opts   Options

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
	logs *logBuffer
}

// Cluster is a running cluster of nodes.
type Cluster struct {
	Nodes []*Node
}

// Options tune a cluster; the zero value is fine.
type Options struct {
	// Extra is configuration appended to every node's file; MQTT is
	// appended inside its mqtt block.
	Extra, MQTT string
	// Include is a configuration file every node's file includes, such
	// as deploy/nats/secure/accounts.conf (copied next to it).
	Include string
	// Env is more environment for the servers (KEY=value), for the
	// variables an included file refers to.
	Env []string
	// TLS, when set, makes every listener require TLS with these files:
	// clients, MQTT, and the routes between the nodes (mutual TLS).
	TLS *TLSFiles
	// ProbeUser and ProbePassword log in the MQTT readiness probe, when
	// the configuration has users.
	ProbeUser, ProbePassword string
}

// StartCluster starts n nodes and waits until every node reports healthy
// (JetStream's meta leader elected). The nodes are killed when the test ends.
func StartCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	bin := Binary(t)
	root := t.TempDir()
	c := &Cluster{}
	var routes []string
	for i := 0; i < n; i++ {
		nd := &Node{Name: fmt.Sprintf("n%d", i+1), t: t, bin: bin, opts: opts, dir: filepath.Join(root, fmt.Sprintf("n%d", i+1)),
			Route: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}
		routes = append(routes, "nats-route://"+nd.Route)
		if err := os.MkdirAll(nd.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, nd)
	}
	for _, nd := range c.Nodes {
		nd.routes = routes
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if err = nd.start(); err == nil || !errors.Is(err, errAddrInUse) {
				break
			}
			nd.Route = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			nd.Kill()
			if t.Failed() {
				nd.saveLog(t)
			}
		})
	}
	c.WaitHealthy(t)
	for _, nd := range c.Nodes {
		nd.WaitMQTT(t)
	}
	return c
}

// ClientURLs returns every node's NATS URL, comma-separated (the form
// nats.Connect takes).
func (c *Cluster) ClientURLs() string {
	var s []string
	for _, nd := range c.Nodes {
		s = append(s, nd.ClientURL())
	}
	return strings.Join(s, ",")
}

// Node returns the node named name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, nd := range c.Nodes {
		if nd.Name == name {
			return nd
		}
	}
	return nil
}

// WaitHealthy waits until every running node's /healthz answers 200.
func (c *Cluster) WaitHealthy(t testing.TB) {
	t.Helper()
	for _, nd := range c.Nodes {
		if nd.Running() {
			nd.WaitHealthy(t)
		}
	}
}

var errAddrInUse = errors.New("address already in use")

var listenRE = regexp.MustCompile(`(Listening for client connections on|Starting http monitor on|Listening for route connections on|Listening for MQTT clients on) (?:[a-z]+://)?([0-9.]+:[0-9]+)`)

func (nd *Node) config() string {
	port := func(addr string) string {
		if addr == "" {
			return "127.0.0.1:-1"
		}
		return addr
	}
	var quoted []string
	for _, r := range nd.routes {
		quoted = append(quoted, strconv.Quote(r))
	}
	routes := "  routes: [" + strings.Join(quoted, ", ") + "]\n"
	var tlsTop, tlsRoutes, tlsMQTT, include string
	if f := nd.opts.TLS; f != nil {
		block := fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n  ca_file: %q\n", f.Cert, f.Key, f.CA)
		tlsTop = block + "}\n"
		tlsRoutes = block + "  verify: true\n}\n"
		tlsMQTT = block + "}\n"
	}
	if nd.opts.Include != "" {
		include = "include \"included.conf\"\n" // copied next to the file: NATS resolves includes from there
	}
	return fmt.Sprintf(`server_name: %s
listen: %q
http: %q
jetstream {
  store_dir: %q
  max_memory_store: 256MB
  max_file_store: 2GB
}
cluster {
  name: gantry
  listen: %q
%s%s}
mqtt {
  listen: %q
%s%s
}
%s%s%s
`, nd.Name, port(nd.Client), port(nd.HTTP), filepath.Join(nd.dir, "js"), port(nd.Route), routes, tlsRoutes, port(nd.MQTT), tlsMQTT, nd.opts.MQTT,
		tlsTop, include, nd.opts.Extra)
}

// start runs the server and waits until its log has named the addresses
// of its four listeners.
func (nd *Node) start() error {
	conf := filepath.Join(nd.dir, "nats.conf")
	if nd.opts.Include != "" {
		b, err := os.ReadFile(nd.opts.Include)
		if err != nil {
			return fmt.Errorf("nats-server %s: %w", nd.Name, err)
		}
		if err := os.WriteFile(filepath.Join(nd.dir, "included.conf"), b, 0o600); err != nil {
			return err
		}
	}
	if err := os.WriteFile(conf, []byte(nd.config()), 0o600); err != nil {
		return err
	}
	args := []string{"-c", conf}
	switch os.Getenv("GANTRY_NATS_DEBUG") {
	case "1":
		args = append(args, "-D")
	case "trace":
		args = append(args, "-DV")
	}
	cmd := exec.Command(nd.bin, args...)
	cmd.Env = append(os.Environ(), nd.opts.Env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if nd.logs == nil {
		nd.logs = &logBuffer{}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nats-server %s: %w", nd.Name, err)
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(exit)
	}()
	ready := make(chan struct{})
	addrs := map[string]string{}
	var amu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			line := sc.Text()
			nd.logs.add(line)
			if m := listenRE.FindStringSubmatch(line); m != nil {
				amu.Lock()
				addrs[m[1]] = m[2]
				amu.Unlock()
			}
			amu.Lock()
			all := len(addrs) == 4
			amu.Unlock()
			if !once && all {
				once = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case <-exit:
		log := nd.logs.tail(2000)
		if strings.Contains(log, "address already in use") {
			return fmt.Errorf("nats-server %s: %w:\n%s", nd.Name, errAddrInUse, log)
		}
		return fmt.Errorf("nats-server %s exited while starting:\n%s", nd.Name, log)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("nats-server %s: not ready after 60 s:\n%s", nd.Name, nd.logs.tail(2000))
	}
	amu.Lock()
	defer amu.Unlock()
	for _, f := range []struct {
		dst *string
		key string
	}{
		{&nd.Client, "Listening for client connections on"},
		{&nd.HTTP, "Starting http monitor on"},
		{&nd.Route, "Listening for route connections on"},
		{&nd.MQTT, "Listening for MQTT clients on"},
	} {
		a, ok := addrs[f.key]
		if !ok {
			_ = cmd.Process.Kill()
			return fmt.Errorf("nats-server %s: no %q line in its log", nd.Name, f.key)
		}
		*f.dst = a
	}
	nd.mu.Lock()
	nd.cmd, nd.exit = cmd, exit
	nd.mu.Unlock()
	return nil
}

// MQTTURL is the node's MQTT listener as a paho broker URL (ssl:// with TLS).
func (nd *Node) MQTTURL() string {
	if nd.opts.TLS != nil {
		return "ssl://" + nd.MQTT
	}
	return "tcp://" + nd.MQTT
}

// ClientURL is the node's NATS URL (tls:// with TLS).
func (nd *Node) ClientURL() string {
	if nd.opts.TLS != nil {
		return "tls://" + nd.Client
	}
	return "nats://" + nd.Client
}

// Running reports whether the node's process is up.
func (nd *Node) Running() bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.cmd != nil
}

// Kill stops the node abruptly (SIGKILL) and waits for the process to end.
func (nd *Node) Kill() {
	nd.mu.Lock()
	cmd, exit := nd.cmd, nd.exit
	nd.cmd = nil
	nd.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exit
}

// Restart starts a killed node again on the ports it had.
func (nd *Node) Restart(t testing.TB) {
	t.Helper()
	if err := nd.start(); err != nil {
		t.Fatal(err)
	}
	nd.WaitMQTT(t)
}

// WaitMQTT waits until an MQTT client can connect to the node. The first
// MQTT connection of an account makes the server create its MQTT streams,
// which takes seconds on a busy machine; until then connections fail.
func (nd *Node) WaitMQTT(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		po := paho.NewClientOptions().AddBroker(nd.MQTTURL()).SetClientID("natstest-probe-" + nd.Name).
			SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(30 * time.Second).
			SetUsername(nd.opts.ProbeUser).SetPassword(nd.opts.ProbePassword)
		if f := nd.opts.TLS; f != nil {
			po.SetTLSConfig(f.ClientConfig())
		}
		c := paho.NewClient(po)
		tok := c.Connect()
		tok.Wait()
		if last = tok.Error(); last == nil {
			c.Disconnect(0)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("nats-server %s: no MQTT connection: %v\n%s", nd.Name, last, nd.logs.tail(2000))
}

// WaitHealthy waits until the node's /healthz answers 200 (JetStream
// current), polling it.
func (nd *Node) WaitHealthy(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+nd.HTTP+"/healthz", nil)
		req.Close = true // no idle connection (and its goroutines) left behind
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nats-server %s not healthy: %s", nd.Name, last)
		case <-tick.C:
		}
	}
}

// saveLog writes the node's whole log to a file that outlives the test
// and logs its tail and the file's path.
func (nd *Node) saveLog(t testing.TB) {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	f, err := os.CreateTemp("", "gantry-nats-"+name+"-"+nd.Name+"-*.log")
	if err == nil {
		_, err = f.WriteString(nd.Log() + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	where := "not saved: " + fmt.Sprint(err)
	if err == nil {
		where = "whole log in " + f.Name()
	}
	t.Logf("%s log (tail; %s):\n%s", nd.Name, where, nd.logs.tail(4000))
}

// Log returns the node's log so far.
func (nd *Node) Log() string { return nd.logs.tail(1 << 30) }

type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced by every line
}

func (l *logBuffer) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.mu.Unlock()
}

// wait returns a channel closed by the next line, and the lines so far.
func (l *logBuffer) wait() (<-chan struct{}, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed, len(l.lines)
}

// Lines is the number of lines the node has logged: an offset for WaitLog.
func (nd *Node) Lines() int {
	nd.logs.mu.Lock()
	defer nd.logs.mu.Unlock()
	return len(nd.logs.lines)
}

// WaitLog waits until a line logged from offset from on (see Lines)
// contains sub, and returns it; it fails the test after testenv.Patience.
func (nd *Node) WaitLog(t testing.TB, from int, sub string) string {
	t.Helper()
	timer := time.NewTimer(testenv.Patience)
	defer timer.Stop()
	for {
		changed, n := nd.logs.wait()
		nd.logs.mu.Lock()
		for i := min(from, n); i < n; i++ {
			if strings.Contains(nd.logs.lines[i], sub) {
				line := nd.logs.lines[i]
				nd.logs.mu.Unlock()
				return line
			}
		}
		nd.logs.mu.Unlock()
		from = n
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("nats-server %s never logged %q", nd.Name, sub)
		}
	}
}

func (l *logBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b []string
	size := 0
	for i := len(l.lines) - 1; i >= 0 && size < n; i-- {
		b = append(b, l.lines[i])
		size += len(l.lines[i]) + 1
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return strings.Join(b, "\n")
}
