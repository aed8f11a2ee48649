package serial_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/serial"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/devtest"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/tool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serveRover serves a Go rover on a fresh pty until the test ends and
// returns it with the pty; the gateway opens p.Path.
func serveRover(t testing.TB, opts firmware.Options) (*firmware.Rover, *firmware.PTY) {
	t.Helper()
	return devtest.ServeRover(t, opts)
}

// openPort opens path into a fresh hub; the port closes when the test ends.
func openPort(t testing.TB, path string, opts serial.Options) (*devices.Hub, *serial.Port) {
	t.Helper()
	hub := devices.NewHub(devices.HubOptions{})
	port, err := serial.Open(context.Background(), hub, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		port.Close()
		hub.Close()
	})
	return hub, port
}

func TestOpenCallToolsEvents(t *testing.T) {
	_, p := serveRover(t, firmware.Options{})
	hub, port := openPort(t, p.Path, serial.Options{Timeout: 10 * time.Second})
	d := port.Device()
	if d.Name() != "rover" || port.Path() != p.Path {
		t.Fatalf("device %q on %q", d.Name(), port.Path())
	}
	if got, ok := hub.Device("rover"); !ok || got != d {
		t.Fatal("the hub does not hold the port's device")
	}
	if st, err := d.State(); st != devices.Online {
		t.Fatalf("state %v (%v)", st, err)
	}
	if d.Description() == nil || d.Description().Actions["drive"].Params["speed"].Unit != "m/s" {
		t.Fatalf("description %+v", d.Description())
	}

	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, hub); err != nil {
		t.Fatal(err)
	}
	viaHub := func(action string, args map[string]any) (any, error) {
		return hub.Call(context.Background(), "rover", action, args)
	}
	viaTool := func(action string, args map[string]any) (any, error) {
		return reg.Call(context.Background(), "rover."+action, nil, args)
	}
	for _, way := range []struct {
		name string
		call func(string, map[string]any) (any, error)
	}{{"hub", viaHub}, {"tool", viaTool}} {
		t.Run(way.name, func(t *testing.T) {
			d0, err := way.call("distance", nil)
			if err != nil {
				t.Fatal(err)
			}
			before, ok := devtest.Num(d0)
			if !ok || before <= 0.3 {
				t.Fatalf("distance %#v", d0)
			}
			v, err := way.call("drive", map[string]any{"speed": 0.5, "ms": int64(400)})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := v.(map[string]any)
			moved, _ := m["moved"].(float64)
			if moved < 0.15 || moved > 0.25 {
				t.Fatalf("drive result %#v: moved %v m, want about 0.2", v, m["moved"])
			}
			d1, err := way.call("distance", nil)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := devtest.Num(d1); after > before-0.15 {
				t.Errorf("distance %v before the drive, %v after", before, after)
			}
			if _, err := way.call("drive", map[string]any{"speed": -0.5, "ms": int64(400)}); err != nil {
				t.Fatal(err) // back to where it was, for the next way
			}
		})
	}
	_, err := viaTool("drive", map[string]any{"speed": 3.0})
	if err == nil || !strings.Contains(err.Error(), "speed") {
		t.Errorf("speed 3 through the tool: %v", err)
	}
	_, err = viaHub("drive", map[string]any{"speed": 3.0})
	var de *devices.DeviceError
	if !errors.As(err, &de) || de.Code != "out_of_range" {
		t.Errorf("speed 3 through the hub: %v", err)
	}

	t.Run("events", func(t *testing.T) {
		var n atomic.Int64
		got := make(chan devices.Event, 1)
		cancel := d.Subscribe(func(ev devices.Event) {
			if ev.Event == "telemetry" && n.Add(1) == 3 {
				got <- ev
			}
		})
		defer cancel()
		if _, err := viaHub("telemetry", map[string]any{"hz": 20.0}); err != nil {
			t.Fatal(err)
		}
		defer viaHub("telemetry", map[string]any{"hz": 0.0})
		select {
		case ev := <-got:
			data, _ := ev.Data.(map[string]any)
			if data["pose"] == nil || data["battery"] == nil {
				t.Errorf("telemetry data %#v", ev.Data)
			}
		case <-time.After(testenv.Patience):
			t.Fatalf("%d telemetry events in %v", n.Load(), testenv.Patience)
		}
	})
}

func TestOpenFails(t *testing.T) {
	silent, err := firmware.OpenPTY() // nobody serves it
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	for _, tc := range []struct {
		name, path string
		want       string
		is         error
	}{
		{"no such port", t.TempDir() + "/ttyNONE", "no such file", nil},
		{"not a terminal", os.DevNull, "/dev/null", nil},
		{"nobody answers", silent.Path, "describe", devices.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := devices.NewHub(devices.HubOptions{})
			defer hub.Close()
			port, err := serial.Open(context.Background(), hub, tc.path, serial.Options{Timeout: 200 * time.Millisecond})
			if err == nil {
				port.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want the path and %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if len(hub.Devices()) != 0 {
				t.Error("a device was added")
			}
		})
	}
}

func TestCloseEndsCalls(t *testing.T) {
	_, p := serveRover(t, firmware.Options{})
	hub, port := openPort(t, p.Path, serial.Options{})
	d := port.Device()
	errc := make(chan error, 1)
	go func() {
		_, err := hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.1, "ms": int64(4000)})
		errc <- err
	}()
	testenv.Eventually(t, "the drive was never sent", func() bool { return d.Stats().Requests >= 2 })
	port.Close()
	err := <-errc
	// ErrLost or ErrClosed, not ErrTimeout: Close ended the call.
	if !errors.Is(err, devices.ErrLost) && !errors.Is(err, devices.ErrClosed) {
		t.Errorf("drive in flight at Close: %v", err)
	}
	if _, ok := hub.Device("rover"); ok {
		t.Error("the device is still in the hub")
	}
	if _, err := d.Call(context.Background(), "ping", nil); !errors.Is(err, devices.ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

// fakeDevice is a device played by the test on a pty's master side: it
// answers describe with a real description and hands every other request
// to the test, which writes whatever bytes it likes.
type fakeDevice struct {
	p    *firmware.PTY
	in   *os.File // the gateway's side, opened only to see its input queue
	desc []byte
	reqs chan protocol.Request // nil: other requests are read and ignored
	wmu  sync.Mutex
	quit chan struct{} // closed when the test ends
	done chan struct{} // closed when serve has returned
}

func newFakeDevice(t *testing.T, answer bool) *fakeDevice {
	t.Helper()
	p, err := firmware.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := json.Marshal(firmware.NewRover(firmware.Options{}).Description())
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.OpenFile(p.Path, os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	f := &fakeDevice{p: p, in: in, desc: desc, quit: make(chan struct{}), done: make(chan struct{})}
	if answer {
		f.reqs = make(chan protocol.Request, 16)
	}
	go f.serve()
	t.Cleanup(func() {
		close(f.quit)
		p.Close()
		<-f.done
	})
	return f
}

func (f *fakeDevice) serve() {
	defer close(f.done)
	lr := protocol.NewLineReader(f.p.Master)
	for {
		line, err := lr.Next()
		if errors.Is(err, protocol.ErrLineTooLong) {
			continue
		}
		if err != nil {
			return
		}
		var req protocol.Request
		if json.Unmarshal(line, &req) != nil {
			continue
		}
		switch {
		case req.Action == "describe":
			f.write(fmt.Appendf(nil, `{"id":%d,"ok":true,"result":%s}`+"\n", req.ID, f.desc))
		case f.reqs != nil:
			select {
			case f.reqs <- req:
			case <-f.quit:
				return
			}
		}
	}
}

// drained waits until the gateway has read all that was written: the
// tty's input queue, seen from the device's side, is empty.
func (f *fakeDevice) drained(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, "the gateway never read what the device wrote", func() bool {
		n, err := unix.IoctlGetInt(int(f.in.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatalf("TIOCINQ: %v", err)
		}
		return n == 0
	})
}

func (f *fakeDevice) write(b []byte) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.p.Master.Write(b)
}

// pad pads a JSON object with spaces before its closing brace to n bytes.
func pad(obj string, n int) string {
	return obj[:len(obj)-1] + strings.Repeat(" ", n-len(obj)) + "}"
}

// piece is one write of a scripted device; apart: the gateway reads it
// before the next piece is written, so that they arrive in separate reads.
type piece struct {
	b     string
	apart bool
}

func TestGarbageOnTheWire(t *testing.T) {
	f := newFakeDevice(t, true)
	hub, port := openPort(t, f.p.Path, serial.Options{Timeout: 10 * time.Second})
	d := port.Device()
	long := strings.Repeat("x", 5000)
	// Each script gets the request's id and returns the writes; the reply
	// it carries has result "real".
	for _, tc := range []struct {
		name    string
		script  func(reply string, id int64) []piece
		garbage int64 // lines the device counts as garbage
		stale   int64
		events  int64
	}{
		{"binary junk, then the reply", func(reply string, _ int64) []piece {
			return []piece{{"\x00\x01\xfe\xff\x80\x1b[2J junk\n", true}, {reply + "\n", false}}
		}, 1, 0, 0},
		{"junk and the reply in one write", func(reply string, _ int64) []piece {
			return []piece{{"\xff\xfe{{{\n" + reply + "\n", false}}
		}, 1, 0, 0},
		{"a half line of junk ended by the device's next newline", func(reply string, _ int64) []piece {
			return []piece{{"boot: ro", true}, {"ver v1.2\r\n", true}, {reply + "\r\n", false}}
		}, 1, 0, 0},
		{"the reply split across writes with pauses", func(reply string, _ int64) []piece {
			return []piece{{reply[:5], true}, {reply[5:12], true}, {reply[12:] + "\n", false}}
		}, 0, 0, 0},
		{"the reply in three pieces", func(reply string, _ int64) []piece {
			n := len(reply) / 3
			return []piece{{reply[:n], true}, {reply[n : 2*n], true}, {reply[2*n:] + "\n", false}}
		}, 0, 0, 0},
		{"an over-long line, then the reply", func(reply string, _ int64) []piece {
			return []piece{{long + "\n", true}, {reply + "\n", false}}
		}, 1, 0, 0},
		{"an over-long reply to the right id is dropped", func(reply string, id int64) []piece {
			bogus := fmt.Sprintf(`{"id":%d,"ok":true,"result":"%s"}`, id, long)
			return []piece{{bogus[:3000], true}, {bogus[3000:] + "\n", true}, {reply + "\n", false}}
		}, 1, 0, 0},
		{"a reply of exactly 4096 bytes with its newline", func(reply string, _ int64) []piece {
			return []piece{{pad(reply, protocol.MaxLine-1) + "\n", false}}
		}, 0, 0, 0},
		{"a reply one byte over the limit is dropped", func(reply string, _ int64) []piece {
			return []piece{{pad(reply, protocol.MaxLine) + "\n", true}, {reply + "\n", false}}
		}, 1, 0, 0},
		{"a reply with an unknown id", func(reply string, id int64) []piece {
			return []piece{{fmt.Sprintf(`{"id":%d,"ok":true,"result":"wrong"}`+"\n", id+1000), true}, {reply + "\n", false}}
		}, 0, 1, 0},
		{"blank lines, an event and a reply without id", func(reply string, _ int64) []piece {
			return []piece{{"\n \r\n\t\n", false}, {`{"event":"telemetry","ts":1,"data":{}}` + "\n", false},
				{`{"id":null,"ok":false,"error":{"code":"bad_request","message":"?"}}` + "\n", false}, {reply + "\n", false}}
		}, 0, 1, 1},
		{"JSON that is neither reply nor event", func(reply string, _ int64) []piece {
			return []piece{{`{"hello":"world"}` + "\n" + `[1,2]` + "\n" + `"x"` + "\n", false}, {reply + "\n", false}}
		}, 3, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := d.Stats()
			type result struct {
				v   any
				err error
			}
			res := make(chan result, 1)
			go func() {
				v, err := hub.Call(context.Background(), "rover", "ping", nil)
				res <- result{v, err}
			}()
			var req protocol.Request
			select {
			case req = <-f.reqs:
			case <-time.After(testenv.Patience):
				t.Fatal("the request did not arrive")
			}
			reply := fmt.Sprintf(`{"id":%d,"ok":true,"result":"real"}`, req.ID)
			for _, p := range tc.script(reply, req.ID) {
				f.write([]byte(p.b))
				if p.apart {
					f.drained(t)
				}
			}
			r := <-res
			if r.err != nil || r.v != "real" {
				t.Fatalf("got %#v, %v; want the real reply", r.v, r.err)
			}
			after := d.Stats()
			if g := after.Garbage - before.Garbage; g != tc.garbage {
				t.Errorf("garbage counted %d, want %d", g, tc.garbage)
			}
			if s := after.Stale - before.Stale; s != tc.stale {
				t.Errorf("stale counted %d, want %d", s, tc.stale)
			}
			if e := after.Events - before.Events; e != tc.events {
				t.Errorf("events counted %d, want %d", e, tc.events)
			}
			if st, err := d.State(); st != devices.Online {
				t.Errorf("state %v (%v)", st, err)
			}
		})
	}
}

func TestNoAnswerTimesOut(t *testing.T) {
	f := newFakeDevice(t, false) // answers describe, then only reads
	const timeout = 300 * time.Millisecond
	hub, _ := openPort(t, f.p.Path, serial.Options{Timeout: timeout})
	for _, tc := range []struct {
		name, action string
		args         map[string]any
		want         time.Duration // the timeout plus the stated duration
	}{
		{"ping", "ping", nil, timeout},
		{"drive 700 ms", "drive", map[string]any{"speed": 0.5, "ms": int64(700)}, timeout + 700*time.Millisecond},
		{"drive default 500 ms", "drive", map[string]any{"speed": 0.5}, timeout + 500*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := hub.Call(context.Background(), "rover", tc.action, tc.args)
			el := time.Since(start)
			if !errors.Is(err, devices.ErrTimeout) {
				t.Fatalf("err %v, want ErrTimeout", err)
			}
			if el < tc.want-20*time.Millisecond {
				t.Errorf("timed out after %v, before %v", el, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want.String()) {
				t.Errorf("error %q does not say how long it waited (%v)", err, tc.want)
			}
		})
	}
}

func TestEventFlood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string // returns the path to open
	}{
		{"rover telemetry at 50 Hz on a 50x clock", func(t *testing.T) string {
			_, p := serveRover(t, firmware.Options{Clock: firmware.ScaledClock(50), TelemetryHz: 50})
			return p.Path
		}},
		{"raw writer spewing events", func(t *testing.T) string {
			f := newFakeDevice(t, true)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { // answers every request with its id
				defer wg.Done()
				for {
					select {
					case req := <-f.reqs:
						f.write(fmt.Appendf(nil, `{"id":%d,"ok":true,"result":{"action":%q}}`+"\n", req.ID, req.Action))
					case <-ctx.Done():
						return
					}
				}
			}()
			go func() { // events as fast as the pty takes them
				defer wg.Done()
				ev := []byte(`{"event":"telemetry","ts":1,"data":{"pose":{"x":1,"y":2,"heading":3},"battery":99.5,"moving":false}}` + "\n")
				for ctx.Err() == nil {
					f.write(ev)
				}
			}()
			t.Cleanup(func() { cancel(); f.p.Master.SetWriteDeadline(time.Now()); wg.Wait() })
			return f.p.Path
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t)
			hub, port := openPort(t, path, serial.Options{Timeout: 10 * time.Second})
			var events atomic.Int64
			defer port.Device().Subscribe(func(devices.Event) { events.Add(1) })()
			start := time.Now()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			var calls, drives atomic.Int64
			errs := make(chan error, 100)
			call := func(action string, args map[string]any) {
				calls.Add(1)
				if _, err := hub.Call(context.Background(), "rover", action, args); err != nil {
					select {
					case errs <- fmt.Errorf("%s: %w", action, err):
					default:
					}
				}
			}
			for w := 0; w < 3; w++ { // queries back to back
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						call("ping", nil)
					}
				}()
			}
			const nDrives = 10 // within the open policy's burst of 20
			wg.Add(1)
			go func() { // one drive at a time
				defer wg.Done()
				speed := 0.1
				for i := 0; i < nDrives && ctx.Err() == nil; i++ { // back and forth
					call("drive", map[string]any{"speed": speed, "ms": int64(2000)})
					drives.Add(1)
					speed = -speed
				}
			}()
			// Until the events and the calls have all had their turn.
			testenv.Eventually(t, "too few events or calls got through", func() bool {
				return events.Load() >= 100 && drives.Load() == nDrives && calls.Load() >= nDrives+30
			})
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			el := time.Since(start)
			st := port.Device().Stats()
			t.Logf("%d calls in %v with %d events (%.0f/s) arriving; stats %+v", calls.Load(), el, events.Load(), float64(events.Load())/el.Seconds(), st)
			if events.Load() < 100 {
				t.Errorf("only %d events arrived", events.Load())
			}
			if st.Garbage != 0 {
				t.Errorf("%d lines counted as garbage", st.Garbage)
			}
		})
	}
}

// TestFakeDeviceDescribes checks the scripted device's description is the
// rover's, so the tests above exercise the real description's bounds.
func TestFakeDeviceDescribes(t *testing.T) {
	f := newFakeDevice(t, false)
	_, port := openPort(t, f.p.Path, serial.Options{})
	want, _ := json.Marshal(firmware.NewRover(firmware.Options{}).Description())
	got, _ := json.Marshal(port.Device().Description())
	if !bytes.Equal(got, want) {
		t.Errorf("description\n%s\nwant\n%s", got, want)
	}
}
