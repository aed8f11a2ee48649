package devices_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/firmware"
)

// TestPolicyUnknownKeys: a misspelt key at any level of a policy is refused
// when it is read, with its line and the nearest valid key; so are
// structures that cannot be a policy.
func TestPolicyUnknownKeys(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"top-level key", "dry_run: false\nadit: a.jsonl\n", `policy.yaml:2: unknown key "adit" (did you mean "audit"?)`},
		{"top-level far from all", "frobnicate: 1\n", `policy.yaml:1: unknown key "frobnicate" (valid: audit, default, devices, dry_run)`},
		{"device key", "devices:\n  rover:\n    allwo: ['*']\n", `policy.yaml:3: unknown key "allwo" in devices.rover (did you mean "allow"?)`},
		{"default key", "default:\n  rte: 5\n", `policy.yaml:2: unknown key "rte" in default (did you mean "rate"?)`},
		{"bound key mxa", "devices:\n  rover:\n    bounds:\n      drive: {speed: {mxa: 0.5}}\n", `policy.yaml:4: unknown key "mxa" in devices.rover.bounds.drive.speed (did you mean "max"?)`},
		{"bound key maximum", "devices:\n  rover:\n    bounds:\n      drive:\n        speed:\n          maximum: 0.5\n", `policy.yaml:6: unknown key "maximum" in devices.rover.bounds.drive.speed (valid: max, min)`},
		{"empty bound", "devices:\n  rover:\n    bounds:\n      drive: {speed: {}}\n", "policy.yaml:4: devices.rover.bounds.drive.speed: a bound needs min, max or both"},
		{"device name not a name", "devices:\n  'ro ver': {allow: ['*']}\n", `policy.yaml:2: devices: "ro ver" is not a device name`},
		{"action not a name", "devices:\n  rover:\n    bounds: {'dr-ive': {speed: {max: 1}}}\n", `policy.yaml:3: devices.rover.bounds: "dr-ive" is not an action name`},
		{"bounds not a mapping", "devices:\n  rover:\n    bounds: [drive]\n", "policy.yaml:3: devices.rover.bounds must be a mapping of names to values, got a list"},
		{"key not a name", "devices:\n  rover:\n    ? [a]\n    : 1\n", "policy.yaml:3: devices.rover: a key must be a plain name, got a list"},
		{"merge key", "default: &d {allow: ['*']}\ndevices:\n  rover:\n    <<: *d\n", "policy.yaml:4: devices.rover: merge keys (<<) are not supported"},
		{"two documents", "dry_run: true\n---\ndry_run: false\n", "policy.yaml:2: more than one YAML document"},
		{"not a mapping", "- a\n", "policy.yaml:1: the policy must be a mapping"},
		{"wrong type", "devices:\n  rover: {rate: fast}\n", "policy.yaml: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `fast` into float64"},
		{"alias bomb", aliasBomb(), "entries once aliases are expanded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := devices.LoadPolicy(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), path) {
				t.Errorf("error does not name the file first: %v", err)
			}
			if !errors.Is(err, devices.ErrPolicy) {
				t.Errorf("errors.Is(err, ErrPolicy) is false for %v", err)
			}
		})
	}
}

// aliasBomb is a small policy whose aliases expand to about 10^9 bounds.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("devices:\n  rover:\n    bounds:\n      drive: &p {")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i%10))
		b.WriteString(string(rune('a'+i%26)) + "_" + strconv.Itoa(i) + ": {max: 1}")
	}
	b.WriteString("}\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("      a" + strconv.Itoa(i) + ": *p\n")
	}
	return b.String()
}

func TestPolicyTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("# "+strings.Repeat("x", devices.MaxPolicyBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := devices.LoadPolicy(path)
	if err == nil || !strings.Contains(err.Error(), path+": larger than 1048576 bytes") {
		t.Fatalf("got %v", err)
	}
}

// TestPolicyFitsDevice: once a device's description is known, the names a
// policy gives its actions and parameters must be the device's; a device
// the policy does not fit is not exposed (the hub refuses to add it), with
// the line of the name, what the device has and the nearest name.
func TestPolicyFitsDevice(t *testing.T) {
	desc := firmware.NewRover(firmware.Options{}).Description()
	tests := []struct {
		name, yaml, want string // want "": the policy fits
	}{
		{"fits", testPolicy, ""},
		{"misspelt action in bounds", "devices:\n  rover:\n    allow: ['*']\n    bounds:\n      drvie: {speed: {max: 0.5}}\n",
			`policy.yaml:5: unknown key "drvie" in devices.rover.bounds: rover has no such action (did you mean "drive"?)`},
		{"misspelt parameter", "devices:\n  rover:\n    allow: ['*']\n    bounds:\n      drive: {sped: {max: 0.5}}\n",
			`policy.yaml:5: unknown key "sped" in devices.rover.bounds.drive: rover.drive has no such parameter (did you mean "speed"?)`},
		{"parameter of another action", "devices:\n  rover:\n    bounds:\n      drive:\n        degrees: {max: 10}\n",
			`policy.yaml:5: unknown key "degrees" in devices.rover.bounds.drive: rover.drive has no such parameter (valid: ms, speed)`},
		{"misspelt deny", "devices:\n  rover:\n    allow: ['*']\n    deny: [telemtry]\n",
			`policy.yaml:4: unknown action "telemtry" in devices.rover.deny: rover has no such action (did you mean "telemetry"?)`},
		{"misspelt allow", "devices:\n  rover:\n    allow:\n      - drive\n      - trun\n",
			`policy.yaml:5: unknown action "trun" in devices.rover.allow: rover has no such action (did you mean "turn"?)`},
		{"bound on a string", "devices:\n  rover:\n    bounds:\n      gripper: {state: {max: 1}}\n",
			`policy.yaml:4: devices.rover.bounds.gripper.state: rover.gripper's state is a string; only numbers can be bounded`},
		{"default names what rover lacks", "default:\n  allow: ['*']\n  bounds:\n    fly: {height: {max: 1}}\n",
			`policy.yaml:4: unknown key "fly" in default.bounds: rover has no such action`},
		{"misspelt device", "devices:\n  rvoer:\n    allow: ['*']\n    bounds: {drive: {speed: {max: 0.5}}}\n",
			`policy.yaml:2: device "rover" has no entry in devices, and "rvoer" is close to it (did you mean "rover"?)`},
		{"numbered devices are not misspellings", "devices:\n  rover2:\n    allow: ['*']\n", ""},
		{"far device names are not misspellings", "devices:\n  scout:\n    allow: ['*']\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := devices.LoadPolicy(path)
			if err != nil {
				t.Fatal(err)
			}
			// The hub refuses to add a device the policy does not fit.
			hub := devices.NewHub(devices.HubOptions{Guard: devices.NewGuard(p)})
			defer hub.Close()
			d := hub.NewDevice("rover", devices.Options{})
			if err := d.SetDescription(&desc); err != nil {
				t.Fatal(err)
			}
			err = hub.Add(d)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path+":") {
				t.Fatalf("got %v\nwant an error containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "rover is not exposed") || !errors.Is(err, devices.ErrPolicy) {
				t.Errorf("the refusal does not say the device is not exposed, or is not ErrPolicy: %v", err)
			}
			if _, ok := hub.Device("rover"); ok {
				t.Error("the device was added")
			}
		})
	}
}

// TestPolicyCheckedWhenDescriptionChanges: a device already in the hub
// whose description changes to one the policy does not fit takes no more
// calls, and each refusal is audited.
func TestPolicyCheckedWhenDescriptionChanges(t *testing.T) {
	p, err := devices.ParsePolicy([]byte("devices:\n  rover:\n    allow: ['*']\n    bounds: {drive: {speed: {max: 0.5}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newPlayed(t, p, devicestest.IO{Action: "distance", Result: 2}) // the move never reaches the rover
	ctx := context.Background()
	if _, err := b.hub.Call(ctx, "rover", "distance", nil); err != nil {
		t.Fatal(err)
	}
	changed := b.dev.Description()
	c := *changed
	c.Actions = map[string]devices.ActionDesc{}
	for k, v := range changed.Actions {
		if k == "drive" {
			k = "move" // the firmware renamed drive: the speed bound would bind nothing
		}
		c.Actions[k] = v
	}
	if err := b.dev.SetDescription(&c); err != nil {
		t.Fatal(err)
	}
	_, err = b.hub.Call(ctx, "rover", "move", map[string]any{"speed": 0.9})
	if !errors.Is(err, devices.ErrRefused) || !errors.Is(err, devices.ErrPolicy) || !strings.Contains(err.Error(), `unknown key "drive" in devices.rover.bounds`) {
		t.Fatalf("got %v", err)
	}
	recs := b.records(t)
	if last := recs[len(recs)-1]; last.Action != "move" || last.Outcome != devices.OutcomeRefused {
		t.Errorf("last audit record %+v", last)
	}
}
