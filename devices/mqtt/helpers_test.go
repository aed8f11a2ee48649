package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// The helper process: the test binary re-executed with childBroker set
// runs a rover on MQTT until it is killed (TestDeviceKilled).
const (
	childBroker = "GANTRY_MQTT_TEST_CHILD_BROKER"
	childName   = "GANTRY_MQTT_TEST_CHILD_NAME"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(childBroker); url != "" {
		os.Exit(runChild(url, os.Getenv(childName)))
	}
	goleak.VerifyTestMain(m)
}

func runChild(url, name string) int {
	r := firmware.NewRover(firmware.Options{Name: name})
	defer r.Close()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := r.ServeMQTT(ctx, url, firmware.MQTTOptions{ConnectTimeout: 5 * time.Second}); err != nil {
		fmt.Fprintln(os.Stderr, "child rover:", err)
		return 1
	}
	return 0
}

// startChild runs a rover named name in a child process.
func startChild(t *testing.T, url, name string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childBroker+"="+url, childName+"="+name)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child rover: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() && out.Len() > 0 {
			t.Logf("child rover output:\n%s", out.String())
		}
	})
	return cmd
}

// testBroker is a running broker that a test can kill and start again on
// the same address.
type testBroker struct {
	url   string
	kill  func() // stop abruptly (SIGKILL for mosquitto)
	start func() // start again on the same port
}

type brokerKind struct {
	name  string
	start func(testing.TB) *testBroker
}

func brokerKinds() []brokerKind {
	return []brokerKind{{"mosquitto", startMosquitto}, {"embedded", startEmbedded}}
}

// startMosquitto runs mosquitto on a free loopback port (skipped, or
// failed under GANTRY_TEST_STRICT=1, when mosquitto is not installed).
func startMosquitto(t testing.TB) *testBroker {
	t.Helper()
	return startMosquittoConf(t, "tcp", "allow_anonymous true\n")
}

// startMosquittoConf starts mosquitto with extra configuration lines for
// its listener; scheme is the broker URL's (tcp, ssl).
//
// mosquitto cannot report the port it bound for "listener 0", so the port
// is chosen here: a port free a moment ago, and when another process took
// it in between (mosquitto logs "Address already in use" and exits) again
// with another. Readiness is mosquitto's own "running" log line, written
// once every listener is bound: no polling.
func startMosquittoConf(t testing.TB, scheme, extra string) *testBroker {
	t.Helper()
	path := testenv.LookPath(t, "mosquitto")
	var (
		mu     sync.Mutex
		proc   *mosquittoProc
		logs   lockedBuffer
		addr   string
		conf   = filepath.Join(t.TempDir(), "mosquitto.conf")
		tb     = &testBroker{}
		inUse  = errors.New("address already in use")
		launch = func() error {
			t.Helper()
			from := logs.Len()
			c := exec.Command(path, "-c", conf)
			c.Stdout, c.Stderr = &logs, &logs
			if err := c.Start(); err != nil {
				t.Fatalf("start mosquitto: %v", err)
			}
			p := &mosquittoProc{cmd: c, exited: make(chan struct{})}
			go func() { p.err = c.Wait(); close(p.exited) }()
			mu.Lock()
			proc = p
			mu.Unlock()
			switch logs.waitFor(p.exited, from, " running", "Address already in use") {
			case " running":
				return nil
			case "Address already in use":
				<-p.exited
				return inUse
			}
			t.Fatalf("mosquitto ended before it was running: %v", p.err)
			return nil
		}
	)
	for attempt := 1; ; attempt++ {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
		_, port, _ := net.SplitHostPort(addr)
		cfg := fmt.Sprintf("listener %s 127.0.0.1\n%spersistence false\nset_tcp_nodelay true\nlog_dest stderr\n", port, extra)
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		err := launch()
		if err == nil {
			break
		}
		if attempt == 10 {
			t.Fatalf("mosquitto: %v, %d times", err, attempt)
		}
	}
	tb.url = scheme + "://" + addr
	tb.start = func() {
		t.Helper()
		if err := launch(); err != nil {
			t.Fatalf("restart mosquitto on %s: %v", addr, err)
		}
	}
	tb.kill = func() {
		mu.Lock()
		p := proc
		proc = nil
		mu.Unlock()
		if p != nil {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	}
	t.Cleanup(func() {
		tb.kill()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", logs.String())
		}
	})
	return tb
}

// mosquittoProc is one run of mosquitto; exited is closed when it ended.
type mosquittoProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // valid after exited is closed
}

// startEmbedded runs the embedded broker on a free loopback port.
func startEmbedded(t testing.TB) *testBroker {
	t.Helper()
	var mu sync.Mutex
	b, err := mqtt.StartBroker(context.Background(), "127.0.0.1:0", testLogger())
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	tb := &testBroker{url: b.URL()}
	tb.kill = func() {
		mu.Lock()
		defer mu.Unlock()
		if b != nil {
			b.Close()
			b = nil
		}
	}
	tb.start = func() {
		t.Helper()
		nb, err := mqtt.StartBroker(context.Background(), addr, testLogger())
		if err != nil {
			t.Fatalf("restart embedded broker: %v", err)
		}
		mu.Lock()
		b = nb
		mu.Unlock()
	}
	t.Cleanup(tb.kill)
	return tb
}

// testLogger logs to stderr when GANTRY_TEST_LOG is set (debug with
// GANTRY_TEST_LOG=debug), else nowhere.
func testLogger() *slog.Logger {
	switch os.Getenv("GANTRY_TEST_LOG") {
	case "":
		return nil
	case "debug":
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// serveRover serves a rover on the broker until the test ends.
func serveRover(t testing.TB, url string, opts firmware.Options, mo firmware.MQTTOptions) *firmware.Rover {
	t.Helper()
	r := firmware.NewRover(opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.ServeMQTT(ctx, url, mo) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("rover %s: ServeMQTT: %v", r.Name(), err)
		}
		r.Close()
	})
	return r
}

// connectBus connects a bus for hub, closed when the test ends.
func connectBus(t testing.TB, url string, hub *devices.Hub, opts mqtt.Options) *mqtt.Bus {
	t.Helper()
	opts.Broker = url
	if opts.Timeout == 0 {
		// Generous unless the test is about the timeout: a loaded machine
		// may be slow to answer.
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	bus, err := mqtt.Connect(ctx, hub, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return bus
}

func waitDevices(t testing.TB, bus *mqtt.Bus, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := bus.Wait(ctx, names...); err != nil {
		t.Fatal(err)
	}
}

// rawClient is a bare paho client, disconnected when the test ends.
func rawClient(t testing.TB, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetOrderMatters(false).SetCleanSession(true).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("raw client %s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t testing.TB, c paho.Client, topic string, qos byte, retained bool, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, qos, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

// describe returns the JSON description of a rover named name.
func describe(t testing.TB, name string) []byte {
	t.Helper()
	r := firmware.NewRover(firmware.Options{Name: name})
	defer r.Close()
	b, err := json.Marshal(r.Description())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patience bounds every wait in these tests (testenv.Patience).
const patience = testenv.Patience

// eventually waits until cond holds (testenv.Eventually).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, cond)
}

// newLogWatch returns a logger whose records a test can wait for; they
// also go where testLogger sends them.
func newLogWatch() (*testenv.LogWatch, *slog.Logger) {
	var next slog.Handler
	if l := testLogger(); l != nil {
		next = l.Handler()
	}
	return testenv.NewLogWatch(next)
}

func state(d *devices.Device) devices.State {
	st, _ := d.State()
	return st
}

type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// waitFor waits until the text written from offset from on contains one of
// subs, and returns it; it returns "" when stop is closed first.
func (l *lockedBuffer) waitFor(stop <-chan struct{}, from int, subs ...string) string {
	for {
		l.mu.Lock()
		text := l.b.Bytes()[from:]
		for _, s := range subs {
			if bytes.Contains(text, []byte(s)) {
				l.mu.Unlock()
				return s
			}
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			// What it wrote before ending is in the buffer: look once more.
			l.mu.Lock()
			text := string(l.b.Bytes()[from:])
			l.mu.Unlock()
			for _, s := range subs {
				if strings.Contains(text, s) {
					return s
				}
			}
			return ""
		}
	}
}

// cutter is a TCP proxy in front of a broker whose connections a test can
// cut, like a network outage.
type cutter struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
	until time.Time // connections are refused until then
}

// newCutter proxies to the broker at url (tcp://host:port) until the test ends.
func newCutter(t testing.TB, url string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, target: strings.TrimPrefix(url, "tcp://"), conns: map[net.Conn]bool{}}
	c.wg.Add(1)
	go c.serve()
	t.Cleanup(func() {
		ln.Close()
		c.cut(0)
		c.wg.Wait()
	})
	return c
}

func (c *cutter) url() string { return "tcp://" + c.ln.Addr().String() }

func (c *cutter) serve() {
	defer c.wg.Done()
	for {
		down, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		refuse := time.Now().Before(c.until)
		c.mu.Unlock()
		if refuse {
			down.Close()
			continue
		}
		up, err := net.Dial("tcp", c.target)
		if err != nil {
			down.Close()
			continue
		}
		c.mu.Lock()
		c.conns[down], c.conns[up] = true, true
		c.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer c.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			c.mu.Lock()
			delete(c.conns, dst)
			delete(c.conns, src)
			c.mu.Unlock()
		}
		c.wg.Add(2)
		go pipe(up, down)
		go pipe(down, up)
	}
}

// cut closes every proxied connection and refuses new ones for down.
func (c *cutter) cut(down time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.until = time.Now().Add(down)
	for conn := range c.conns {
		conn.Close()
	}
}
