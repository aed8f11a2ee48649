// Package rovertask is a device task of the agent loop: drive a
// differential-drive rover that speaks the gantry device protocol (the
// reference firmware's simulated rover, or real hardware with the same
// actions) toward the obstacle ahead and stop inside a distance band. The
// rover is reached through a devices.Hub, so the guard sees every call; the
// device itself judges the answer. It implements task.Episode, in the code
// format only.
package rovertask

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/prompt"
	"github.com/gantry-dev/gantry/tool"
)

// Type is the task type of rover episodes in transcripts and reports.
const Type = "rover_approach"

// Options configure a rover episode.
type Options struct {
	// Device is the rover's name in the hub (default "rover").
	Device string
	// Near and Far bound the distance to the obstacle ahead at which the
	// task is done (default 0.25 and 0.40 m).
	Near, Far float64
}

func (o Options) withDefaults() Options {
	if o.Device == "" {
		o.Device = "rover"
	}
	if o.Near == 0 && o.Far == 0 {
		o.Near, o.Far = 0.25, 0.40
	}
	return o
}

// taskText is the task; %[1]s is the device, %.2[2]f and %.2[3]f the band.
const taskText = `You control a real robot, the differential-drive rover %[1]q, through the functions above. ` +
	`Drive it straight toward the obstacle ahead and stop between %.2[2]f m and %.2[3]f m from it, without bumping into it ` +
	`(the distance sensor says how far the obstacle is; a drive stops early on a bump). ` +
	`When you are there, answer with the final distance in metres, e.g. <solution> 0.33 </solution>.`

// Episode is one rover episode.
type Episode struct {
	hub    *devices.Hub
	opts   Options
	reg    *tool.Registry
	bumps0 any
	task   string
}

var _ task.Episode = (*Episode)(nil)

// Start begins a rover episode: it waits for the device in the hub,
// registers the hub's device tools and reads the rover's bump count (a
// bump during the episode fails it).
func Start(ctx context.Context, hub *devices.Hub, opts Options) (*Episode, error) {
	opts = opts.withDefaults()
	if err := hub.Wait(ctx, opts.Device); err != nil {
		return nil, err
	}
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, hub); err != nil {
		return nil, fmt.Errorf("device tools: %w", err)
	}
	bumps0, err := hub.Call(ctx, opts.Device, "get", map[string]any{"name": "bumps"})
	if err != nil {
		return nil, fmt.Errorf("read the rover's bump count: %w", err)
	}
	return &Episode{hub: hub, opts: opts, reg: reg, bumps0: bumps0,
		task: fmt.Sprintf(taskText, opts.Device, opts.Near, opts.Far)}, nil
}

// Info gives the task text and the type rover_approach.
func (e *Episode) Info() task.Info { return task.Info{Task: e.task, Type: Type} }

// Tools are the hub's device tools.
func (e *Episode) Tools() *tool.Registry { return e.reg }

// Prompt renders MINT's code-format prompt with the device tools; other
// formats are refused.
func (e *Episode) Prompt(f task.Format, l task.Limits) (string, error) {
	if f != task.Code {
		return "", fmt.Errorf("rover episodes use code actions, not %s: %w", f, task.ErrFormat)
	}
	return prompt.Render(f, e.reg, prompt.Data{Limits: l, Task: e.task})
}

// Check asks the device, not the answer: is the rover inside the band, and
// has it not bumped since the start?
func (e *Episode) Check(ctx context.Context, _ string) bool {
	d, err := e.hub.Call(ctx, e.opts.Device, "distance", nil)
	if err != nil {
		return false
	}
	b, err := e.hub.Call(ctx, e.opts.Device, "get", map[string]any{"name": "bumps"})
	if err != nil || b != e.bumps0 {
		return false
	}
	f, ok := d.(float64)
	return ok && f >= e.opts.Near && f <= e.opts.Far
}

// Done is false: only an accepted answer ends a rover episode early.
func (e *Episode) Done() bool { return false }

// Won is false: the device judges answers (Check), not turns.
func (e *Episode) Won() bool { return false }

// Expert is the built-in rover policy, Expert; code format only.
func (e *Episode) Expert(f task.Format) (task.Policy, error) {
	if f != task.Code {
		return nil, fmt.Errorf("rover expert writes code, not %s: %w", f, task.ErrNoExpert)
	}
	return &Expert{Device: e.opts.Device, Target: (e.opts.Near + e.opts.Far) / 2}, nil
}

// Conventions are MINT's (the loop's defaults).
func (e *Episode) Conventions() task.Conventions { return task.Conventions{} }

// Close does nothing; the hub belongs to the caller.
func (e *Episode) Close() error { return nil }

// Expert is the built-in policy of rover episodes: a program that loops on
// the distance sensor, driving in steps that shrink as the obstacle nears,
// then the distance it reported as the answer.
type Expert struct {
	Device string
	Target float64 // the distance to stop at, in metres
	turn   int
}

var finalRE = regexp.MustCompile(`final distance ([0-9.]+) m`)

// Next writes the next assistant message.
func (p *Expert) Next(ctx context.Context, conv []task.Message) (task.Message, task.Usage, error) {
	if err := ctx.Err(); err != nil {
		return task.Message{}, task.Usage{}, err
	}
	p.turn++
	if p.turn > 1 && len(conv) > 0 {
		last := conv[len(conv)-1].Content
		if m := finalRE.FindStringSubmatch(last); m != nil {
			return task.Message{Role: task.Assistant, Content: fmt.Sprintf("<thought> The rover reports %s m to the obstacle, inside the band. </thought>\n<solution> %s </solution>", m[1], m[1])}, task.Usage{}, nil
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
	return task.Message{Role: task.Assistant, Content: fmt.Sprintf("<thought> %s </thought>\n<execute>\n%s\n</execute>", thought, code)}, task.Usage{}, nil
}
