package rovertask_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/devtest"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/rovertask"
	"github.com/gantry-dev/gantry/tool"
)

func starlark(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
	// The time limit is a backstop a busy machine does not reach: no action
	// here is meant to run into it.
	return sandbox.New(reg, sandbox.Options{Timeout: time.Minute})
}

// episode starts a rover episode on hub and prepares the loop for it.
func episode(t *testing.T, ctx context.Context, hub *devices.Hub, id string, cfg agent.Config) (*agent.Episode, func()) {
	t.Helper()
	te, err := rovertask.Start(ctx, hub, rovertask.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ep, cleanup, err := agent.NewEpisode(ctx, id, te, agent.Spec{Config: cfg, NewRuntime: starlark})
	if err != nil {
		t.Fatal(err)
	}
	return ep, cleanup
}

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
	ep, cleanup := episode(t, ctx, hub, "rover-1", agent.Config{Format: agent.Code, MaxTurns: 5})
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
	if tr.StopReason != agent.StopSuccess {
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
	ep, cleanup := episode(t, ctx, hub, "rover-2", agent.Config{Format: agent.Code, MaxTurns: 3, MaxProposals: 1})
	defer cleanup()
	ep.Policy = &agent.ReplayPolicy{Messages: []string{"<solution> 0.30 </solution>"}}
	tr, err := ep.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tr.StopReason != agent.StopProposals {
		t.Fatalf("claiming success without driving: stop %q", tr.StopReason)
	}
}

// The rover task speaks code only; other formats are refused with
// task.ErrFormat, and there is no expert for them.
func TestRoverFormats(t *testing.T) {
	hub, _ := roverHub(t, firmware.Options{})
	ctx := context.Background()
	te, err := rovertask.Start(ctx, hub, rovertask.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []task.Format{task.JSON, task.Text} {
		if _, err := te.Prompt(f, task.Limits{MaxTurns: 5, MaxProposals: 2}); !errors.Is(err, task.ErrFormat) || !strings.Contains(err.Error(), "rover episodes use code actions, not "+string(f)) {
			t.Errorf("%s prompt: %v", f, err)
		}
		if _, err := te.Expert(f); !errors.Is(err, task.ErrNoExpert) {
			t.Errorf("%s expert: %v", f, err)
		}
	}
	if info := te.Info(); info.Type != rovertask.Type || !strings.Contains(info.Task, `"rover"`) {
		t.Errorf("info %+v", info)
	}
}
