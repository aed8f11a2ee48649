package devices_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
)

// TestRefusalReasons checks the reason of every kind of refusal, by the
// hub's guard and by a caller's (WithGuard), and that a caller's refusal
// is audited and sends nothing.
func TestRefusalReasons(t *testing.T) {
	hubPolicy, err := devices.ParsePolicy([]byte(`
devices:
  rover:
    allow: ["*"]
    deny: [telemetry]
    bounds: {drive: {speed: {max: 0.5}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	callerPolicy, err := devices.ParsePolicy([]byte(`
devices:
  rover:
    allow: [distance, drive]
    bounds: {drive: {speed: {max: 0.2}}}
    rate: 0.001  # one action, then none for 1000 s: no refill on a slow machine
    burst: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newPlayed(t, hubPolicy,
		devicestest.IO{Action: "drive", Args: map[string]any{"speed": 0.1, "ms": 10}, Result: map[string]any{"moved": 0.001}})
	caller := devices.WithGuard(context.Background(), devices.NewGuard(callerPolicy))
	tests := []struct {
		name   string
		ctx    context.Context
		action string
		args   map[string]any
		reason string
		byCall bool
		msg    string
	}{
		{"hub deny", caller, "telemetry", map[string]any{"hz": 1.0}, devices.ReasonNotAllowed, false, "telemetry is not allowed on rover"},
		{"hub bound", caller, "drive", map[string]any{"speed": 0.8, "ms": 10}, devices.ReasonBounds, false, "speed must be <= 0.5, got 0.8"},
		{"caller allow-list", caller, "turn", map[string]any{"degrees": 5.0}, devices.ReasonNotAllowed, true, "turn is not allowed on rover (allowed: describe, distance, drive, stop)"},
		{"caller bound", caller, "drive", map[string]any{"speed": 0.3, "ms": 10}, devices.ReasonBounds, true, "speed must be <= 0.2, got 0.3"},
		{"within both", caller, "drive", map[string]any{"speed": 0.1, "ms": 10}, "", false, ""},
		{"caller rate", caller, "drive", map[string]any{"speed": 0.1, "ms": 10}, devices.ReasonRate, true, "actions per second"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.hub.Call(tc.ctx, "rover", tc.action, tc.args)
			var r *devices.RefusalError
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &r) || !errors.Is(err, devices.ErrRefused) || r.Reason != tc.reason || r.Caller != tc.byCall ||
				!strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "rover."+tc.action+": refused") {
				t.Fatalf("%v (%+v), want reason %s caller %v", err, r, tc.reason, tc.byCall)
			}
		})
	}
	var refused int
	for _, rec := range b.records(t) {
		if rec.Outcome == devices.OutcomeRefused {
			refused++
		}
	}
	if refused != 5 {
		t.Errorf("%d refusals audited, want 5", refused)
	}
	// The emergency stop's refusal has its reason; without a caller's
	// guard, the hub's alone decides.
	b.hub.Guard().Engage("test")
	_, err = b.hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.1})
	var r *devices.RefusalError
	if !errors.As(err, &r) || r.Reason != devices.ReasonEStop || r.Caller {
		t.Fatalf("e-stop: %v", err)
	}
}
