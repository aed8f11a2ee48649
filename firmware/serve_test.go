package firmware

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
)

// lineClient reads reply lines from a connection, skipping events.
type lineClient struct {
	t  *testing.T
	c  io.ReadWriter
	sc *bufio.Scanner
}

func (lc *lineClient) send(s string) {
	lc.t.Helper()
	if _, err := io.WriteString(lc.c, s); err != nil {
		lc.t.Fatal(err)
	}
}

func (lc *lineClient) reply() map[string]any {
	lc.t.Helper()
	for lc.sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(lc.sc.Bytes(), &m); err != nil {
			lc.t.Fatalf("device sent non-JSON %q", lc.sc.Text())
		}
		if _, ev := m["event"]; !ev {
			return m
		}
	}
	lc.t.Fatalf("stream ended: %v", lc.sc.Err())
	return nil
}

func TestServeLinesOverPipe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	r := NewRover(Options{Clock: ScaledClock(20), TelemetryHz: 50})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.ServeLines(ctx, b) }()
	lc := &lineClient{t: t, c: a, sc: bufio.NewScanner(a)}
	a.SetDeadline(time.Now().Add(10 * time.Second))

	lc.send("garbage\n")
	if m := lc.reply(); m["error"].(map[string]any)["code"] != protocol.CodeBadRequest || m["id"] != nil {
		t.Errorf("garbage: %v", m)
	}
	lc.send(strings.Repeat("z", 5000) + "\n")
	if m := lc.reply(); m["error"].(map[string]any)["code"] != protocol.CodeLineTooLong {
		t.Errorf("long line: %v", m)
	}
	lc.send(`{"id":1,"act`)
	lc.send("ion\":\"ping\"}\r\n\n")
	if m := lc.reply(); m["id"] != 1.0 || m["ok"] != true {
		t.Errorf("split ping: %v", m)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ServeLines after cancel: %v", err)
	}
}

func TestServeLinesEndsAtEOF(t *testing.T) {
	r := NewRover(Options{Clock: NewSimClock()})
	defer r.Close()
	var out strings.Builder
	rw := struct {
		io.Reader
		io.Writer
	}{strings.NewReader("{\"id\":1,\"action\":\"ping\"}\n"), &out}
	if err := r.ServeLines(context.Background(), rw); err != nil {
		t.Fatal(err)
	}
}

func TestServeLinesOverPTY(t *testing.T) {
	p, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := NewRover(Options{})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.ServeLines(ctx, p.Master) }()

	f, err := openRaw(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	lc := &lineClient{t: t, c: f, sc: bufio.NewScanner(f)}
	f.SetDeadline(time.Now().Add(10 * time.Second))
	lc.send(`{"id":1,"action":"describe"}` + "\n")
	m := lc.reply()
	if m["ok"] != true || m["result"].(map[string]any)["protocol"] != protocol.Version {
		t.Fatalf("describe over pty: %v", m)
	}
	// Close and reopen the terminal side, as a gateway does after unplug.
	f.Close()
	f, err = openRaw(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetDeadline(time.Now().Add(10 * time.Second))
	lc = &lineClient{t: t, c: f, sc: bufio.NewScanner(f)}
	lc.send(`{"id":2,"action":"ping"}` + "\n")
	if m := lc.reply(); m["id"] != 2.0 || m["ok"] != true {
		t.Errorf("ping after reopen: %v", m)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ServeLines: %v", err)
	}
}

// ServeLines ends when its context does even while a write is blocked:
// the gateway closed its end, nobody reads the pty any more, and events
// filled its buffer.
func TestServeLinesEndsWhileWriteBlocked(t *testing.T) {
	p, err := OpenPTY() // its terminal side stays open, unread
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := NewRover(Options{Clock: ScaledClock(50), TelemetryHz: 50})
	defer r.Close()
	var events atomic.Int64
	defer r.Subscribe(func(protocol.Event) { events.Add(1) })()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.ServeLines(ctx, p.Master) }()
	// Far more than a pty holds (a few KiB to 64 KiB): the writer blocks.
	testenv.Eventually(t, "too few events", func() bool { return events.Load() > 2000 })
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeLines: %v, want nil after its context ended", err)
		}
	case <-time.After(testenv.Patience):
		t.Fatal("ServeLines did not end with its context")
	}
}
