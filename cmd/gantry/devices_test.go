package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
)

// simBroker starts the embedded broker with simulated rovers for a test.
func simBroker(t *testing.T, names ...string) string {
	t.Helper()
	sim, err := startSimulation(context.Background(), "127.0.0.1:0", 20, slog.New(slog.DiscardHandler), names...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim.broker.URL()
}

// TestSimulationShutdown: when the simulation's context ends, its rovers
// say goodbye through a broker that is still there (a retained offline
// status a later client reads), and nothing warns of a lost connection.
func TestSimulationShutdown(t *testing.T) {
	var logs testenv.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	sim, err := startSimulation(ctx, "127.0.0.1:0", 20, slog.New(slog.NewTextHandler(&logs, nil)), "rover")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	url := sim.broker.URL()
	if out, err := runCLI(t, "", "devices", "--broker", url, "list"); err != nil || !strings.Contains(out, "rover   online") {
		t.Fatalf("before: %v\n%s", err, out)
	}
	cancel()
	sim.wg.Wait() // the rovers have returned; the broker runs until Close
	out, err := runCLI(t, "", "devices", "--broker", url, "list")
	if err != nil || !strings.Contains(out, "rover   offline") {
		t.Fatalf("after the context ended: %v\n%s", err, out)
	}
	sim.Close()
	if s := logs.String(); strings.Contains(s, "level=WARN") || strings.Contains(s, "level=ERROR") {
		t.Errorf("shutdown logged:\n%s", s)
	}
}

func TestDevicesCLI(t *testing.T) {
	url := simBroker(t, "rover", "scout")
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	dev := func(args ...string) (string, error) {
		return runCLI(t, "", append([]string{"devices", "--broker", url, "--audit", audit}, args...)...)
	}
	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of the output
		wantErr string
	}{
		{"list", []string{"list"}, []string{"rover   online", "scout   online", "describe distance drive"}, ""},
		{"describe", []string{"describe", "rover"}, []string{"rover.drive(speed: float, ms: int = 500) -> dict", "speed: negative backs up (unit m/s; -1.0 to 1.0)", "battery: number [%]", "bump: Bumper hit"}, ""},
		{"describe json", []string{"describe", "--json", "scout"}, []string{`"protocol": "gantry/1"`, `"name": "scout"`}, ""},
		{"call", []string{"call", "rover", "drive", "speed=0.5", "ms=200"}, []string{`"moved":0.1`, `"reason":"done"`}, ""},
		{"call json args", []string{"call", "rover", "get", "--args", `{"name":"odometer"}`}, []string{"0.1"}, ""},
		{"bounds checked before sending", []string{"call", "rover", "drive", "speed=3"}, nil, "speed must be <= 1.0, got 3"},
		{"unknown device", []string{"--discover", "300ms", "call", "nosuch", "ping"}, nil, "waiting for devices nosuch"},
		{"bad pair", []string{"call", "rover", "drive", "speed"}, nil, `argument "speed": want name=value`},
		{"stop", []string{"stop", "--reason", "test"}, []string{`rover: {"cancelled":false`, `scout: {"cancelled":false`}, ""},
		{"latched", []string{"call", "rover", "drive", "speed=0.1"}, nil, "stopped: emergency stop is latched"},
		{"reset one", []string{"reset", "rover"}, []string{`rover: {"stopped":false}`}, ""},
		{"moves again", []string{"call", "rover", "turn", "degrees=10"}, []string{`"heading":10`}, ""},
		{"scout still latched", []string{"call", "scout", "turn", "degrees=10"}, nil, "latched"},
		{"dry run", []string{"--dry-run", "call", "scout", "turn", "degrees=10"}, []string{`"dry_run":true`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := dev(tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v (output %q), want an error containing %q", err, out, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes, stops []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec struct{ Device, Action, Outcome, Session string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if !strings.HasPrefix(rec.Session, "cli:") {
			t.Errorf("session %q", rec.Session)
		}
		switch rec.Action {
		case "drive", "turn":
			outcomes = append(outcomes, rec.Device+"."+rec.Action+":"+rec.Outcome)
		case "stop":
			stops = append(stops, rec.Device+":"+rec.Outcome)
		}
	}
	want := []string{"rover.drive:sent", "rover.drive:ok", "rover.drive:invalid", "rover.drive:sent", "rover.drive:error",
		"rover.turn:sent", "rover.turn:ok", "scout.turn:sent", "scout.turn:error", "scout.turn:dry_run"}
	if !reflect.DeepEqual(outcomes, want) {
		t.Errorf("audit outcomes\n got %v\nwant %v", outcomes, want)
	}
	// The two stops run at once: compare them as a set.
	sort.Strings(stops)
	if want := []string{"rover:ok", "rover:sent", "scout:ok", "scout:sent"}; !reflect.DeepEqual(stops, want) {
		t.Errorf("audit of the stops: got %v, want %v", stops, want)
	}
}

// TestDevicesCLIAuditsEveryAttempt: every `gantry devices call` ends in
// exactly one audit record naming what refused it, whether the argument
// check, the hub or the guard; NaN, inf and huge integers are refused at
// once with a clear message.
func TestDevicesCLIAuditsEveryAttempt(t *testing.T) {
	url := simBroker(t, "rover")
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for success
		outcome string
	}{
		{"ok", []string{"drive", "speed=0.2", "ms=10"}, "", "ok"},
		{"nan", []string{"drive", "speed=nan"}, "rover.drive: speed must be a finite number, got nan", "invalid"},
		{"inf", []string{"drive", "speed=inf"}, "rover.drive: speed must be a finite number, got inf", "invalid"},
		{"-Infinity", []string{"drive", "speed=-Infinity"}, "rover.drive: speed must be a finite number, got -inf", "invalid"},
		{"nan int", []string{"drive", "speed=0.1", "ms=NaN"}, "rover.drive: ms must be a finite number, got nan", "invalid"},
		{"nan in json", []string{"drive", "--args", `{"speed": 0.1, "ms": 1e400}`}, "rover.drive: ms must be a finite number, got inf", "invalid"},
		{"huge int", []string{"drive", "speed=0.1", "ms=10000000000000000000"}, "rover.drive: ms is out of range (0..5000), got 10000000000000000000", "invalid"},
		{"huge negative int", []string{"drive", "speed=0.1", "ms=-99999999999999999999"}, "rover.drive: ms is out of range (0..5000), got -99999999999999999999", "invalid"},
		{"text for a number", []string{"drive", "speed=fast"}, "rover.drive: speed must be a float, got str", "invalid"},
		{"extra", []string{"drive", "speed=0.1", "boost=1"}, `unexpected argument "boost"`, "invalid"},
		{"missing", []string{"telemetry"}, "rover.telemetry: hz is required", "invalid"},
		{"unknown action", []string{"fly", "height=1"}, `rover has no action "fly"`, "unknown"},
		{"reset needs the policy", []string{"reset"}, "reset is not allowed on rover", "refused"},
		{"describe", []string{"describe"}, "", "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := auditLines(t, audit)
			out, err := runCLI(t, "", append([]string{"devices", "--broker", url, "--audit", audit, "call", "rover"}, tc.args...)...)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v (output %q), want an error containing %q", err, out, tc.wantErr)
			}
			recs := auditLines(t, audit)[len(before):]
			var ends []string
			attempts := map[float64]bool{}
			for _, r := range recs {
				attempts[r["attempt"].(float64)] = true
				if r["outcome"] != "sent" {
					ends = append(ends, r["outcome"].(string))
				}
			}
			if len(ends) != 1 || ends[0] != tc.outcome || len(attempts) != 1 {
				t.Errorf("audit records %v, want one attempt ending %q", recs, tc.outcome)
			}
		})
	}
}

func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestDevicesPolicyFile(t *testing.T) {
	url := simBroker(t, "rover")
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("devices:\n  rover:\n    allow: [drive, distance]\n    bounds: {drive: {speed: {max: 0.2}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"devices", "--broker", url, "--policy", policy}
	if _, err := runCLI(t, "", append(base, "call", "rover", "drive", "speed=0.5")...); err == nil || !strings.Contains(err.Error(), "speed must be <= 0.2, got 0.5") {
		t.Errorf("policy bound: %v", err)
	}
	if _, err := runCLI(t, "", append(base, "call", "rover", "turn", "degrees=5")...); err == nil || !strings.Contains(err.Error(), "turn is not allowed on rover (allowed: describe, distance, drive, stop)") {
		t.Errorf("allow-list: %v", err)
	}
	if out, err := runCLI(t, "", append(base, "call", "rover", "drive", "speed=0.2", "ms=50")...); err != nil {
		t.Errorf("allowed drive: %v %s", err, out)
	}
	// A policy whose bound names a parameter the rover does not have: the
	// rover is not exposed, and the error says why, where.
	if err := os.WriteFile(policy, []byte("devices:\n  rover:\n    allow: ['*']\n    bounds: {drive: {sped: {max: 0.2}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "", append(base, "call", "rover", "drive", "speed=0.5")...); err == nil ||
		!strings.Contains(err.Error(), policy+`:4: unknown key "sped" in devices.rover.bounds.drive: rover.drive has no such parameter (did you mean "speed"?)`) {
		t.Errorf("misspelt parameter: %v", err)
	}
	if err := os.WriteFile(policy, []byte("devices:\n  rover:\n    allow: ['*']\n    bounds: {drive: {speed: {mxa: 0.2}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "", append(base, "list")...); err == nil ||
		!strings.Contains(err.Error(), policy+`:4: unknown key "mxa" in devices.rover.bounds.drive.speed (did you mean "max"?)`) {
		t.Errorf("misspelt bound: %v", err)
	}
	if _, err := runCLI(t, "", "devices", "list"); err == nil || !strings.Contains(err.Error(), "--broker") {
		t.Errorf("no transport: %v", err)
	}
}

func TestRunRover(t *testing.T) {
	out, err := runCLI(t, "", "run", "--env", "rover", "--sim-speed", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"embedded broker tcp://127.0.0.1:", "rover.drive(speed: float, ms: int = 500) -> dict", "final distance 0.3", "Your answer is correct.", "WON"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestParseCallArgs(t *testing.T) {
	tests := []struct {
		pairs []string
		js    string
		want  map[string]any
	}{
		{[]string{"speed=0.3", "ms=800"}, "", map[string]any{"speed": 0.3, "ms": int64(800)}},
		{[]string{"state=open", "flag=true", "x=null"}, "", map[string]any{"state": "open", "flag": true, "x": nil}},
		{[]string{"list=[1,2]", "text=a=b"}, "", map[string]any{"list": []any{int64(1), int64(2)}, "text": "a=b"}},
		{[]string{"ms=5"}, `{"speed":1,"ms":1}`, map[string]any{"speed": int64(1), "ms": int64(5)}},
		{[]string{"s=1 2"}, "", map[string]any{"s": "1 2"}},
	}
	for _, tc := range tests {
		got, err := parseCallArgs(tc.pairs, tc.js)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v %q: got %#v, want %#v", tc.pairs, tc.js, got, tc.want)
		}
	}
	if _, err := parseCallArgs(nil, "{"); err == nil {
		t.Error("bad --args accepted")
	}
}

func FuzzParseCallArgs(f *testing.F) {
	f.Add("speed=0.3", `{"a":1}`)
	f.Add("x=[1,{\"b\":2}]", "")
	f.Add("=", "null")
	f.Fuzz(func(t *testing.T, pair, js string) {
		args, err := parseCallArgs([]string{pair}, js)
		if err != nil {
			return
		}
		if _, err := json.Marshal(args); err != nil {
			t.Fatalf("arguments %#v do not encode: %v", args, err)
		}
	})
}

func TestDevicesTLSFilesBounded(t *testing.T) {
	big := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(big, make([]byte, maxPEMBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	f := deviceFlags{caFile: big}
	if _, err := f.tlsConfig(); err == nil || !strings.Contains(err.Error(), big+": larger than 1048576 bytes") {
		t.Fatalf("got %v", err)
	}
}

// TestDevicesCLIFindsDevices: describe shows a device that announced
// itself whatever its state, and a device that is not there is reported
// with the devices that are; a word that is no subcommand is an error.
func TestDevicesCLIFindsDevices(t *testing.T) {
	url := simBroker(t, "rover")
	// ghost announced itself and went offline: its description and its
	// offline status stay on the broker, retained.
	ghost := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("ghost"))
	if tok := ghost.Connect(); !tok.WaitTimeout(testenv.Patience) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer ghost.Disconnect(0)
	r := firmware.NewRover(firmware.Options{Name: "ghost"})
	desc, err := json.Marshal(r.Description())
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, descT, statusT := protocol.Topics("", "ghost")
	for topic, payload := range map[string][]byte{descT: desc, statusT: protocol.StatusOffline} {
		if tok := ghost.Publish(topic, 1, true, payload); !tok.WaitTimeout(testenv.Patience) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	tests := []struct {
		name    string
		args    []string
		want    string // in the output
		wantErr string
	}{
		{"describe an offline device", []string{"--discover", "300ms", "describe", "ghost"}, "ghost (Simulated rover), gantry/1, offline", ""},
		{"describe an online device", []string{"describe", "rover"}, "rover (Simulated rover), gantry/1, online", ""},
		{"describe a device that is not there", []string{"--discover", "300ms", "describe", "nosuch"}, "", "waiting for devices nosuch: context deadline exceeded (devices found: "},
		{"call an offline device", []string{"--discover", "300ms", "call", "ghost", "ping"}, "", "ghost (offline)"},
		{"unknown subcommand", []string{"bogus"}, "", `unknown command "bogus" for "gantry devices"`},
		{"no subcommand", nil, "Available Commands:", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, "", append([]string{"devices", "--broker", url}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v (output %q), want an error containing %q", err, out, tc.wantErr)
				}
				if strings.Contains(err.Error(), "devices found: none") {
					t.Errorf("error %q: the broker has devices", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
