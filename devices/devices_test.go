package devices_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bench is a hub with one rover and the audit log it writes. The rover
// is played from a script (newPlayed), or it is the reference firmware
// over an in-memory pipe with the conversation recorded (newRecorded).
type bench struct {
	rover *firmware.Rover // newRecorded only
	rec   *devicestest.Record
	hub   *devices.Hub
	dev   *devices.Device
	audit *bytes.Buffer
}

// newRecorded is a bench whose rover is the reference firmware, served
// over an in-memory pipe (no pty: the serial transport has tests of its
// own), in real time unless opts says otherwise, behind a
// devicestest.Record that writes the conversation down.
func newRecorded(t *testing.T, policy devices.Policy, opts firmware.Options) *bench {
	t.Helper()
	audit := &bytes.Buffer{}
	var amu sync.Mutex
	hub := devices.NewHub(devices.HubOptions{Guard: devices.NewGuard(policy), Audit: devices.NewAudit(lockedWriter{&amu, audit})})
	r := firmware.NewRover(opts)
	gw, fw := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.ServeLines(ctx, fw) }()
	d := hub.NewDevice("", devices.Options{Timeout: time.Minute}) // a backstop: a loaded machine is slow
	rec := devicestest.NewRecord(d)
	rec.Link = devices.NewLineLink(gw, rec)
	d.Attach(rec)
	t.Cleanup(func() {
		hub.Close()
		d.Close()
		cancel()
		<-served
		fw.Close()
		r.Close()
	})
	dctx, dcancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer dcancel()
	if _, err := d.Describe(dctx); err != nil {
		t.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	return &bench{rover: r, rec: rec, hub: hub, dev: d, audit: audit}
}

// newPlayed is a bench whose rover is played from a script
// (devicestest): no firmware runs and no pty is opened, and the script
// says exactly which requests reach the device. The playback's verdict
// (every request expected, every one made) is checked when the test ends.
func newPlayed(t *testing.T, policy devices.Policy, ops ...devicestest.IO) (*bench, *devicestest.Playback) {
	t.Helper()
	audit := &bytes.Buffer{}
	var amu sync.Mutex
	hub := devices.NewHub(devices.HubOptions{Guard: devices.NewGuard(policy), Audit: devices.NewAudit(lockedWriter{&amu, audit})})
	pb := &devicestest.Playback{Ops: ops}
	r := firmware.NewRover(firmware.Options{}) // for its description only
	desc := r.Description()
	r.Close()
	d, err := devicestest.NewDevice(hub, &desc, pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hub.Close()
		if err := pb.Close(); err != nil {
			t.Error(err)
		}
	})
	return &bench{hub: hub, dev: d, audit: audit}, pb
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (b *bench) records(t *testing.T) []devices.AuditRecord {
	t.Helper()
	var out []devices.AuditRecord
	for _, line := range strings.Split(strings.TrimSpace(b.audit.String()), "\n") {
		if line == "" {
			continue
		}
		var r devices.AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestCallThroughHub(t *testing.T) {
	b, _ := newPlayed(t, devices.OpenPolicy(),
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.5, "ms": 400}, Result: map[string]any{"moved": 0.2, "x": 0.7}},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 3.0}, Error: &protocol.Error{Code: protocol.CodeOutOfRange, Message: "speed must be <= 1, got 3"}},
	)
	if got := b.dev.Name(); got != "rover" {
		t.Fatalf("name %q", got)
	}
	ctx := tool.WithSession(context.Background(), "s1")
	ctx = tool.WithCode(ctx, "rover.drive(speed=0.5, ms=400)")
	v, err := b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.5, "ms": int64(400)})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(map[string]any)
	if !ok || m["moved"] == nil {
		t.Fatalf("drive result %#v", v)
	}
	if m["moved"] != 0.2 {
		t.Errorf("moved %v m, want the device's 0.2", m["moved"])
	}
	_, err = b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 3.0})
	var de *devices.DeviceError
	if !errors.As(err, &de) || de.Code != "out_of_range" {
		t.Fatalf("speed 3: %v", err)
	}
	recs := b.records(t)
	var outcomes []string
	for _, r := range recs {
		outcomes = append(outcomes, r.Outcome)
		if r.Session != "s1" || r.CodeSHA256 != devices.CodeHash("rover.drive(speed=0.5, ms=400)") {
			t.Errorf("record %+v: wrong session or code hash", r)
		}
	}
	if got := strings.Join(outcomes, " "); got != "sent ok sent error" {
		t.Errorf("audit outcomes %q", got)
	}
}

// roverPose is the rest of a drive's result as the reference rover gives
// it (recorded with devicestest.Record against firmware.Rover).
func roverPose(moved, x, battery float64) map[string]any {
	return map[string]any{"battery": battery, "bumped": false, "heading": 0, "moved": moved, "reason": "done", "x": x, "y": 1.5}
}

// TestToolsInStarlark drives the rover's tools from Starlark: the loop's
// requests are what the script (recorded against the reference rover)
// expects, and the out-of-bounds drive never reaches the device.
func TestToolsInStarlark(t *testing.T) {
	b, _ := newPlayed(t, devices.OpenPolicy(),
		devicestest.IO{Action: "distance", Result: 2},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.5, "ms": 2000}, Result: roverPose(1, 1.5, 99.76)},
		devicestest.IO{Action: "distance", Result: 1},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.5, "ms": 1000}, Result: roverPose(0.5, 2, 99.64)},
		devicestest.IO{Action: "distance", Result: 0.5},
	)
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, b.hub); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rover.drive", "rover.turn", "rover.distance", "rover.gripper", "rover.get", "rover.stop", "devices.stop"} {
		if _, ok := reg.Lookup(name); !ok {
			t.Errorf("no tool %s", name)
		}
	}
	if _, ok := reg.Lookup("rover.reset"); ok {
		t.Error("rover.reset is a tool; resets are for people")
	}
	drive, _ := reg.Lookup("rover.drive")
	if sig := drive.Signature(); !strings.Contains(sig, "speed") || !strings.HasPrefix(strings.TrimPrefix(sig, "rover.drive("), "speed") {
		t.Errorf("signature %q: speed should come first", sig)
	}
	s, err := sandbox.New(reg, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Exec(context.Background(), `
d = rover.distance()
n = 0
while d > 0.6 and n < 20:
    rover.drive(speed=0.5, ms=min(2000, int((d - 0.5) / 0.5 * 1000)))
    d = rover.distance()
    n += 1
print("distance", round(d, 1))
rover.drive(speed=2)
`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Stdout, "distance 0.5") {
		t.Errorf("stdout %q", res.Stdout)
	}
	if res.Err == nil || !strings.Contains(res.Err.Message, "speed must be <= 1") {
		t.Errorf("want a bounds error from the tool, got %+v", res.Err)
	}
}

// TestToolsInPython runs the same device tools from the Python bridge: the
// worker's calls come back to Go and go through the hub and its guard.
func TestToolsInPython(t *testing.T) {
	b, _ := newPlayed(t, devices.OpenPolicy(),
		devicestest.IO{Action: "distance", Result: 2},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.5, "ms": 400}, Result: roverPose(0.2, 0.7, 99.95)},
		devicestest.IO{Action: "distance", Result: 1.8},
	)
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, b.hub); err != nil {
		t.Fatal(err)
	}
	py := testenv.Python(t)
	s, err := bridge.New(context.Background(), reg, bridge.Options{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := tool.WithSession(context.Background(), "py")
	code := `
import math
d0 = rover.distance()
r = rover.drive(speed=0.5, ms=400)
print("moved", round(r["moved"], 1), "closer", round(d0 - rover.distance(), 1))
rover.gripper(state="fly")
`
	res, err := s.Exec(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Stdout, "moved 0.2 closer 0.2") {
		t.Errorf("stdout %q", res.Stdout)
	}
	if res.Err == nil || !strings.Contains(res.Err.Message, "state must be one of") {
		t.Errorf("want an enum error, got %+v", res.Err)
	}
	var sent int
	for _, r := range b.records(t) {
		if r.Outcome == devices.OutcomeSent {
			sent++
			if r.Session != "py" || r.CodeSHA256 != devices.CodeHash(code) {
				t.Errorf("audit record %+v lacks the session or the code's hash", r)
			}
		}
	}
	if sent != 1 {
		t.Errorf("%d actions sent, want 1 (the drive; the bad gripper call is refused before the hub)", sent)
	}
}
