package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/devtest"
)

// roverHub serves a simulated rover on a real pseudo-terminal and returns
// a hub that reaches it.
func roverHub(t *testing.T, opts firmware.Options) (*devices.Hub, *firmware.Rover) {
	t.Helper()
	hub := devices.NewHub(devices.HubOptions{})
	t.Cleanup(func() { hub.Close() })
	return hub, devtest.PTYRover(t, hub, opts)
}

func TestRoverEpisodeExpert(t *testing.T) {
	hub, r := roverHub(t, firmware.Options{})
	ctx := context.Background()
	ep, cleanup, err := RoverEpisode(ctx, "rover-1", RoverSpec{Config: Config{Format: Code, MaxTurns: 5}, Hub: hub, NewRuntime: starlark})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	for _, want := range []string{"rover.drive(speed: float, ms: int = 500)", "rover.distance()", "devices.stop(", "stop between 0.25 m and 0.40 m"} {
		if !strings.Contains(ep.Prompt, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
	tr, err := ep.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != StopSuccess {
		for _, turn := range tr.Turns {
			t.Logf("turn %d: %s\n-> %s", turn.Index, turn.Assistant, turn.Observation)
		}
		t.Fatalf("stop %q", tr.StopReason)
	}
	d, _ := hub.Call(ctx, "rover", "distance", nil)
	if f := d.(float64); f < 0.25 || f > 0.40 {
		t.Errorf("rover ended %v m from the obstacle", f)
	}
	t.Logf("observation:\n%s", tr.Turns[0].Observation)
	if !strings.Contains(tr.Turns[0].Observation, "final distance") {
		t.Errorf("first observation %q", tr.Turns[0].Observation)
	}
	if r.Pose().X < 1 {
		t.Errorf("the rover hardly moved: %+v", r.Pose())
	}
}

// A wrong answer is judged by the device, not by the number given.
func TestRoverCheckerAsksTheDevice(t *testing.T) {
	hub, _ := roverHub(t, firmware.Options{})
	ctx := context.Background()
	ep, cleanup, err := RoverEpisode(ctx, "rover-2", RoverSpec{Config: Config{Format: Code, MaxTurns: 3, MaxProposals: 1}, Hub: hub, NewRuntime: starlark,
		NewPolicy: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	ep.Policy = &ReplayPolicy{Messages: []string{"<solution> 0.30 </solution>"}}
	tr, err := ep.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != StopProposals {
		t.Fatalf("claiming success without driving: stop %q", tr.StopReason)
	}
}
