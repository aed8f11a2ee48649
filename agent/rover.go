package agent

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/tool"
)

// RoverSpec says how to play a rover episode: a device task on a rover that
// speaks the gantry device protocol (the reference firmware's simulated
// rover, or real hardware with the same actions), reached through a hub.
type RoverSpec struct {
	Config Config
	Hub    *devices.Hub
	// Device is the rover's name in the hub (default "rover").
	Device string
	// Near and Far bound the distance to the obstacle ahead at which the
	// task is done (default 0.25 and 0.40 m).
	Near, Far  float64
	NewRuntime RuntimeFactory
	// NewPolicy makes the episode's policy; nil plays RoverExpert.
	NewPolicy  func(reg *tool.Registry) (Policy, error)
	PolicyName string
	Runtime    string
}

// roverTask is the task text; %[1]s is the device, %.2[2]f and %.2[3]f the band.
const roverTask = `You control a real robot, the differential-drive rover %[1]q, through the functions above. ` +
	`Drive it straight toward the obstacle ahead and stop between %.2[2]f m and %.2[3]f m from it, without bumping into it ` +
	`(the distance sensor says how far the obstacle is; a drive stops early on a bump). ` +
	`When you are there, answer with the final distance in metres, e.g. <solution> 0.33 </solution>.`

// RoverEpisode prepares a rover episode: the device's tools (through the
// hub, so the guard sees every call), a runtime for code actions, the
// prompt, and a checker that asks the device itself whether the task is
// done. Call the returned function when done.
func RoverEpisode(ctx context.Context, id string, spec RoverSpec) (*Episode, func(), error) {
	if spec.Device == "" {
		spec.Device = "rover"
	}
	if spec.Near == 0 && spec.Far == 0 {
		spec.Near, spec.Far = 0.25, 0.40
	}
	if err := spec.Hub.Wait(ctx, spec.Device); err != nil {
		return nil, nil, err
	}
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, spec.Hub); err != nil {
		return nil, nil, fmt.Errorf("device tools: %w", err)
	}
	bumps0, err := spec.Hub.Call(ctx, spec.Device, "get", map[string]any{"name": "bumps"})
	if err != nil {
		return nil, nil, fmt.Errorf("read the rover's bump count: %w", err)
	}
	cfg := spec.Config.withDefaults()
	if cfg.Format != Code {
		return nil, nil, fmt.Errorf("rover episodes use code actions, not %s", cfg.Format)
	}
	rt, err := spec.NewRuntime(ctx, reg)
	if err != nil {
		return nil, nil, fmt.Errorf("start runtime: %w", err)
	}
	cleanup := func() { rt.Close() }
	newPolicy := spec.NewPolicy
	if newPolicy == nil {
		newPolicy = func(*tool.Registry) (Policy, error) {
			return &RoverExpert{Device: spec.Device, Target: (spec.Near + spec.Far) / 2}, nil
		}
	}
	pol, err := newPolicy(reg)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	task := fmt.Sprintf(roverTask, spec.Device, spec.Near, spec.Far)
	prompt, err := Prompt(cfg.Format, reg, PromptData{MaxTurns: cfg.MaxTurns, MaxProposals: cfg.MaxProposals, Task: task})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	check := func(string) bool {
		// The device decides, not the answer: where is it, did it bump?
		d, err := spec.Hub.Call(ctx, spec.Device, "distance", nil)
		if err != nil {
			return false
		}
		b, err := spec.Hub.Call(ctx, spec.Device, "get", map[string]any{"name": "bumps"})
		if err != nil || b != bumps0 {
			return false
		}
		f, ok := d.(float64)
		return ok && f >= spec.Near && f <= spec.Far
	}
	ep := &Episode{ID: id, Prompt: prompt, Task: task, TaskType: "rover_approach", Policy: pol, Runtime: rt, Tools: reg,
		Checker: check, Config: cfg, PolicyName: spec.PolicyName, RuntimeName: spec.Runtime}
	return ep, cleanup, nil
}

// RoverExpert is the built-in policy of rover episodes: a program that
// loops on the distance sensor, driving in steps that shrink as the
// obstacle nears, then the distance it reported as the answer.
type RoverExpert struct {
	Device string
	Target float64 // the distance to stop at, in metres
	turn   int
}

var finalRE = regexp.MustCompile(`final distance ([0-9.]+) m`)

// Next writes the next assistant message.
func (p *RoverExpert) Next(ctx context.Context, conv []Message) (Message, Usage, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, Usage{}, err
	}
	p.turn++
	if p.turn > 1 && len(conv) > 0 {
		last := conv[len(conv)-1].Content
		if m := finalRE.FindStringSubmatch(last); m != nil {
			return Message{Role: Assistant, Content: fmt.Sprintf("<thought> The rover reports %s m to the obstacle, inside the band. </thought>\n<solution> %s </solution>", m[1], m[1])}, Usage{}, nil
		}
	}
	r := p.Device
	code := strings.NewReplacer("ROVER", r, "TARGET", strconv.FormatFloat(p.Target, 'f', 3, 64)).Replace(`target = TARGET
d = ROVER.distance()
print(f"start: {d:.2f} m to the obstacle")
for i in range(20):
    if d <= target + 0.01:
        break
    # Drive most of the way at 0.4 m/s, slower when close.
    speed = 0.4 if d - target > 0.3 else 0.1
    ms = int(min(d - target, 1.5) / speed * 1000)
    r = ROVER.drive(speed=speed, ms=max(ms, 10))
    d = ROVER.distance()
    print(f"drove {r['moved']:.3f} m at {speed} m/s, {d:.3f} m left")
    if r["bumped"]:
        print("bumped into something")
        break
print(f"final distance {d:.2f} m")`)
	thought := "I will loop on the distance sensor and drive in shrinking steps until the rover is at the target distance."
	if p.turn > 1 {
		thought = "The rover is not there yet; I run the approach loop again from where it is."
	}
	return Message{Role: Assistant, Content: fmt.Sprintf("<thought> %s </thought>\n<execute>\n%s\n</execute>", thought, code)}, Usage{}, nil
}
