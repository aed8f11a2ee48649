package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/devices"
	dmqtt "github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// rig is the embedded MQTT broker with simulated rovers of the reference
// firmware on it, each on a simulated clock (a drive runs until the test
// advances the clock or stops it), and a hub that reaches them through the
// guard and an audit log.
type rig struct {
	broker *dmqtt.Broker
	hub    *devices.Hub
	audit  *testenv.Buffer
	rovers map[string]*simRover
}

type simRover struct {
	r      *firmware.Rover
	clock  *firmware.SimClock
	cancel context.CancelFunc
	served chan error
}

func newRig(t *testing.T, policy devices.Policy, names ...string) *rig {
	t.Helper()
	ctx := context.Background()
	b, err := dmqtt.StartBroker(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	rg := &rig{broker: b, audit: &testenv.Buffer{}, rovers: map[string]*simRover{}}
	rg.hub = devices.NewHub(devices.HubOptions{Guard: devices.NewGuard(policy), Audit: devices.NewAudit(rg.audit)})
	t.Cleanup(func() { rg.hub.Close() })
	for _, name := range names {
		sr := &simRover{clock: firmware.NewSimClock(), served: make(chan error, 1)}
		sr.r = firmware.NewRover(firmware.Options{Name: name, Clock: sr.clock})
		rctx, cancel := context.WithCancel(ctx)
		sr.cancel = cancel
		go func() { sr.served <- sr.r.ServeMQTT(rctx, b.URL(), firmware.MQTTOptions{}) }()
		t.Cleanup(func() { rg.kill(t, name); sr.r.Close() })
		rg.rovers[name] = sr
	}
	// A patient reply timeout: a slow machine must not turn a lost device
	// into a timeout.
	bus, err := dmqtt.Connect(ctx, rg.hub, dmqtt.Options{Broker: b.URL(), Timeout: testenv.Patience})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	wctx, cancel := context.WithTimeout(ctx, testenv.Patience)
	defer cancel()
	if err := bus.Wait(wctx, names...); err != nil {
		t.Fatal(err)
	}
	return rg
}

// kill ends a rover's firmware: it says goodbye (offline) and leaves.
func (rg *rig) kill(t *testing.T, name string) {
	sr := rg.rovers[name]
	if sr.cancel == nil {
		return
	}
	sr.cancel()
	sr.cancel = nil
	if err := <-sr.served; err != nil {
		t.Errorf("rover %s: %v", name, err)
	}
}

// moving waits until a drive or turn runs on the rover (its motion timer
// is set on its clock).
func (rg *rig) moving(t *testing.T, name string) {
	t.Helper()
	c := rg.rovers[name].clock
	testenv.Eventually(t, name+" moves", func() bool { return c.Pending() > 0 })
}

// auditRecords returns the audit log's records.
func (rg *rig) auditRecords(t *testing.T) []devices.AuditRecord {
	t.Helper()
	var out []devices.AuditRecord
	sc := bufio.NewScanner(strings.NewReader(rg.audit.String()))
	for sc.Scan() {
		var r devices.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit record %s: %v", sc.Bytes(), err)
		}
		out = append(out, r)
	}
	return out
}

// counter reads a counter of the server's metrics by its labels.
func counter(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			if m.Histogram != nil {
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// recv waits for a value on ch; it fails the test after testenv.Patience
// (a hang, not a slow machine).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(testenv.Patience)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("after %v: no %s", testenv.Patience, what)
		panic("unreachable")
	}
}

func devSession(devs ...string) map[string]any {
	return map[string]any{"devices": devs}
}

func TestDevicesAPI(t *testing.T) {
	rg := newRig(t, devices.OpenPolicy(), "rover", "scout")
	h := newHarness(t, Config{Devices: rg.hub})

	var list struct {
		Devices []DeviceSummary
		EStop   EStopState
	}
	h.do("GET", "/v1/devices", nil).decode(t, &list)
	if len(list.Devices) != 2 || list.Devices[0].Name != "rover" || list.Devices[0].State != "online" ||
		!strings.Contains(strings.Join(list.Devices[0].Actions, ","), "drive") || list.EStop.Engaged {
		t.Fatalf("devices: %+v", list)
	}
	var info DeviceInfo
	r := h.do("GET", "/v1/devices/rover", nil)
	r.decode(t, &info)
	sigs := map[string]string{}
	for _, tl := range info.Tools {
		sigs[tl.Name] = tl.Signature
	}
	if r.status != 200 || info.Protocol == nil || info.Protocol.Actions["drive"].Params["speed"].Maximum == nil ||
		!strings.HasPrefix(sigs["rover.drive"], "rover.drive(speed: float, ms: int = 500)") || info.Policy.Rate != 20 {
		t.Fatalf("describe: %d %s", r.status, r.body)
	}

	// Bad input: an unknown device, a session asking for one, devices
	// without a runtime.
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		code, msg    string
	}{
		{"GET", "/v1/devices/nosuch", nil, 404, "unknown_device", `no device "nosuch" (devices: rover, scout)`},
		{"POST", "/v1/devices/nosuch/estop", nil, 404, "unknown_device", "no device"},
		{"POST", "/v1/sessions", devSession("rover", "nosuch"), 400, "unknown_device", `no device "nosuch"`},
		{"POST", "/v1/sessions", map[string]any{"runtime": "none", "devices": []string{"rover"}}, 400, "bad_runtime", "needs a code runtime"},
		{"POST", "/v1/sessions", map[string]any{"devices": "rover"}, 400, "wrong_type", "devices"},
		{"POST", "/v1/sessions", map[string]any{"env": map[string]any{"kind": "none", "game": testGame}}, 400, "bad_env", "takes no game"},
		{"POST", "/v1/estop", `{"reason": 1}`, 400, "wrong_type", "reason"},
	} {
		r := h.do(tt.method, tt.path, tt.body)
		var e errorBody
		r.decode(t, &e)
		if r.status != tt.status || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.msg) {
			t.Errorf("%s %s %v: %d %s", tt.method, tt.path, tt.body, r.status, r.body)
		}
	}

	// A session with a device: no task environment, the device's tools.
	s := h.create("", devSession("rover"))
	if s.Env.Kind != "none" || strings.Join(s.Devices, ",") != "rover" || !strings.Contains(s.Observation, "drives the devices rover") {
		t.Fatalf("session: %+v", s)
	}
	var tl ToolList
	h.do("GET", "/v1/sessions/"+s.ID+"/tools", nil).decode(t, &tl)
	if !strings.Contains(tl.Prompt, "rover.drive(speed: float, ms: int = 500)") || !strings.Contains(tl.Prompt, "devices.stop(") ||
		strings.Contains(tl.Prompt, "scout.") || strings.Contains(tl.Prompt, "goto(") {
		t.Fatalf("tools: %s", tl.Prompt)
	}
	code := "d = rover.distance()\nprint(d > 0, devices.list())"
	var ex ExecResult
	r = h.do("POST", "/v1/sessions/"+s.ID+"/exec", map[string]any{"code": code})
	r.decode(t, &ex)
	if ex.Stdout != "True {'rover': 'online'}\n" {
		t.Fatalf("exec: %s", r.body)
	}
	// The other device is not this session's; misspelt actions are named.
	h.do("POST", "/v1/sessions/"+s.ID+"/exec", map[string]any{"code": "scout.distance()"}).decode(t, &ex)
	if ex.Exception == nil || ex.Exception.Type != "NameError" {
		t.Fatalf("another device: %+v", ex)
	}
	var st StepResult
	h.do("POST", "/v1/sessions/"+s.ID+"/step", map[string]any{"command": "look"}).decode(t, &st)
	if !strings.Contains(st.Observation, "no task environment") {
		t.Fatalf("step: %+v", st)
	}
	// "*" is every device; an ALFWorld game and devices in one session.
	both := h.create("", map[string]any{"devices": []string{"*"}, "env": game()})
	h.do("GET", "/v1/sessions/"+both.ID+"/tools", nil).decode(t, &tl)
	if strings.Join(both.Devices, ",") != "rover,scout" || both.Env.Kind != "alfworld" || !strings.Contains(tl.Prompt, "goto(") ||
		!strings.Contains(tl.Prompt, "scout.turn(") {
		t.Fatalf("both: %+v\n%s", both, tl.Prompt)
	}

	// Every call is audited, with the session and the code's hash.
	var found bool
	for _, rec := range rg.auditRecords(t) {
		if rec.Action == "distance" && rec.Session == s.ID && rec.Outcome == devices.OutcomeOK && rec.CodeSHA256 == devices.CodeHash(code) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit record of the distance call:\n%s", rg.audit.String())
	}
	if n := counter(t, h.srv.Gatherer(), "gantry_device_round_trip_seconds", map[string]string{"device": "rover"}); n != 1 {
		t.Errorf("round trips: %v", n)
	}
	if n := counter(t, h.srv.Gatherer(), "gantry_device_calls_total", map[string]string{"device": "rover", "outcome": "ok"}); n != 1 {
		t.Errorf("device calls: %v", n)
	}

	// A server without devices says so.
	plain := newHarness(t, Config{})
	for _, p := range []string{"/v1/devices/rover"} {
		if r := plain.do("GET", p, nil); r.status != 404 || r.errCode(t) != "no_devices" {
			t.Errorf("%s without devices: %d %s", p, r.status, r.body)
		}
	}
	if r := plain.do("POST", "/v1/sessions", devSession("rover")); r.status != 400 || r.errCode(t) != "no_devices" {
		t.Errorf("session without devices: %d %s", r.status, r.body)
	}
	plain.do("GET", "/v1/devices", nil).decode(t, &list)
	if len(list.Devices) != 0 {
		t.Errorf("devices of a server without: %+v", list)
	}
}

// deviceTokens: alice may use the rover, within her own policy (sensors
// and slow drives); bob may use no device; carol may use every device and
// release an emergency stop.
func deviceTokens(t *testing.T) *Tokens {
	t.Helper()
	ts, err := ParseTokens([]byte(`
tokens:
  - name: alice
    token: ` + aliceSecret + `
    envs: [none, alfworld]
    devices: [rov*]
    device_policy:
      devices:
        rover:
          allow: [distance, get, drive]
          bounds: {drive: {speed: {max: 0.2}}}
  - name: bob
    token: ` + bobSecret + `
  - name: carol
    token: carol-0123456789abcdef
    devices: ["*"]
    device_reset: true
`))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestDeviceTokens(t *testing.T) {
	rg := newRig(t, devices.OpenPolicy(), "rover", "scout")
	h := newHarness(t, Config{Devices: rg.hub, Tokens: deviceTokens(t)})
	ctx := context.Background()
	const carol = "carol-0123456789abcdef"

	var list struct{ Devices []DeviceSummary }
	h.raw(ctx, aliceSecret, "GET", "/v1/devices", nil).decode(t, &list)
	if len(list.Devices) != 1 || list.Devices[0].Name != "rover" {
		t.Fatalf("alice's devices: %+v", list)
	}
	h.raw(ctx, bobSecret, "GET", "/v1/devices", nil).decode(t, &list)
	if len(list.Devices) != 0 {
		t.Fatalf("bob's devices: %+v", list)
	}
	var info DeviceInfo
	h.raw(ctx, aliceSecret, "GET", "/v1/devices/rover", nil).decode(t, &info)
	if info.TokenPolicy == nil || strings.Join(info.TokenPolicy.Allow, ",") != "distance,get,drive" ||
		*info.TokenPolicy.Bounds["drive"]["speed"].Max != 0.2 {
		t.Fatalf("alice's policy: %+v", info.TokenPolicy)
	}
	for _, tt := range []struct {
		token, method, path string
		body                any
		status              int
		msg                 string
	}{
		{bobSecret, "GET", "/v1/devices/rover", nil, 403, `token "bob" may not use device "rover"`},
		{aliceSecret, "GET", "/v1/devices/scout", nil, 403, `token "alice" may not use device "scout" (allowed: rov*)`},
		{aliceSecret, "POST", "/v1/devices/scout/estop", nil, 403, "may not use"},
		{aliceSecret, "POST", "/v1/sessions", devSession("rover", "scout"), 403, `may not use device "scout"`},
		{bobSecret, "POST", "/v1/sessions", devSession("rover"), 403, `token "bob" may use no device`},
		{aliceSecret, "POST", "/v1/devices/reset", nil, 403, "device_reset"},
		{"", "GET", "/v1/devices", nil, 401, "bearer token"},
	} {
		r := h.raw(ctx, tt.token, tt.method, tt.path, tt.body)
		var e errorBody
		r.decode(t, &e)
		if r.status != tt.status || !strings.Contains(e.Error.Message, tt.msg) {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
		}
	}

	// Alice's session: her policy refuses what the server's allows.
	s := h.create(aliceSecret, devSession("*"))
	if strings.Join(s.Devices, ",") != "rover" {
		t.Fatalf("alice's session: %+v", s)
	}
	exec := func(code string) ExecResult {
		t.Helper()
		var ex ExecResult
		h.raw(ctx, aliceSecret, "POST", "/v1/sessions/"+s.ID+"/exec", map[string]any{"code": code}).decode(t, &ex)
		return ex
	}
	if ex := exec("rover.turn(degrees=10)"); ex.Exception == nil || ex.Exception.Type != "PermissionError" ||
		!strings.Contains(ex.Exception.Message, "turn is not allowed on rover (allowed: describe, distance, drive, get, stop)") {
		t.Fatalf("turn: %+v", ex.Exception)
	}
	if ex := exec("rover.drive(speed=0.5, ms=10)"); ex.Exception == nil || ex.Exception.Type != "PermissionError" ||
		!strings.Contains(ex.Exception.Message, "speed must be <= 0.2, got 0.5") {
		t.Fatalf("fast drive: %+v", ex.Exception)
	}
	if ex := exec("rover.drive(speed=2)"); ex.Exception == nil || ex.Exception.Type != "ValueError" {
		t.Fatalf("drive beyond the device's bounds: %+v", ex.Exception)
	}
	g := h.srv.Gatherer()
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"reason": "not_allowed", "guard": "token"}, 1},
		{map[string]string{"reason": "bounds", "guard": "token"}, 1},
		{map[string]string{"reason": "bounds", "guard": "server"}, 0},
	} {
		if n := counter(t, g, "gantry_guard_refusals_total", c.labels); n != c.want {
			t.Errorf("refusals %v: %v, want %v", c.labels, n, c.want)
		}
	}
	if n := counter(t, g, "gantry_device_calls_total", map[string]string{"outcome": "invalid"}); n != 1 {
		t.Errorf("invalid calls: %v", n)
	}
	var refused int
	for _, rec := range rg.auditRecords(t) {
		if rec.Outcome == devices.OutcomeRefused && rec.Session == s.ID {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d refusals audited, want 2:\n%s", refused, rg.audit.String())
	}

	// Bob's e-stop interrupts his actions only; alice's stops the devices;
	// carol releases them.
	var es EstopResult
	h.raw(ctx, bobSecret, "POST", "/v1/estop", nil).decode(t, &es)
	if es.Devices != nil || es.EStop.Engaged {
		t.Fatalf("bob's e-stop: %+v", es)
	}
	h.raw(ctx, aliceSecret, "POST", "/v1/estop", map[string]any{"reason": "test"}).decode(t, &es)
	if len(es.Devices) != 2 || !es.EStop.Engaged || es.EStop.Reason != "test" {
		t.Fatalf("alice's e-stop: %+v", es)
	}
	var rr ResetResult
	h.raw(ctx, carol, "POST", "/v1/devices/reset", nil).decode(t, &rr)
	if len(rr.Devices) != 2 || rr.EStop.Engaged {
		t.Fatalf("reset: %+v", rr)
	}
}

func TestParseDeviceTokens(t *testing.T) {
	for _, tt := range []struct{ text, err string }{
		{"devices: ['[']", `"[" is not a device name or glob`},
		{"device_policy: {devices: {rover: {alow: [x]}}}", `device_policy: policy, line 1: unknown key "alow" in devices.rover (did you mean "allow"?)`},
		{"device_policy: {audit: a.jsonl}", "audit is the server's"},
	} {
		_, err := ParseTokens([]byte("tokens:\n  - name: x\n    token: x-0123456789abcdef\n    " + tt.text + "\n"))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.text, err, tt.err)
		}
	}
}

// TestDeviceVanishes kills the rover's firmware while a drive runs: the
// action ends with ConnectionError, and the server stays healthy.
func TestDeviceVanishes(t *testing.T) {
	rg := newRig(t, devices.OpenPolicy(), "rover")
	h := newHarness(t, Config{Devices: rg.hub, ActionTimeout: time.Hour})
	s := h.create("", devSession("rover"))
	sess := "/v1/sessions/" + s.ID
	done := make(chan response, 1)
	go func() {
		done <- h.do("POST", sess+"/exec", map[string]any{"code": "print('start')\nrover.drive(speed=0.2, ms=5000)"})
	}()
	rg.moving(t, "rover")
	rg.kill(t, "rover")
	r := recv(t, done, "answer of the drive")
	var ex ExecResult
	r.decode(t, &ex)
	if r.status != 200 || ex.Stdout != "start\n" || ex.Exception == nil || ex.Exception.Type != "ConnectionError" ||
		!strings.Contains(ex.Exception.Message, "lost mid-command") {
		t.Fatalf("drive of a vanished rover: %d %s", r.status, r.body)
	}
	if n := counter(t, h.srv.Gatherer(), "gantry_device_calls_total", map[string]string{"outcome": "lost"}); n != 1 {
		t.Errorf("lost calls: %v", n)
	}
	// Healthy: the session runs code, the device reads offline at once.
	if r := h.do("GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	h.do("POST", sess+"/exec", map[string]any{"code": "print(devices.list())\nrover.distance()"}).decode(t, &ex)
	if ex.Stdout != "{'rover': 'offline'}\n" || ex.Exception == nil || ex.Exception.Type != "ConnectionError" {
		t.Fatalf("after: %+v", ex)
	}
	var info DeviceInfo
	h.do("GET", "/v1/devices/rover", nil).decode(t, &info)
	if info.State != "offline" {
		t.Fatalf("state %q", info.State)
	}
	if r := h.do("POST", "/v1/devices/rover/estop", nil); r.status != 503 || r.errCode(t) != "device_unavailable" {
		t.Fatalf("stop of an offline device: %d %s", r.status, r.body)
	}
}

// TestEstopDuringDeviceAction stops every device while a drive runs: the
// drive's call is cancelled, motion is refused until a reset, and a
// shutdown during a device action stops the devices.
func TestEstopDuringDeviceAction(t *testing.T) {
	rg := newRig(t, devices.OpenPolicy(), "rover")
	cfg, ev := withEvents(Config{Devices: rg.hub, ActionTimeout: time.Hour})
	h := newHarness(t, cfg)
	s := h.create("", devSession("rover"))
	sess := "/v1/sessions/" + s.ID
	done := make(chan response, 1)
	go func() { done <- h.do("POST", sess+"/exec", map[string]any{"code": "rover.drive(speed=0.2, ms=5000)"}) }()
	recv(t, ev.started, "start of the action")
	rg.moving(t, "rover")
	var es EstopResult
	h.do("POST", "/v1/estop", nil).decode(t, &es)
	if es.Stopped != 1 || !es.EStop.Engaged || es.Devices["rover"].Error != "" || !strings.Contains(string(es.Devices["rover"].Result), `"stopped":true`) {
		t.Fatalf("e-stop: %+v", es)
	}
	r := recv(t, done, "answer of the drive")
	var ex ExecResult
	r.decode(t, &ex)
	// The drive's call fails (with the e-stop's reason, or with the
	// rover's own "drive cancelled by stop" when its reply wins the race)
	// and the action is interrupted: which the code sees first depends on
	// timing.
	if r.status != 200 || ex.Exception == nil || (ex.Exception.Type != "InterruptedError" && ex.Exception.Type != "KeyboardInterrupt") {
		t.Fatalf("interrupted drive: %d %s", r.status, r.body)
	}
	recv(t, ev.ended, "end of the action")
	h.do("POST", sess+"/exec", map[string]any{"code": "print(rover.distance())\nrover.drive(speed=0.1, ms=10)"}).decode(t, &ex)
	if ex.Exception == nil || ex.Exception.Type != "PermissionError" || !strings.Contains(ex.Exception.Message, "emergency stop engaged") {
		t.Fatalf("drive during the e-stop: %+v", ex)
	}
	recv(t, ev.ended, "end of the action")
	if n := counter(t, h.srv.Gatherer(), "gantry_guard_refusals_total", map[string]string{"reason": "estop", "guard": "server"}); n != 1 {
		t.Errorf("e-stop refusals: %v", n)
	}
	var list struct{ EStop EStopState }
	h.do("GET", "/v1/devices", nil).decode(t, &list)
	if !list.EStop.Engaged {
		t.Fatal("the e-stop does not show")
	}
	var rr ResetResult
	h.do("POST", "/v1/devices/reset", nil).decode(t, &rr)
	if rr.EStop.Engaged || rr.Devices["rover"].Error != "" {
		t.Fatalf("reset: %+v", rr)
	}
	// One device's stop.
	var ds DeviceStopResult
	h.do("POST", "/v1/devices/rover/estop", nil).decode(t, &ds)
	if ds.Device != "rover" || !strings.Contains(string(ds.Result), `"stopped":true`) {
		t.Fatalf("device stop: %+v", ds)
	}
	h.do("POST", "/v1/devices/reset", nil)

	// Shutting down while a drive runs stops the devices.
	go func() { done <- h.do("POST", sess+"/exec", map[string]any{"code": "rover.drive(speed=0.2, ms=5000)"}) }()
	recv(t, ev.started, "start of the action")
	rg.moving(t, "rover")
	h.srv.Close()
	recv(t, done, "answer of the drive")
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer cancel()
	if v, err := rg.hub.Call(ctx, "rover", "get", map[string]any{"name": "stopped"}); err != nil || v != true {
		t.Fatalf("the rover after a shutdown mid-drive: stopped=%v %v", v, err)
	}
}

// TestMCPDevices drives an MCP session with devices: the device resources,
// run_code's listing, a device call and the e-stop.
func TestMCPDevices(t *testing.T) {
	rg := newRig(t, devices.OpenPolicy(), "rover")
	srv, err := New(workerConfig(t, Config{Devices: rg.hub, MCP: MCPConfig{Devices: []string{"*"}}}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ct, st := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStdio(ctx, st) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.ListResources(ctx, nil)
	if err != nil || len(res.Resources) != 1 || res.Resources[0].URI != "gantry://devices/rover" {
		t.Fatalf("resources: %v %+v", err, res)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "gantry://devices/rover"})
	if err != nil || len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, `"rover.drive(speed: float, ms: int = 500)`) {
		t.Fatalf("read: %v %+v", err, rr)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "gantry://devices/nosuch"}); err == nil {
		t.Fatal("an unknown device read")
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools.Tools {
		if tl.Name == "run_code" && (!strings.Contains(tl.Description, "rover.drive(speed: float, ms: int = 500)") || strings.Contains(tl.Description, "goto(")) {
			t.Errorf("run_code's description:\n%s", tl.Description)
		}
	}
	r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"code": "print(rover.distance() > 0)"}})
	if err != nil || r.IsError || textOf(t, r) != "True" {
		t.Fatalf("run_code: %v %q", err, textOf(t, r))
	}
	// Each action is a tool of its own too, in the same session.
	names := map[string]bool{}
	for _, tl := range tools.Tools {
		names[tl.Name] = true
	}
	if !names["rover_drive"] || !names["rover_distance"] || names["rover_reset"] {
		t.Fatalf("tools: %v", names)
	}
	r, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "rover_get", Arguments: map[string]any{"name": "bumps"}})
	if err != nil || r.IsError || textOf(t, r) != "0" {
		t.Fatalf("rover_get: %v %q", err, textOf(t, r))
	}
	r, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "rover_drive", Arguments: map[string]any{"speed": 9}})
	if err != nil || !r.IsError || !strings.HasPrefix(textOf(t, r), "ValueError: rover.drive: speed") {
		t.Fatalf("rover_drive too fast: %v %q", err, textOf(t, r))
	}
	if n := srv.sessionCount(); n != 1 {
		t.Fatalf("%d sessions for one MCP session", n)
	}
	r, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "estop"})
	if err != nil || !strings.Contains(textOf(t, r), "rover: stopped {") {
		t.Fatalf("estop: %v %q", err, textOf(t, r))
	}
	if on, _ := rg.hub.Guard().Stopped(); !on {
		t.Fatal("the e-stop over MCP did not latch the guard")
	}
	cs.Close()
	recv(t, served, "end of the MCP session")
}

// TestMCPPythonDevices reads a device resource and calls estop with the
// official Python SDK over streamable HTTP, with a bearer token.
func TestMCPPythonDevices(t *testing.T) {
	py := mcpPython(t)
	rg := newRig(t, devices.OpenPolicy(), "rover")
	h := newHarness(t, Config{Devices: rg.hub, Tokens: deviceTokens(t), MCP: MCPConfig{Devices: []string{"*"}}})
	cmd := exec.Command(py, filepath.Join("testdata", "mcp_client.py"), "http", h.ts.URL+"/mcp", aliceSecret)
	cmd.Env = append(os.Environ(), "GANTRY_MCP_DEVICES=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mcp_client.py: %v\n%s", err, stderrOf(err))
	}
	var rep struct {
		Resources     []string `json:"resources"`
		HasDrive      bool     `json:"has_drive"`
		ResourceTools []string `json:"resource_tools"`
		Call, EStop   string
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if strings.Join(rep.Resources, ",") != "gantry://devices/rover" || !rep.HasDrive || !slices.Contains(rep.ResourceTools, "rover.drive") ||
		rep.Call != "True" || !strings.Contains(rep.EStop, "rover: stopped {") {
		t.Fatalf("report: %+v", rep)
	}
	if on, why := rg.hub.Guard().Stopped(); !on || !strings.Contains(why, "alice") {
		t.Fatalf("e-stop over MCP: %v %q", on, why)
	}
}

// bearer adds a bearer token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestMCPDevicesTokens: over streamable HTTP, a token's MCP session gets
// the devices it may use, and a token that may use none still runs code.
func TestMCPDevicesTokens(t *testing.T) {
	rg := newRig(t, devices.OpenPolicy(), "rover", "scout")
	h := newHarness(t, Config{Devices: rg.hub, Tokens: deviceTokens(t), MCP: MCPConfig{Devices: []string{"*"}}})
	ctx := context.Background()
	for _, tt := range []struct {
		token, code, want string
		isError           bool
	}{
		{aliceSecret, "print(devices.list())", "{'rover': 'online'}", false},
		{aliceSecret, "scout.distance()", "NameError", true},
		{bobSecret, "print(1 + 1)", "2", false},
		{bobSecret, "rover.distance()", "NameError", true},
	} {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx,
			&mcp.StreamableClientTransport{Endpoint: h.ts.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer{tt.token}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"code": tt.code}})
		if err != nil || r.IsError != tt.isError || !strings.Contains(textOf(t, r), tt.want) {
			t.Errorf("%s: %v %v %q", tt.code, err, r.IsError, textOf(t, r))
		}
		// The resources are the token's too.
		_, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "gantry://devices/scout"})
		if err == nil || !strings.Contains(err.Error(), "may not use device") {
			t.Errorf("scout's resource: %v", err)
		}
		cs.Close()
	}
}

// BenchmarkDeviceCall measures a device call through a session (a code
// action calling rover.distance(), over the embedded broker) against the
// same call on the hub directly.
func BenchmarkDeviceCall(b *testing.B) {
	ctx := context.Background()
	br, err := dmqtt.StartBroker(ctx, "127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	hub := devices.NewHub(devices.HubOptions{})
	defer hub.Close()
	r := firmware.NewRover(firmware.Options{Name: "rover"})
	defer r.Close()
	rctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- r.ServeMQTT(rctx, br.URL(), firmware.MQTTOptions{}) }()
	defer func() { cancel(); <-served }()
	bus, err := dmqtt.Connect(ctx, hub, dmqtt.Options{Broker: br.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	if err := bus.Wait(ctx, "rover"); err != nil {
		b.Fatal(err)
	}
	b.Run("hub", func(b *testing.B) {
		for b.Loop() {
			if _, err := hub.Call(ctx, "rover", "distance", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	srv, err := New(Config{Devices: hub, NoIsolate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ss, _, err := srv.createSession(ctx, nil, createRequest{Devices: []string{"rover"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("session", func(b *testing.B) {
		for b.Loop() {
			res, err := srv.exec(ctx, ss, "rover.distance()")
			if err != nil || res.Exception != nil {
				b.Fatal(err, res.Observation)
			}
		}
	})
}
