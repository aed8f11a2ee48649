package firmware

import (
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness drives a rover's dispatcher directly on a simulated clock.
type harness struct {
	t     *testing.T
	clk   *SimClock
	r     *Rover
	d     *Dispatcher
	mu    sync.Mutex
	got   map[int64][]map[string]any
	anon  []map[string]any
	evts  []protocol.Event
	nextI int64
}

func newHarness(t *testing.T, opts Options) *harness {
	clk := NewSimClock()
	opts.Clock = clk
	r := NewRover(opts)
	t.Cleanup(r.Close)
	h := &harness{t: t, clk: clk, r: r, d: r.NewDispatcher(), got: map[int64][]map[string]any{}}
	unsub := r.Subscribe(func(ev protocol.Event) { h.mu.Lock(); h.evts = append(h.evts, ev); h.mu.Unlock() })
	t.Cleanup(unsub)
	return h
}

func (h *harness) sendRaw(line string) {
	h.d.Handle([]byte(line), func(b []byte) {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			h.t.Errorf("reply is not JSON: %s", b)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if id, ok := m["id"].(float64); ok {
			h.got[int64(id)] = append(h.got[int64(id)], m)
		} else {
			h.anon = append(h.anon, m)
		}
	})
}

// call sends a request and returns its id.
func (h *harness) call(action string, args map[string]any) int64 {
	h.nextI++
	b, _ := json.Marshal(map[string]any{"id": h.nextI, "action": action, "args": args})
	h.sendRaw(string(b))
	return h.nextI
}

func (h *harness) replies(id int64) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[id]
}

// result returns the single successful reply's result for id.
func (h *harness) result(id int64) any {
	h.t.Helper()
	rs := h.replies(id)
	if len(rs) != 1 {
		h.t.Fatalf("id %d: %d replies, want 1: %v", id, len(rs), rs)
	}
	if rs[0]["ok"] != true {
		h.t.Fatalf("id %d: error reply %v", id, rs[0])
	}
	return rs[0]["result"]
}

func (h *harness) errCode(id int64) string {
	h.t.Helper()
	rs := h.replies(id)
	if len(rs) != 1 || rs[0]["ok"] != false {
		h.t.Fatalf("id %d: want one error reply, got %v", id, rs)
	}
	return rs[0]["error"].(map[string]any)["code"].(string)
}

func TestDriveMovesAndTakesTime(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.call("drive", map[string]any{"speed": 0.5, "ms": 800})
	if n := len(h.replies(id)); n != 0 {
		t.Fatalf("drive replied before its time: %v", h.replies(id))
	}
	h.clk.Advance(400 * time.Millisecond)
	if p := h.r.Pose(); math.Abs(p.X-0.7) > 0.002 {
		t.Errorf("mid-drive x = %v, want 0.7", p.X)
	}
	if len(h.replies(id)) != 0 {
		t.Fatal("drive replied at 400 ms of 800")
	}
	h.clk.Advance(400 * time.Millisecond)
	res := h.result(id).(map[string]any)
	if math.Abs(res["x"].(float64)-0.9) > 0.002 || res["bumped"] != false || res["reason"] != "done" {
		t.Errorf("drive result = %v, want x 0.9, no bump", res)
	}
	if b := h.r.prop("battery").(float64); b >= 100 || b < 99 {
		t.Errorf("battery after 0.8 s at 0.5 m/s = %v, want a little under 100", b)
	}
}

func TestBumpStopsMotionAndEmitsEvent(t *testing.T) {
	h := newHarness(t, Options{})
	// The crate's face is at x=2.6; the rover (radius 0.1) stops at x<=2.5.
	id := h.call("drive", map[string]any{"speed": 1.0, "ms": 5000})
	h.clk.Advance(5 * time.Second)
	res := h.result(id).(map[string]any)
	if res["bumped"] != true || res["x"].(float64) > 2.5 || res["x"].(float64) < 2.48 {
		t.Errorf("result %v, want a bump just before x=2.5", res)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.evts) != 1 || h.evts[0].Event != "bump" {
		t.Errorf("events %v, want one bump", h.evts)
	}
	if got := h.r.propLocked("bumps"); got != int64(1) {
		t.Errorf("bumps = %v", got)
	}
}

func TestDistanceSensor(t *testing.T) {
	tests := []struct {
		name  string
		start Pose
		want  float64
	}{
		{"crate ahead", Pose{X: 0.5, Y: 1.5}, 2.0},               // 2.6 - 0.5 - 0.1
		{"wall behind", Pose{X: 0.5, Y: 1.5, Heading: 180}, 0.4}, // 0.5 - 0.1
		{"post", Pose{X: 1.2, Y: 1.0, Heading: 90}, 1.15},        // 2.25 - 1.0 - 0.1
		{"far wall capped", Pose{X: 0.2, Y: 0.5}, 3.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := tt.start
			h := newHarness(t, Options{Start: &start})
			got := h.result(h.call("distance", nil)).(float64)
			if math.Abs(got-tt.want) > 0.001 {
				t.Errorf("distance = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTurnByDegrees(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.call("turn", map[string]any{"degrees": 90})
	h.clk.Advance(999 * time.Millisecond)
	if len(h.replies(id)) != 0 {
		t.Fatal("90 degrees at 90 deg/s finished early")
	}
	h.clk.Advance(time.Millisecond)
	res := h.result(id).(map[string]any)
	if res["heading"] != 90.0 {
		t.Errorf("heading = %v, want 90", res["heading"])
	}
	for _, args := range []map[string]any{{}, {"degrees": 10, "ms": 100}, {"degrees": 10, "rate": 0}} {
		id := h.call("turn", args)
		if c := h.errCode(id); c != protocol.CodeInvalidArgs && c != protocol.CodeOutOfRange {
			t.Errorf("turn %v: code %s", args, c)
		}
	}
}

func TestStopCancelsInFlightAndLatches(t *testing.T) {
	h := newHarness(t, Options{})
	drive := h.call("drive", map[string]any{"speed": 0.5, "ms": 800})
	h.clk.Advance(200 * time.Millisecond)
	stop := h.call("stop", nil)
	if c := h.errCode(drive); c != protocol.CodeStopped {
		t.Errorf("drive code %s, want stopped", c)
	}
	res := h.result(stop).(map[string]any)
	if res["cancelled"] != true {
		t.Errorf("stop result %v", res)
	}
	x := h.r.Pose().X
	if math.Abs(x-0.6) > 0.002 {
		t.Errorf("x after stop = %v, want 0.6", x)
	}
	h.clk.Advance(time.Second)
	if h.r.Pose().X != x {
		t.Error("rover kept moving after stop")
	}
	if c := h.errCode(h.call("drive", map[string]any{"speed": 0.5})); c != protocol.CodeStopped {
		t.Errorf("drive while latched: %s", c)
	}
	if c := h.errCode(h.call("gripper", map[string]any{"state": "close"})); c != protocol.CodeStopped {
		t.Errorf("gripper while latched: %s", c)
	}
	h.result(h.call("pose", nil)) // sensors still work
	h.result(h.call("reset", nil))
	id := h.call("drive", map[string]any{"speed": 0.5, "ms": 100})
	h.clk.Advance(100 * time.Millisecond)
	h.result(id)
}

func TestBusy(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.call("drive", map[string]any{"speed": 0.2, "ms": 500})
	if c := h.errCode(h.call("turn", map[string]any{"degrees": 45})); c != protocol.CodeBusy {
		t.Errorf("turn during drive: %s, want busy", c)
	}
	h.result(h.call("distance", nil))
	h.clk.Advance(500 * time.Millisecond)
	h.result(a)
}

func TestGripper(t *testing.T) {
	// Ball at (1.6, 1.5); front of a rover at x=1.45 is at 1.55.
	h := newHarness(t, Options{Start: &Pose{X: 1.45, Y: 1.5}})
	res := h.result(h.call("gripper", map[string]any{"state": "close"})).(map[string]any)
	if res["holding"] != "ball" {
		t.Fatalf("close near the ball: %v", res)
	}
	if got := h.result(h.call("get", map[string]any{"name": "holding"})); got != "ball" {
		t.Errorf("holding = %v", got)
	}
	res = h.result(h.call("gripper", map[string]any{"state": "open"})).(map[string]any)
	if res["released"] != "ball" || res["holding"] != nil {
		t.Errorf("open: %v", res)
	}
	// Far from everything: closing grabs nothing.
	h2 := newHarness(t, Options{})
	res = h2.result(h2.call("gripper", map[string]any{"state": "close"})).(map[string]any)
	if res["holding"] != nil {
		t.Errorf("grabbed %v from afar", res["holding"])
	}
}

func TestBatteryRunsOut(t *testing.T) {
	h := newHarness(t, Options{Battery: 0.1, Start: &Pose{X: 0.5, Y: 0.5}})
	id := h.call("drive", map[string]any{"speed": 0.1, "ms": 5000})
	h.clk.Advance(5 * time.Second)
	res := h.result(id).(map[string]any)
	if res["reason"] != "battery" || res["battery"] != 0.0 {
		t.Errorf("result %v, want reason battery", res)
	}
	if c := h.errCode(h.call("drive", map[string]any{"speed": 0.1})); c != protocol.CodeOutOfRange {
		t.Errorf("drive on empty battery: %s", c)
	}
}

func TestTelemetryRate(t *testing.T) {
	h := newHarness(t, Options{TelemetryHz: 10})
	h.clk.Advance(time.Second)
	h.mu.Lock()
	n := len(h.evts)
	h.mu.Unlock()
	if n != 10 {
		t.Errorf("%d telemetry events in 1 s at 10 Hz", n)
	}
	h.result(h.call("telemetry", map[string]any{"hz": 0}))
	h.clk.Advance(time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.evts) != n {
		t.Errorf("events after telemetry off: %d", len(h.evts)-n)
	}
	if d := h.evts[0].Data.(map[string]any); d["battery"] == nil || d["pose"] == nil {
		t.Errorf("telemetry data %v", d)
	}
}

func TestDescriptionValidAndSmall(t *testing.T) {
	r := NewRover(Options{Clock: NewSimClock()})
	defer r.Close()
	desc := r.Description()
	if err := desc.Validate(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{})
	id := h.call("describe", nil)
	h.result(id)
	b, _ := json.Marshal(protocol.Reply{ID: &id, OK: true, Result: desc})
	if len(b)+1 > protocol.MaxLine {
		t.Errorf("describe reply is %d bytes, over the %d-byte line limit", len(b)+1, protocol.MaxLine)
	}
}
