package devices_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
)

const testPolicy = `
audit: ""
default:
  allow: []
devices:
  rover:
    allow: ["*"]
    deny: [telemetry]
    bounds:
      drive: {speed: {min: -0.5, max: 0.5}, ms: {max: 3000}}
    rate: 2
    burst: 3
`

// TestGuardPolicy: what the policy refuses never reaches the rover (the
// script lists every request that does, recorded against the reference
// rover); the rate limit refuses the first action past the burst.
func TestGuardPolicy(t *testing.T) {
	// One token per 100 s: no refill while the test runs, however slow the
	// machine, so the burst alone decides which action is refused.
	p, err := devices.ParsePolicy([]byte(strings.Replace(testPolicy, "rate: 2", "rate: 0.01", 1)))
	if err != nil {
		t.Fatal(err)
	}
	turn := devicestest.IO{Action: "turn", Args: map[string]any{"degrees": 1}, Result: map[string]any{"battery": 100, "bumped": false, "heading": 1, "moved": 0, "reason": "done", "x": 0.505, "y": 1.5}}
	distance := devicestest.IO{Action: "distance", Result: 1.995}
	script := []devicestest.IO{
		{Action: "drive", Args: map[string]any{"speed": 0.5, "ms": 10}, Result: roverPose(0.005, 0.505, 100)},
		distance,
		turn, turn, // the burst of 3 after the drive; the third turn is refused
	}
	for range 30 {
		script = append(script, distance)
	}
	b, _ := newPlayed(t, p, script...)
	ctx := context.Background()
	tests := []struct {
		name   string
		action string
		args   map[string]any
		refuse string // substring of the refusal, "" when allowed
	}{
		{"denied action", "telemetry", map[string]any{"hz": 1.0}, "telemetry is not allowed on rover"},
		{"reset needs naming", "reset", nil, "reset is not allowed"},
		{"unknown action", "fly", nil, `rover has no action "fly"`},
		{"policy bound", "drive", map[string]any{"speed": 0.8, "ms": int64(10)}, "speed must be <= 0.5, got 0.8"},
		{"policy bound on a default", "drive", map[string]any{"speed": 0.1, "ms": int64(4000)}, "ms must be <= 3000, got 4000"},
		{"a bound is not dodged by a string", "drive", map[string]any{"speed": "0.9", "ms": int64(10)}, "speed is bounded and must be a number, got str"},
		{"a bound holds for a huge number", "drive", map[string]any{"speed": 0.1, "ms": json.Number("100000000000000000000")}, "ms must be <= 3000, got 1e+20"},
		{"within bounds", "drive", map[string]any{"speed": 0.5, "ms": int64(10)}, ""},
		{"sensors are not rate limited", "distance", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.hub.Call(ctx, "rover", tc.action, tc.args)
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.refuse) {
				t.Fatalf("got %v, want a refusal containing %q", err, tc.refuse)
			}
		})
	}
	// Burst 3: one drive was allowed above, so two turns are and the third
	// is not.
	for i := 1; i <= 3; i++ {
		_, err := b.hub.Call(ctx, "rover", "turn", map[string]any{"degrees": 1.0})
		if i < 3 && err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		if i == 3 && (!errors.Is(err, devices.ErrRefused) || !strings.Contains(err.Error(), "actions per second")) {
			t.Fatalf("turn 3: got %v, want the rate limit's refusal", err)
		}
	}
	for i := 0; i < 30; i++ { // sensors stay unlimited
		if _, err := b.hub.Call(ctx, "rover", "distance", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.hub.Call(ctx, "nosuch", "ping", nil); err == nil || !strings.Contains(err.Error(), "devices: rover") {
		t.Errorf("unknown device: %v", err)
	}
	for _, r := range b.records(t) {
		if r.Action == "telemetry" && r.Outcome != devices.OutcomeRefused {
			t.Errorf("telemetry audited as %q", r.Outcome)
		}
	}
}

func TestDefaultDenies(t *testing.T) {
	p, err := devices.ParsePolicy([]byte("devices:\n  other: {allow: ['*']}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newPlayed(t, p) // nothing may reach the rover
	_, err = b.hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.1})
	if !errors.Is(err, devices.ErrRefused) || !strings.Contains(err.Error(), "(allowed: describe, stop)") {
		t.Fatalf("got %v", err)
	}
}

func TestEmergencyStopCancelsInFlight(t *testing.T) {
	stopped := &protocol.Error{Code: protocol.CodeStopped, Message: "emergency stop"}
	b, pb := newPlayed(t, devices.OpenPolicy(),
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.2, "ms": 5000}, Hold: true, Error: stopped},
		devicestest.IO{Action: "stop", Release: []int{0}, Result: map[string]any{"stopped": true}},
		// refused while the stop holds: the drive of 10 ms never comes
		devicestest.IO{Action: "distance", Result: 1.5},
		devicestest.IO{Action: "reset", Result: map[string]any{"reset": true}},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.2, "ms": 10}, Result: map[string]any{"x": 0.502}},
	)
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, err := b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.2, "ms": int64(5000)})
		errc <- err
	}()
	if err := pb.Wait(ctx, 1); err != nil { // the drive reached the rover
		t.Fatal(err)
	}
	results := b.hub.EStop(ctx, "test")
	if len(results) != 1 || results[0].Err != nil {
		t.Fatalf("stop results %+v", results)
	}
	if err := <-errc; !errors.Is(err, devices.ErrEStop) && !isStopped(err) {
		t.Fatalf("in-flight drive ended with %v, want an emergency stop", err)
	}
	_, err := b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.2, "ms": int64(10)})
	if !errors.Is(err, devices.ErrRefused) || !strings.Contains(err.Error(), "emergency stop engaged (test)") {
		t.Fatalf("drive during e-stop: %v", err)
	}
	if _, err := b.hub.Call(ctx, "rover", "distance", nil); err != nil {
		t.Fatalf("sensors must work during e-stop: %v", err)
	}
	for _, r := range b.hub.Reset(ctx) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if _, err := b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.2, "ms": int64(10)}); err != nil {
		t.Fatalf("drive after reset: %v", err)
	}
}

// The same against the reference firmware in real time (over an
// in-memory pipe): the rover really stops, and the recorded conversation
// shows the drive answered "stopped" only when the stop arrived.
func TestEmergencyStopStopsTheRover(t *testing.T) {
	b := newRecorded(t, devices.OpenPolicy(), firmware.Options{Clock: firmware.RealClock()})
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, err := b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.2, "ms": int64(5000)})
		errc <- err
	}()
	waitMoving(t, b)
	if results := b.hub.EStop(ctx, "test"); len(results) != 1 || results[0].Err != nil {
		t.Fatalf("stop results %+v", results)
	}
	if err := <-errc; !errors.Is(err, devices.ErrEStop) && !isStopped(err) {
		t.Fatalf("in-flight drive ended with %v, want an emergency stop", err)
	}
	if b.rover.Pose().X > 0.5+0.2*5 {
		t.Error("rover drove on")
	}
	ops := b.rec.Ops()
	drive, stop := -1, -1
	for i, op := range ops {
		switch op.Action {
		case "drive":
			drive = i
		case "stop":
			stop = i
		}
	}
	if drive < 0 || stop < drive {
		t.Fatalf("recorded %+v: want a drive, then a stop", ops)
	}
	if d := ops[drive]; !d.Hold || d.Error == nil || d.Error.Code != protocol.CodeStopped {
		t.Errorf("drive recorded as %+v, want held and answered %q", d, protocol.CodeStopped)
	}
	if !slices.Contains(ops[stop].Release, drive) {
		t.Errorf("stop recorded as %+v, want it to release the drive (IO %d)", ops[stop], drive)
	}
}

// waitMoving asks the rover until it says it is moving: each question is a
// round trip, no sleep between them.
func waitMoving(t *testing.T, b *bench) {
	t.Helper()
	testenv.Eventually(t, "rover never moved", func() bool {
		v, err := b.hub.Call(context.Background(), "rover", "get", map[string]any{"name": "moving"})
		if err != nil {
			t.Fatal(err)
		}
		return v == true
	})
}

func isStopped(err error) bool {
	var de *devices.DeviceError
	return errors.As(err, &de) && de.Code == protocol.CodeStopped
}

func TestDryRun(t *testing.T) {
	p := devices.OpenPolicy()
	p.DryRun = true
	// The drive never reaches the rover; the sensor does.
	b, _ := newPlayed(t, p, devicestest.IO{Action: "distance", Result: 1.5})
	v, err := b.hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.5, "ms": int64(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := v.(map[string]any); m["dry_run"] != true || m["action"] != "drive" {
		t.Fatalf("dry run result %#v", v)
	}
	if _, err := b.hub.Call(context.Background(), "rover", "distance", nil); err != nil {
		t.Fatalf("safe actions run in dry-run mode: %v", err)
	}
	recs := b.records(t)
	if len(recs) < 2 || recs[0].Outcome != devices.OutcomeDryRun {
		t.Errorf("audit %+v", recs)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestAuditFailureRefuses(t *testing.T) {
	b, _ := newPlayed(t, devices.OpenPolicy()) // nothing may reach the rover
	hub := devices.NewHub(devices.HubOptions{Audit: devices.NewAudit(failingWriter{})})
	if err := hub.Add(b.dev); err != nil {
		t.Fatal(err)
	}
	defer hub.Remove("rover")
	_, err := hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.1, "ms": int64(10)})
	if !errors.Is(err, devices.ErrRefused) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v, want a refusal naming the audit failure", err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"devices: {rover: {rate: -1}}", "rate -1 is negative"},
		{"devices: {rover: {allow: [drive!]}}", "not an action name"},
		{"devices: {rover: {bounds: {drive: {speed: {min: 2, max: 1}}}}}", "min 2 > max 1"},
		{"dry_runn: true", `policy, line 1: unknown key "dry_runn" (did you mean "dry_run"?)`},
		{"devices: [1, 2]", "devices must be a mapping"},
	}
	for _, tc := range tests {
		_, err := devices.ParsePolicy([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := devices.ParsePolicy(nil); err != nil {
		t.Errorf("empty policy: %v", err)
	}
}

// FuzzParsePolicy: any input either fails with an ErrPolicy error or gives
// a policy that validates and whose every name, checked against the
// rover's description, either fits it or is refused: no rule is ever
// silently without effect.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(testPolicy))
	f.Add([]byte("dry_run: true\ndefault: {allow: ['*'], rate: 1}\n"))
	f.Add([]byte("devices: {a: {bounds: {x: {y: {min: 1}}}}}"))
	f.Add([]byte("devices: {rover: {bounds: {drive: {sped: {max: 0.5}}}}}"))
	f.Add([]byte("devices: {rvoer: {deny: [telemtry], bounds: {drvie: {speed: {mxa: 1}}}}}"))
	f.Add([]byte("default: &d {allow: [drive]}\ndevices: {rover: *d}\n"))
	desc := firmware.NewRover(firmware.Options{}).Description()
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := devices.ParsePolicy(b)
		if err != nil {
			if !errors.Is(err, devices.ErrPolicy) {
				t.Fatalf("error is not ErrPolicy: %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed policy fails validation: %v", err)
		}
		for _, name := range append([]string{"rover"}, keys(p.Devices)...) {
			err := p.CheckDevice(name, &desc)
			if err != nil {
				if !errors.Is(err, devices.ErrPolicy) {
					t.Fatalf("CheckDevice error is not ErrPolicy: %v", err)
				}
				continue
			}
			rules := p.For(name)
			for _, a := range append(append([]string(nil), rules.Allow...), rules.Deny...) {
				if _, ok := desc.Actions[a]; !ok && a != "*" {
					t.Fatalf("%s: %q in allow/deny names no action, yet the policy was accepted", name, a)
				}
			}
			for a, params := range rules.Bounds {
				ad, ok := desc.Actions[a]
				if !ok {
					t.Fatalf("%s: bound on action %q that does not exist was accepted", name, a)
				}
				for pn := range params {
					if pd, ok := ad.Params[pn]; !ok || pd.Type != "number" && pd.Type != "integer" {
						t.Fatalf("%s: bound on %s.%s, not a number parameter, was accepted", name, a, pn)
					}
				}
			}
		}
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
