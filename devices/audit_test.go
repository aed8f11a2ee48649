package devices_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// attemptsSince groups the audit records after the first n by attempt and
// checks that each attempt has exactly one record that ends it (and at
// most one "sent" before it). It returns the ending outcomes in order.
func attemptsSince(t *testing.T, recs []devices.AuditRecord, n int) []devices.AuditRecord {
	t.Helper()
	var ends []devices.AuditRecord
	sent := map[int64]int{}
	endsOf := map[int64]int{}
	for _, r := range recs[n:] {
		if r.Attempt == 0 {
			t.Errorf("record without an attempt id: %+v", r)
		}
		if r.Outcome == devices.OutcomeSent {
			sent[r.Attempt]++
			continue
		}
		endsOf[r.Attempt]++
		ends = append(ends, r)
	}
	for a, k := range endsOf {
		if k != 1 {
			t.Errorf("attempt %d has %d ending records, want 1", a, k)
		}
	}
	for a, k := range sent {
		if k != 1 || endsOf[a] != 1 {
			t.Errorf("attempt %d: %d sent records and %d ending ones", a, k, endsOf[a])
		}
	}
	return ends
}

// TestAuditEveryAttempt: every attempt to call a device action through the
// tools, as the runtimes make them (Tool.Call for Starlark, Registry.Call
// for the Python bridge and JSON function calls), ends in exactly one
// audit record whose outcome names what refused it.
func TestAuditEveryAttempt(t *testing.T) {
	p, err := devices.ParsePolicy([]byte(`
devices:
  rover:
    allow: ["*"]
    deny: [telemetry]
    bounds:
      drive: {speed: {min: -0.5, max: 0.5}}
`))
	if err != nil {
		t.Fatal(err)
	}
	// What reaches the rover, once per path: everything else is refused
	// on the way.
	var ops []devicestest.IO
	for range 2 {
		ops = append(ops,
			devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.2, "ms": 10}, Result: map[string]any{"moved": 0.002}},
			devicestest.IO{Action: "distance", Result: 1.5},
			devicestest.IO{Action: "turn", Error: &protocol.Error{Code: protocol.CodeInvalidArgs, Message: "turn needs degrees, or rate and ms"}})
	}
	b, _ := newPlayed(t, p, ops...)
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, b.hub); err != nil {
		t.Fatal(err)
	}
	huge := json.Number("10000000000000000000")
	type call struct {
		name  string
		pos   []any
		named map[string]any
	}
	tests := []struct {
		name    string
		call    call
		outcome string
		errText string // in the record's error
		action  string // the record's action
	}{
		{"ok", call{"rover.drive", nil, map[string]any{"speed": 0.2, "ms": int64(10)}}, devices.OutcomeOK, "", "drive"},
		{"sensor ok", call{"rover.distance", nil, nil}, devices.OutcomeOK, "", "distance"},
		{"wrong type", call{"rover.drive", nil, map[string]any{"speed": "fast"}}, devices.OutcomeInvalid, "speed must be a float, got str", "drive"},
		{"nan", call{"rover.drive", nil, map[string]any{"speed": math.NaN()}}, devices.OutcomeInvalid, "speed must be a finite number, got nan", "drive"},
		{"inf", call{"rover.drive", nil, map[string]any{"speed": math.Inf(1)}}, devices.OutcomeInvalid, "got inf", "drive"},
		{"-inf ms", call{"rover.drive", nil, map[string]any{"speed": 0.1, "ms": math.Inf(-1)}}, devices.OutcomeInvalid, "ms must be a finite number, got -inf", "drive"},
		{"nan int", call{"rover.turn", nil, map[string]any{"rate": 10.0, "ms": math.NaN()}}, devices.OutcomeInvalid, "ms must be a finite number, got nan", "turn"},
		{"huge int", call{"rover.drive", nil, map[string]any{"speed": 0.1, "ms": huge}}, devices.OutcomeInvalid, "ms is out of range (0..5000), got 10000000000000000000", "drive"},
		{"device's bound", call{"rover.drive", []any{2.0}, nil}, devices.OutcomeInvalid, "speed must be <= 1.0, got 2.0", "drive"},
		{"extra argument", call{"rover.drive", nil, map[string]any{"speed": 0.1, "boost": true}}, devices.OutcomeInvalid, `unexpected argument "boost"`, "drive"},
		{"too many positional", call{"rover.drive", []any{0.1, int64(5), int64(6)}, nil}, devices.OutcomeInvalid, "takes 2 arguments but 3 were given", "drive"},
		{"missing", call{"rover.telemetry", nil, nil}, devices.OutcomeInvalid, "hz is required", "telemetry"},
		{"bad enum", call{"rover.gripper", nil, map[string]any{"state": "fly"}}, devices.OutcomeInvalid, "state must be one of", "gripper"},
		{"unknown action", call{"rover.fly", nil, map[string]any{"height": 1.0}}, devices.OutcomeUnknown, `no tool named "rover.fly"`, "fly"},
		{"reset is not a tool", call{"rover.reset", nil, nil}, devices.OutcomeUnknown, `no tool named "rover.reset"`, "reset"},
		{"describe is not a tool", call{"rover.describe", []any{int64(1)}, nil}, devices.OutcomeUnknown, `no tool named "rover.describe"`, "describe"},
		{"policy bound", call{"rover.drive", nil, map[string]any{"speed": 0.8}}, devices.OutcomeRefused, "speed must be <= 0.5, got 0.8", "drive"},
		{"denied", call{"rover.telemetry", nil, map[string]any{"hz": 1.0}}, devices.OutcomeRefused, "telemetry is not allowed on rover", "telemetry"},
		{"device error", call{"rover.turn", nil, nil}, devices.OutcomeError, "turn needs degrees", "turn"},
	}
	for _, path := range []string{"Tool.Call (Starlark)", "Registry.Call (Python, function calls)"} {
		for _, tc := range tests {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				ctx := tool.WithSession(context.Background(), "s-"+tc.name)
				n := len(b.records(t))
				var err error
				if t0, ok := reg.Lookup(tc.call.name); ok && strings.HasPrefix(path, "Tool.Call") {
					_, err = t0.Call(ctx, tc.call.pos, tc.call.named)
				} else {
					_, err = reg.Call(ctx, tc.call.name, tc.call.pos, tc.call.named)
				}
				if (err == nil) != (tc.outcome == devices.OutcomeOK) {
					t.Fatalf("call: %v", err)
				}
				ends := attemptsSince(t, b.records(t), n)
				if len(ends) != 1 {
					t.Fatalf("%d ending records, want 1: %+v", len(ends), ends)
				}
				r := ends[0]
				if r.Outcome != tc.outcome || !strings.Contains(r.Error, tc.errText) || r.Device != "rover" || r.Action != tc.action || r.Session != "s-"+tc.name {
					t.Errorf("record %+v\nwant outcome %s, action %s, error containing %q", r, tc.outcome, tc.action, tc.errText)
				}
				if err != nil && r.Error != err.Error() && !strings.Contains(err.Error(), r.Error) {
					t.Errorf("the record's error %q is not what the caller got: %v", r.Error, err)
				}
			})
		}
	}
	// The arguments as given are on record, NaN included.
	recs := b.records(t)
	found := false
	for _, r := range recs {
		if r.Session == "s-nan" && r.Args["speed"] == "nan" {
			found = true
		}
	}
	if !found {
		t.Error("no record holds the NaN argument as \"nan\"")
	}
}

// TestAuditHubRefusals: calls straight to the hub (Go callers, the CLI's
// describe and reset) end in one record each too: unknown devices and
// actions, NaN anywhere in the arguments, the emergency stop.
func TestAuditHubRefusals(t *testing.T) {
	// Only the emergency stop reaches the rover.
	b, _ := newPlayed(t, devices.OpenPolicy(), devicestest.IO{Action: "stop", Result: map[string]any{"stopped": true}})
	ctx := context.Background()
	tests := []struct {
		name, device, action string
		args                 map[string]any
		outcome, errText     string
	}{
		{"unknown device", "rovr", "ping", nil, devices.OutcomeUnknown, `no device named "rovr" (devices: rover) (did you mean "rover"?)`},
		{"unknown action", "rover", "fly", nil, devices.OutcomeUnknown, `rover has no action "fly"`},
		{"nan deep in a list", "rover", "drive", map[string]any{"speed": 0.1, "x": []any{1.0, math.NaN()}}, devices.OutcomeInvalid, "x must be a finite number, got nan"},
		{"huge forged name", "rover", strings.Repeat("a", 1<<20), nil, devices.OutcomeUnknown, "has no action"},
		{"huge argument", "rover", "drive", map[string]any{"speed": 0.1, "note": strings.Repeat("x", 1<<20)}, devices.OutcomeError, "the protocol allows 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(b.records(t))
			if _, err := b.hub.Call(ctx, tc.device, tc.action, tc.args); err == nil {
				t.Fatal("not refused")
			}
			ends := attemptsSince(t, b.records(t), n)
			if len(ends) != 1 || ends[0].Outcome != tc.outcome || !strings.Contains(ends[0].Error, tc.errText) {
				t.Fatalf("records %+v\nwant one %s containing %q", ends, tc.outcome, tc.errText)
			}
			if len(ends[0].Error) > 2048 || len(ends[0].Action) > 200 || len(ends[0].ArgsTruncated) > devices.MaxAuditArgs+100 {
				t.Errorf("record not bounded: error %d bytes, action %d bytes, args %d bytes", len(ends[0].Error), len(ends[0].Action), len(ends[0].ArgsTruncated))
			}
			if tc.name == "huge argument" && (ends[0].Args != nil || !strings.HasPrefix(ends[0].ArgsTruncated, `{"note":"xxx`)) {
				t.Errorf("huge arguments not cut: %.80q", ends[0].ArgsTruncated)
			}
		})
	}
	b.hub.EStop(ctx, "test")
	n := len(b.records(t))
	if _, err := b.hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.1}); err == nil {
		t.Fatal("drive during an emergency stop")
	}
	if ends := attemptsSince(t, b.records(t), n); len(ends) != 1 || ends[0].Outcome != devices.OutcomeRefused {
		t.Fatalf("records %+v", ends)
	}
}

// silentLink takes requests and never answers.
type silentLink struct{}

func (silentLink) Send(context.Context, []byte) error { return nil }
func (silentLink) Close() error                       { return nil }

func TestAuditTimeout(t *testing.T) {
	var audit bytes.Buffer
	var mu sync.Mutex
	hub := devices.NewHub(devices.HubOptions{Audit: devices.NewAudit(lockedWriter{&mu, &audit})})
	defer hub.Close()
	desc := firmware.NewRover(firmware.Options{}).Description()
	d := hub.NewDevice("rover", devices.Options{Timeout: 20 * time.Millisecond})
	if err := d.SetDescription(&desc); err != nil {
		t.Fatal(err)
	}
	d.Attach(silentLink{})
	d.SetState(devices.Online, nil)
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	_, err := hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.1, "ms": int64(1)})
	if err == nil {
		t.Fatal("no timeout")
	}
	var recs []devices.AuditRecord
	mu.Lock()
	text := audit.String()
	mu.Unlock()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var r devices.AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if ends := attemptsSince(t, recs, 0); len(ends) != 1 || ends[0].Outcome != devices.OutcomeTimeout || len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
}

// TestAuditStarlark runs hostile calls from real Starlark code: each
// attempt is on record once, whatever refused it.
func TestAuditStarlark(t *testing.T) {
	// Only the last call reaches the rover.
	b, _ := newPlayed(t, devices.OpenPolicy(),
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.1, "ms": 10}, Result: map[string]any{"moved": 0.001}})
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, b.hub); err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.New(reg, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, code := range []string{
		`rover.drive(speed=2)`,
		`rover.drive(speed=float("nan"))`,
		`rover.drive(speed=float("-inf"))`,
		`rover.drive(speed=0.1, ms=1e19)`,
		`rover.drive(speed=0.1, boost=1)`,
		`rover.drive("fast")`,
		`rover.gripper(state="fly")`,
		`rover.drive(speed=0.1, ms=10)`,
	} {
		t.Run(code, func(t *testing.T) {
			n := len(b.records(t))
			res, err := s.Exec(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			ends := attemptsSince(t, b.records(t), n)
			if len(ends) != 1 {
				t.Fatalf("%d ending records for one attempt (result %+v)", len(ends), res.Err)
			}
			if ok := ends[0].Outcome == devices.OutcomeOK; ok != (res.Err == nil) {
				t.Errorf("record %+v, result error %+v", ends[0], res.Err)
			}
			if res.Err != nil && (ends[0].Outcome != devices.OutcomeInvalid || !strings.Contains(res.Err.Message, ends[0].Error)) {
				t.Errorf("record %+v does not match what the code saw: %s", ends[0], res.Err.Message)
			}
		})
	}
}

// TestAuditPython runs hostile calls from the Python worker: each attempt
// is on record once, whatever refused it, forged calls included.
func TestAuditPython(t *testing.T) {
	// Only the last call reaches the rover.
	b, _ := newPlayed(t, devices.OpenPolicy(),
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.1, "ms": 10}, Result: map[string]any{"moved": 0.001}})
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
	// forge builds a tool function for any name the way the worker does,
	// as hostile code can.
	const forge = `f = rover.drive.__globals__.get("make_tool")
if f is None:
    print("NO-FORGE")
else:
    f({"name": %q})(*%s)
`
	tests := []struct {
		code, outcome, errText string
	}{
		{`rover.drive(speed=2)`, devices.OutcomeInvalid, "speed must be <= 1.0, got 2"},
		{`rover.drive(speed="fast")`, devices.OutcomeInvalid, "must be a float, got str"},
		{`rover.drive(speed=0.1, ms=10**19)`, devices.OutcomeInvalid, "ms is out of range (0..5000), got 10000000000000000000"},
		{`rover.drive(speed=10**400)`, devices.OutcomeInvalid, "speed is out of range (-1.0..1.0), got 10000000000000000000...0000000000 (401 digits)"},
		{`rover.drive(speed=0.1, ms=-10**30)`, devices.OutcomeInvalid, "ms is out of range (0..5000), got -1000000000000000000000000000000"},
		{`rover.drive(speed=0.1, boost=True)`, devices.OutcomeInvalid, `unexpected argument "boost"`},
		{`rover.drive(0.1, 5, 6)`, devices.OutcomeInvalid, "takes 2 arguments but 3 were given"},
		{`rover.drive(speed=[0.1])`, devices.OutcomeInvalid, "must be a float, got list"},
		{`rover.telemetry()`, devices.OutcomeInvalid, "hz is required"},
		{fmt.Sprintf(forge, "rover.reset", "[]"), devices.OutcomeUnknown, `no tool named "rover.reset"`},
		{fmt.Sprintf(forge, "rover.describe", "[]"), devices.OutcomeUnknown, `no tool named "rover.describe"`},
		{fmt.Sprintf(forge, "rover.fly", "[1, 2]"), devices.OutcomeUnknown, `no tool named "rover.fly"`},
		{`rover.drive(speed=0.1, ms=10)`, devices.OutcomeOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			n := len(b.records(t))
			res, err := s.Exec(context.Background(), tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(res.Stdout, "NO-FORGE") {
				t.Skip("the worker has no make_tool to forge calls with")
			}
			ends := attemptsSince(t, b.records(t), n)
			if len(ends) != 1 || ends[0].Outcome != tc.outcome || !strings.Contains(ends[0].Error, tc.errText) {
				t.Fatalf("records %+v\nwant one ending %s with %q (result %+v)", ends, tc.outcome, tc.errText, res.Err)
			}
			if tc.outcome != devices.OutcomeOK && (res.Err == nil || !strings.Contains(res.Err.Message, tc.errText)) {
				t.Errorf("the code saw %+v, want %q", res.Err, tc.errText)
			}
		})
	}
}

// TestStatedDurationBounded: a call straight to the hub (no tool checks)
// stating an absurd duration waits its timeout plus at most the cap, and
// never a negative time: the silent device below answers nothing, and the
// call must still be waiting when the context ends it.
func TestStatedDurationBounded(t *testing.T) {
	hub := devices.NewHub(devices.HubOptions{})
	defer hub.Close()
	desc := firmware.NewRover(firmware.Options{}).Description()
	d := hub.NewDevice("rover", devices.Options{Timeout: time.Millisecond})
	if err := d.SetDescription(&desc); err != nil {
		t.Fatal(err)
	}
	d.Attach(silentLink{})
	d.SetState(devices.Online, nil)
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	for _, ms := range []any{1e19, json.Number("100000000000000000000000"), int64(math.MaxInt64)} {
		ctx, cancel := context.WithCancelCause(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.1, "ms": ms})
			errc <- err
		}()
		stop := errors.New("ended by the test")
		time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
		if err := <-errc; !errors.Is(err, stop) {
			t.Errorf("ms=%v: the call ended with %v before the test ended it (an overflowed wait?)", ms, err)
		}
	}
}
