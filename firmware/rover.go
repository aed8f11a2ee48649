package firmware

import (
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/protocol"
)

// Options configure a Rover. The zero value is a rover named "rover" on
// the real clock in DefaultWorld with a full battery and telemetry off.
type Options struct {
	Name        string  // device name, an identifier; default "rover"
	Clock       Clock   // default RealClock()
	World       *World  // default DefaultWorld()
	Start       *Pose   // default: (0.5, 1.5) facing +x
	Battery     float64 // initial charge in %, default 100
	TelemetryHz float64 // telemetry events per second; 0 = off
	Logger      *slog.Logger
}

// Rover is the simulated differential-drive rover: distance sensor,
// bumper, battery and gripper in a 2D world. Motion is integrated in 10 ms
// steps of its own clock; a drive or turn runs until its time is up, the
// bumper hits something, the battery runs out, or stop cancels it.
type Rover struct {
	name   string
	clock  Clock
	log    *slog.Logger
	desc   protocol.Description
	handle map[string]Handler

	executed atomic.Int64

	mu       sync.Mutex
	world    World
	st       simState
	mot      *motion
	stopped  bool
	closed   bool
	gripShut bool
	holding  string
	bumps    int64
	telHz    float64
	telTimer Timer
	telGen   int
	subs     map[int]func(protocol.Event)
	nextSub  int
}

type simState struct {
	t                      time.Duration
	x, y, h, battery, odom float64 // h in radians
}

type motion struct {
	kind   string
	v, w   float64 // m/s, rad/s
	start  simState
	end    simState
	reason string // why it ends: done, bump, battery
	timer  Timer
	done   func(any, error)
}

// NewRover returns a rover with the given options.
func NewRover(opts Options) *Rover {
	r := &Rover{name: opts.Name, clock: opts.Clock, log: opts.Logger, subs: map[int]func(protocol.Event){}}
	if r.name == "" {
		r.name = "rover"
	}
	if r.clock == nil {
		r.clock = RealClock()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if opts.World != nil {
		r.world = *opts.World
	} else {
		r.world = DefaultWorld()
	}
	r.world.Items = append([]Item(nil), r.world.Items...)
	start := defaultStart
	if opts.Start != nil {
		start = *opts.Start
	}
	r.st = simState{t: r.clock.Now(), x: start.X, y: start.Y, h: start.Heading * math.Pi / 180, battery: 100}
	if opts.Battery > 0 {
		r.st.battery = math.Min(opts.Battery, 100)
	}
	r.desc = roverDescription(r.name)
	r.handle = map[string]Handler{
		"describe": func(_ map[string]any, done func(any, error)) { done(r.desc, nil) },
		"ping": func(_ map[string]any, done func(any, error)) {
			done(map[string]any{"ts": r.clock.Now().Milliseconds()}, nil)
		},
		"get":       r.get,
		"stop":      r.stop,
		"reset":     r.reset,
		"drive":     r.drive,
		"turn":      r.turn,
		"distance":  func(_ map[string]any, done func(any, error)) { done(r.prop("distance"), nil) },
		"pose":      func(_ map[string]any, done func(any, error)) { done(r.prop("pose"), nil) },
		"gripper":   r.gripper,
		"telemetry": r.telemetry,
	}
	if opts.TelemetryHz > 0 {
		r.setTelemetry(opts.TelemetryHz)
	}
	return r
}

// Name returns the device name.
func (r *Rover) Name() string { return r.name }

// Description returns the rover's description (the describe result).
func (r *Rover) Description() protocol.Description { return r.desc }

// Executed returns how many requests the rover has executed (repeated ids
// answered from the cache are not executed and not counted).
func (r *Rover) Executed() int64 { return r.executed.Load() }

// Pose returns the rover's pose now.
func (r *Rover) Pose() Pose { return r.prop("pose").(Pose) }

// Close stops the rover's timers; an action in flight fails with internal.
func (r *Rover) Close() {
	r.mu.Lock()
	r.closed = true
	r.telGen++
	if r.telTimer != nil {
		r.telTimer.Stop()
	}
	m := r.mot
	if m != nil {
		m.timer.Stop()
		r.st = r.stateAt(m, r.clock.Now())
		r.mot = nil
	}
	r.mu.Unlock()
	if m != nil {
		m.done(nil, protocol.Errorf(protocol.CodeInternal, "device shut down during %s", m.kind))
	}
}

// NewDispatcher returns a Dispatcher (with its own idempotency cache) for
// one connection to this rover.
func (r *Rover) NewDispatcher() *Dispatcher {
	hs := make(map[string]Handler, len(r.handle))
	for name, h := range r.handle {
		h := h
		hs[name] = func(args map[string]any, done func(any, error)) {
			r.executed.Add(1)
			h(args, done)
		}
	}
	d, err := NewDispatcher(r.desc.Actions, hs)
	if err != nil {
		panic(err) // the rover's own table is complete
	}
	return d
}

// Subscribe registers f for every event the rover emits and returns a
// function that unregisters it. f must not block.
func (r *Rover) Subscribe(f func(protocol.Event)) (cancel func()) {
	r.mu.Lock()
	id := r.nextSub
	r.nextSub++
	r.subs[id] = f
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.subs, id)
		r.mu.Unlock()
	}
}

func (r *Rover) emit(name string, data any) {
	ev := protocol.Event{Event: name, TS: r.clock.Now().Milliseconds(), Data: data}
	r.mu.Lock()
	fs := make([]func(protocol.Event), 0, len(r.subs))
	for _, f := range r.subs {
		fs = append(fs, f)
	}
	r.mu.Unlock()
	for _, f := range fs {
		f(ev)
	}
}

// simulate integrates a motion from s for up to d; it stops early on a
// bump or an empty battery and says why it stopped.
func (r *Rover) simulate(s simState, v, w float64, d time.Duration) (simState, string) {
	const step = 10 * time.Millisecond
	drain := 0.02 + 0.2*math.Abs(v) + 0.05*math.Abs(w) // % per second
	end := s.t + d
	for s.t < end {
		dt := min(step, end-s.t)
		sec := dt.Seconds()
		nb := s.battery - drain*sec
		if nb <= 0 {
			s.battery = 0
			return s, "battery"
		}
		nh := s.h + w*sec
		mid := s.h + w*sec/2
		nx, ny := s.x+v*sec*math.Cos(mid), s.y+v*sec*math.Sin(mid)
		if v != 0 && r.world.collides(nx, ny) {
			return s, "bump"
		}
		s.odom += math.Abs(v) * sec
		s.x, s.y, s.h, s.battery, s.t = nx, ny, nh, nb, s.t+dt
	}
	return s, "done"
}

// stateAt is the state of motion m at time t (r.mu held).
func (r *Rover) stateAt(m *motion, t time.Duration) simState {
	if t >= m.end.t {
		return m.end
	}
	s, _ := r.simulate(m.start, m.v, m.w, t-m.start.t)
	return s
}

// now returns the rover's state at the current time (r.mu held).
func (r *Rover) now() simState {
	t := r.clock.Now()
	if r.mot != nil {
		return r.stateAt(r.mot, t)
	}
	s := r.st
	s.t = t
	return s
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	v := math.Round(f*p) / p
	if v == 0 {
		return 0 // no negative zero
	}
	return v
}

func headingDeg(h float64) float64 {
	d := math.Mod(h*180/math.Pi, 360)
	if d <= -180 {
		d += 360
	} else if d > 180 {
		d -= 360
	}
	return round(d, 1)
}

func poseOf(s simState) Pose {
	return Pose{X: round(s.x, 3), Y: round(s.y, 3), Heading: headingDeg(s.h)}
}

func (r *Rover) distanceAt(s simState) float64 {
	d := r.world.ray(s.x, s.y, s.h) - roverRadius
	return round(math.Max(0, math.Min(d, sensorRange)), 3)
}

// prop returns a property's current value.
func (r *Rover) prop(name string) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.propLocked(name)
}

func (r *Rover) propLocked(name string) any {
	s := r.now()
	switch name {
	case "battery":
		return round(s.battery, 2)
	case "pose":
		return poseOf(s)
	case "distance":
		return r.distanceAt(s)
	case "gripper":
		if r.gripShut {
			return "closed"
		}
		return "open"
	case "holding":
		if r.holding == "" {
			return nil
		}
		return r.holding
	case "moving":
		return r.mot != nil
	case "stopped":
		return r.stopped
	case "odometer":
		return round(s.odom, 3)
	case "bumps":
		return r.bumps
	case "telemetry_hz":
		return r.telHz
	case "uptime":
		return s.t.Milliseconds()
	}
	return nil
}

func (r *Rover) get(args map[string]any, done func(any, error)) {
	done(r.prop(args["name"].(string)), nil)
}

// startMotion begins a drive or turn, failing it at once when the rover
// cannot move.
func (r *Rover) startMotion(kind string, v, w float64, d time.Duration, exact *float64, done func(any, error)) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		done(nil, protocol.Errorf(protocol.CodeStopped, "emergency stop is latched; send reset first"))
		return
	}
	if r.closed {
		r.mu.Unlock()
		done(nil, protocol.Errorf(protocol.CodeInternal, "device shut down"))
		return
	}
	if r.mot != nil {
		busy := r.mot.kind
		r.mu.Unlock()
		done(nil, protocol.Errorf(protocol.CodeBusy, "a %s is in flight; wait for its reply or send stop", busy))
		return
	}
	s := r.now()
	if s.battery <= 0 {
		r.mu.Unlock()
		done(nil, protocol.Errorf(protocol.CodeOutOfRange, "battery is empty (0%%)"))
		return
	}
	end, reason := r.simulate(s, v, w, d)
	if reason == "done" && exact != nil {
		end.h = s.h + *exact
	}
	m := &motion{kind: kind, v: v, w: w, start: s, end: end, reason: reason, done: done}
	r.st = s
	r.mot = m
	m.timer = r.clock.AfterFunc(end.t-s.t, func() { r.finish(m) })
	r.mu.Unlock()
}

// finish completes motion m when its time is up.
func (r *Rover) finish(m *motion) {
	r.mu.Lock()
	if r.mot != m {
		r.mu.Unlock()
		return // cancelled by stop or Close
	}
	r.mot = nil
	r.st = m.end
	if m.reason == "bump" {
		r.bumps++
	}
	res := r.motionResult(m, m.end)
	r.mu.Unlock()
	if m.reason == "bump" {
		r.emit("bump", map[string]any{"x": res["x"], "y": res["y"], "heading": res["heading"]})
	}
	m.done(res, nil)
}

func (r *Rover) motionResult(m *motion, s simState) map[string]any {
	p := poseOf(s)
	return map[string]any{
		"x": p.X, "y": p.Y, "heading": p.Heading,
		"moved":   round(s.odom-m.start.odom, 3),
		"bumped":  m.reason == "bump",
		"reason":  m.reason,
		"battery": round(s.battery, 2),
	}
}

func (r *Rover) drive(args map[string]any, done func(any, error)) {
	speed := args["speed"].(float64)
	ms := args["ms"].(int64)
	r.startMotion("drive", speed, 0, time.Duration(ms)*time.Millisecond, nil, done)
}

func (r *Rover) turn(args map[string]any, done func(any, error)) {
	deg, hasDeg := args["degrees"].(float64)
	rate, hasRate := args["rate"].(float64)
	ms, hasMs := args["ms"].(int64)
	switch {
	case hasDeg && hasMs:
		done(nil, protocol.Errorf(protocol.CodeInvalidArgs, "turn takes degrees (with an optional rate) or rate and ms, not degrees and ms"))
	case hasDeg:
		if !hasRate {
			rate = 90
		}
		if rate == 0 {
			done(nil, protocol.Errorf(protocol.CodeOutOfRange, "rate must not be 0 when turning by degrees"))
			return
		}
		d := time.Duration(math.Round(math.Abs(deg)/math.Abs(rate)*1000)) * time.Millisecond
		w := 0.0
		if d > 0 {
			w = deg * math.Pi / 180 / d.Seconds()
		}
		exact := deg * math.Pi / 180
		r.startMotion("turn", 0, w, d, &exact, done)
	case hasRate:
		if !hasMs {
			ms = 500
		}
		r.startMotion("turn", 0, rate*math.Pi/180, time.Duration(ms)*time.Millisecond, nil, done)
	default:
		done(nil, protocol.Errorf(protocol.CodeInvalidArgs, "turn needs degrees, or rate and ms"))
	}
}

func (r *Rover) stop(_ map[string]any, done func(any, error)) {
	r.mu.Lock()
	m := r.mot
	if m != nil {
		m.timer.Stop()
		r.st = r.stateAt(m, r.clock.Now())
		r.mot = nil
	}
	r.stopped = true
	s := r.now()
	r.mu.Unlock()
	if m != nil {
		p := poseOf(s)
		m.done(nil, protocol.Errorf(protocol.CodeStopped, "%s cancelled by stop at x=%v y=%v heading=%v", m.kind, p.X, p.Y, p.Heading))
	}
	done(map[string]any{"stopped": true, "cancelled": m != nil, "pose": poseOf(s)}, nil)
}

func (r *Rover) reset(_ map[string]any, done func(any, error)) {
	r.mu.Lock()
	r.stopped = false
	r.mu.Unlock()
	done(map[string]any{"stopped": false}, nil)
}

func (r *Rover) gripper(args map[string]any, done func(any, error)) {
	want := args["state"].(string)
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		done(nil, protocol.Errorf(protocol.CodeStopped, "emergency stop is latched; send reset first"))
		return
	}
	s := r.now()
	fx, fy := s.x+roverRadius*math.Cos(s.h), s.y+roverRadius*math.Sin(s.h)
	res := map[string]any{}
	if want == "close" {
		r.gripShut = true
		if r.holding == "" {
			best, bi := gripReach, -1
			for i, it := range r.world.Items {
				if d := math.Hypot(it.X-fx, it.Y-fy); d <= best {
					best, bi = d, i
				}
			}
			if bi >= 0 {
				r.holding = r.world.Items[bi].Name
				r.world.Items = append(r.world.Items[:bi], r.world.Items[bi+1:]...)
			}
		}
		res["state"] = "closed"
	} else {
		r.gripShut = false
		if r.holding != "" {
			r.world.Items = append(r.world.Items, Item{Name: r.holding, X: fx, Y: fy})
			res["released"] = r.holding
			r.holding = ""
		}
		res["state"] = "open"
	}
	if r.holding != "" {
		res["holding"] = r.holding
	} else {
		res["holding"] = nil
	}
	r.mu.Unlock()
	done(res, nil)
}

func (r *Rover) telemetry(args map[string]any, done func(any, error)) {
	hz := args["hz"].(float64)
	r.setTelemetry(hz)
	done(map[string]any{"hz": hz}, nil)
}

func (r *Rover) setTelemetry(hz float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.telGen++
	if r.telTimer != nil {
		r.telTimer.Stop()
		r.telTimer = nil
	}
	r.telHz = hz
	if hz <= 0 || r.closed {
		return
	}
	r.armTelemetry(r.telGen)
}

// armTelemetry schedules the next telemetry event (r.mu held).
func (r *Rover) armTelemetry(gen int) {
	period := time.Duration(float64(time.Second) / r.telHz)
	r.telTimer = r.clock.AfterFunc(period, func() {
		r.mu.Lock()
		if gen != r.telGen || r.closed {
			r.mu.Unlock()
			return
		}
		data := map[string]any{}
		for _, p := range []string{"pose", "distance", "battery", "moving", "stopped", "holding"} {
			data[p] = r.propLocked(p)
		}
		r.armTelemetry(gen)
		r.mu.Unlock()
		r.emit("telemetry", data)
	})
}

func fp(f float64) *float64 { return &f }

func roverDescription(name string) protocol.Description {
	return protocol.Description{
		Protocol:    protocol.Version,
		Name:        name,
		Title:       "Simulated rover",
		Description: "Differential-drive rover in a 4x3 m arena: distance sensor ahead, bumper, battery, gripper. Heading in degrees, counter-clockwise, 0 = +x.",
		Actions: map[string]protocol.ActionDesc{
			"describe": {Description: "This description", Safe: true, Returns: &protocol.Schema{Type: "object"}},
			"ping":     {Description: "Liveness check", Safe: true, Returns: &protocol.Schema{Type: "object", Description: "{ts: device clock ms}"}},
			"get": {Description: "Read a property", Safe: true, Params: map[string]protocol.Param{
				"name": {Type: "string", Required: true, Enum: []any{"battery", "pose", "distance", "gripper", "holding", "moving", "stopped", "odometer", "bumps", "telemetry_hz", "uptime"}}},
				Returns: &protocol.Schema{Type: "any"}},
			"stop":  {Description: "Emergency stop: halt, cancel the action in flight, refuse motion until reset", Returns: &protocol.Schema{Type: "object"}},
			"reset": {Description: "Clear the emergency stop", Returns: &protocol.Schema{Type: "object"}},
			"drive": {Description: "Drive straight; stops early on a bump", Params: map[string]protocol.Param{
				"speed": {Type: "number", Unit: "m/s", Minimum: fp(-1), Maximum: fp(1), Required: true, Description: "negative backs up"},
				"ms":    {Type: "integer", Unit: "ms", Minimum: fp(0), Maximum: fp(5000), Default: int64(500)}},
				Returns: &protocol.Schema{Type: "object", Description: "{x,y,heading,moved,bumped,reason,battery} after the move"}},
			"turn": {Description: "Turn in place by degrees (at rate), or at rate for ms", Params: map[string]protocol.Param{
				"degrees": {Type: "number", Unit: "deg", Minimum: fp(-360), Maximum: fp(360), Description: "positive = left"},
				"rate":    {Type: "number", Unit: "deg/s", Minimum: fp(-180), Maximum: fp(180), Description: "default 90 with degrees"},
				"ms":      {Type: "integer", Unit: "ms", Minimum: fp(0), Maximum: fp(5000), Description: "with rate; default 500"}},
				Returns: &protocol.Schema{Type: "object", Description: "pose after the turn"}},
			"distance": {Description: "Distance from the front to the nearest obstacle ahead (max 4)", Safe: true, Returns: &protocol.Schema{Type: "number", Unit: "m"}},
			"pose":     {Description: "Position and heading", Safe: true, Returns: &protocol.Schema{Type: "object", Description: "{x,y,heading}"}},
			"gripper": {Description: "Open or close the gripper; closing grabs an item within 0.2 m of the front", Params: map[string]protocol.Param{
				"state": {Type: "string", Required: true, Enum: []any{"open", "close"}}},
				Returns: &protocol.Schema{Type: "object", Description: "{state,holding}"}},
			"telemetry": {Description: "Set the telemetry event rate", Params: map[string]protocol.Param{
				"hz": {Type: "number", Unit: "Hz", Minimum: fp(0), Maximum: fp(50), Required: true, Description: "0 = off"}},
				Returns: &protocol.Schema{Type: "object"}},
		},
		Properties: map[string]protocol.PropertyDoc{
			"battery":      {Type: "number", Unit: "%", ReadOnly: true, Description: "drains with motion"},
			"pose":         {Type: "object", ReadOnly: true},
			"distance":     {Type: "number", Unit: "m", ReadOnly: true},
			"gripper":      {Type: "string", ReadOnly: true, Description: "open or closed"},
			"holding":      {Type: "string", ReadOnly: true, Description: "item held, or null"},
			"moving":       {Type: "boolean", ReadOnly: true},
			"stopped":      {Type: "boolean", ReadOnly: true, Description: "emergency stop latched"},
			"odometer":     {Type: "number", Unit: "m", ReadOnly: true},
			"bumps":        {Type: "integer", ReadOnly: true},
			"telemetry_hz": {Type: "number", Unit: "Hz", ReadOnly: true},
			"uptime":       {Type: "integer", Unit: "ms", ReadOnly: true},
		},
		Events: map[string]protocol.EventDesc{
			"telemetry": {Description: "Periodic state", Data: &protocol.Schema{Type: "object", Description: "{pose,distance,battery,moving,stopped,holding}"}},
			"bump":      {Description: "Bumper hit; motion stopped", Data: &protocol.Schema{Type: "object", Description: "{x,y,heading}"}},
		},
	}
}
