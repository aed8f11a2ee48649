package devices_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// roverDescription is the reference rover's self-description.
func roverDescription() *protocol.Description {
	r := firmware.NewRover(firmware.Options{})
	defer r.Close()
	d := r.Description()
	return &d
}

// playedHub is a hub with a rover played from ops (package devicestest).
func playedHub(opts devices.HubOptions, ops ...devicestest.IO) (*devices.Hub, *devicestest.Playback) {
	hub := devices.NewHub(opts)
	pb := &devicestest.Playback{Ops: ops}
	d, err := devicestest.NewDevice(hub, roverDescription(), pb)
	if err != nil {
		log.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		log.Fatal(err)
	}
	return hub, pb
}

// Code a model writes calls a device's actions as tools; each call is a
// request to the device, through the guard and the audit log. Here the
// rover is played from a script, and the code runs in the Starlark
// runtime (docs/devices.md, the first snippet).
func Example() {
	var audit bytes.Buffer
	hub, pb := playedHub(devices.HubOptions{Audit: devices.NewAudit(&audit)},
		devicestest.IO{Action: "distance", Result: 1.0},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.3, "ms": 500}, Result: map[string]any{"moved": 0.15}},
		devicestest.IO{Action: "distance", Result: 0.85},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.3, "ms": 500}, Result: map[string]any{"moved": 0.15}},
		devicestest.IO{Action: "distance", Result: 0.7},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.3, "ms": 500}, Result: map[string]any{"moved": 0.15}},
		devicestest.IO{Action: "distance", Result: 0.55},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.3, "ms": 500}, Result: map[string]any{"moved": 0.15}},
		devicestest.IO{Action: "distance", Result: 0.4},
	)
	defer hub.Close()
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, hub); err != nil {
		log.Fatal(err)
	}
	s, err := sandbox.New(reg, sandbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	res, err := s.Exec(context.Background(), `
d = rover.distance()
while d > 0.4:
    rover.drive(speed=0.3, ms=500)
    d = rover.distance()
print("at", d, "m")
`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res.Stdout)
	var outcomes []string
	for _, line := range strings.Split(strings.TrimSpace(audit.String()), "\n") {
		var rec devices.AuditRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			log.Fatal(err)
		}
		outcomes = append(outcomes, rec.Action+":"+rec.Outcome)
	}
	fmt.Println("audit:", strings.Join(outcomes[:4], " "), "...")
	if err := pb.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// at 0.4 m
	// audit: distance:ok drive:sent drive:ok distance:ok ...
}

// A policy as docs/devices.md shows it: the rover may do everything but
// telemetry, within tighter bounds than its own, five actions a second.
func ExampleParsePolicy() {
	p, err := devices.ParsePolicy([]byte(`
dry_run: false
default:            # devices not listed below: nothing allowed
  allow: []
devices:
  rover:
    allow: ["*"]    # every action except reset, which must be named
    deny: [telemetry]
    bounds:
      drive: {speed: {min: -0.5, max: 0.5}, ms: {max: 3000}}
      turn:  {rate: {min: -60, max: 60}}
    rate: 5         # actions per second (not counting safe ones)
    burst: 10
`))
	if err != nil {
		log.Fatal(err)
	}
	hub, _ := playedHub(devices.HubOptions{Guard: devices.NewGuard(p)}) // nothing may reach the rover
	defer hub.Close()
	for _, call := range []struct {
		action string
		args   map[string]any
	}{
		{"telemetry", map[string]any{"hz": 1.0}},
		{"drive", map[string]any{"speed": 0.8}},
		{"reset", nil},
	} {
		_, err := hub.Call(context.Background(), "rover", call.action, call.args)
		fmt.Println(errors.Is(err, devices.ErrRefused), err)
	}
	// Output:
	// true rover.telemetry: refused by policy: telemetry is not allowed on rover (allowed: describe, distance, drive, get, gripper, ping, pose, stop, turn)
	// true rover.drive: refused by policy: speed must be <= 0.5, got 0.8
	// true rover.reset: refused by policy: reset is not allowed on rover (allowed: describe, distance, drive, get, gripper, ping, pose, stop, turn)
}

// A misspelt key is an error that names the line and the nearest valid
// name, never a rule that does nothing.
func ExampleParsePolicy_misspelt() {
	for _, policy := range []string{
		"devices:\n  rover:\n    bounds:\n      drive: {speed: {mxa: 0.5}}\n",
		"dry_run: true\nadit: audit.jsonl\n",
	} {
		_, err := devices.ParsePolicy([]byte(policy))
		fmt.Println(errors.Is(err, devices.ErrPolicy), err)
	}
	// Output:
	// true policy, line 4: unknown key "mxa" in devices.rover.bounds.drive.speed (did you mean "max"?)
	// true policy, line 2: unknown key "adit" (did you mean "audit"?)
}

// A policy that names what a device does not have keeps the device out of
// the hub: it gets no tools, and the error says why.
func ExampleHub_Add_policyDoesNotFit() {
	p, err := devices.ParsePolicy([]byte("devices:\n  rover:\n    allow: [\"*\"]\n    bounds:\n      drive: {sped: {max: 0.5}}\n"))
	if err != nil {
		log.Fatal(err)
	}
	hub := devices.NewHub(devices.HubOptions{Guard: devices.NewGuard(p)})
	defer hub.Close()
	d, err := devicestest.NewDevice(hub, roverDescription(), &devicestest.Playback{})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	err = hub.Add(d)
	fmt.Println(errors.Is(err, devices.ErrPolicy))
	fmt.Println(err)
	// Output:
	// true
	// add device: rover is not exposed: the policy does not fit it: policy, line 5: unknown key "sped" in devices.rover.bounds.drive: rover.drive has no such parameter (did you mean "speed"?)
}

// The emergency stop latches the guard, cancels calls in flight and sends
// stop to every device; motion is refused until a person resets, sensors
// still answer.
func ExampleHub_EStop() {
	hub, pb := playedHub(devices.HubOptions{},
		devicestest.IO{Action: "stop", Result: map[string]any{"cancelled": false}},
		devicestest.IO{Action: "distance", Result: 1.2},
		devicestest.IO{Action: "reset", Result: map[string]any{"stopped": false}},
	)
	defer hub.Close()
	ctx := context.Background()
	for _, r := range hub.EStop(ctx, "the model asked") {
		fmt.Println(r.Device, r.Result, r.Err)
	}
	_, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.2})
	fmt.Println(err)
	d, err := hub.Call(ctx, "rover", "distance", nil)
	fmt.Println(d, err)
	hub.Reset(ctx)
	if err := pb.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// rover map[cancelled:false] <nil>
	// rover.drive: refused: emergency stop engaged (the model asked); only sensors and queries run until a person resets it
	// 1.2 <nil>
}

// In dry-run mode actions that are not safe are answered without being
// sent; sensors still answer.
func ExampleGuard_dryRun() {
	p := devices.OpenPolicy()
	p.DryRun = true
	hub, pb := playedHub(devices.HubOptions{Guard: devices.NewGuard(p)}, devicestest.IO{Action: "distance", Result: 1.2})
	defer hub.Close()
	v, err := hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.3, "ms": int64(800)})
	b, _ := json.Marshal(v)
	fmt.Println(string(b), err)
	d, err := hub.Call(context.Background(), "rover", "distance", nil)
	fmt.Println(d, err)
	if err := pb.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {"action":"drive","args":{"ms":800,"speed":0.3},"device":"rover","dry_run":true} <nil>
	// 1.2 <nil>
}

// Every attempt ends in one audit record; an action that is not safe also
// gets a "sent" record just before it goes.
func ExampleNewAudit() {
	var buf bytes.Buffer
	hub, pb := playedHub(devices.HubOptions{Audit: devices.NewAudit(&buf)},
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.4, "ms": 3750}, Result: map[string]any{"moved": 1.5}},
	)
	defer hub.Close()
	ctx := tool.WithSession(context.Background(), "rover-20261125T070102")
	ctx = tool.WithCode(ctx, "rover.drive(speed=0.4, ms=3750)")
	if _, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.4, "ms": int64(3750)}); err != nil {
		log.Fatal(err)
	}
	hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.4, "ms": json.Number("1e999")}) // refused: not finite
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r devices.AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			log.Fatal(err)
		}
		args, _ := json.Marshal(r.Args)
		fmt.Println(r.Session, r.Device, r.Action, string(args), r.Outcome, r.CodeSHA256 == devices.CodeHash("rover.drive(speed=0.4, ms=3750)"))
	}
	if err := pb.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// rover-20261125T070102 rover drive {"ms":3750,"speed":0.4} sent true
	// rover-20261125T070102 rover drive {"ms":3750,"speed":0.4} ok true
	// rover-20261125T070102 rover drive {"ms":"1e999","speed":0.4} invalid true
}
