package lm3s6965

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/serial"
	"github.com/gantry-dev/gantry/internal/devtest"
)

// openGateway boots the C firmware under QEMU and opens its UART's pty with
// devices/serial, the gateway's own code path for serial devices.
func openGateway(t testing.TB) (*devices.Hub, *serial.Port) {
	path := boot(t, build(t))
	hub := devices.NewHub(devices.HubOptions{})
	port, err := serial.Open(context.Background(), hub, path, serial.Options{Timeout: 2 * time.Second, NoReopen: true})
	if err != nil {
		hub.Close()
		t.Fatalf("the gateway cannot use the C firmware: %v", err)
	}
	t.Cleanup(func() { // before QEMU is killed: cleanups run last first
		port.Close()
		hub.Close()
	})
	return hub, port
}

func TestQEMUThroughGateway(t *testing.T) {
	hub, port := openGateway(t)
	d := port.Device()
	if d.Name() != "qrover" {
		t.Fatalf("device name %q, want qrover", d.Name())
	}
	if got, ok := hub.Device("qrover"); !ok || got != d {
		t.Fatal("qrover is not in the hub")
	}
	desc := d.Description()
	for _, a := range []string{"drive", "distance", "pose"} {
		if _, ok := desc.Actions[a]; !ok {
			t.Errorf("the description has no %s", a)
		}
	}
	ctx := context.Background()
	call := func(action string, args map[string]any) map[string]any {
		t.Helper()
		v, err := hub.Call(ctx, "qrover", action, args)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		if m, ok := v.(map[string]any); ok {
			return m
		}
		return map[string]any{"value": v}
	}
	x := func(pose map[string]any) float64 { f, _ := devtest.Num(pose["x"]); return f }
	dist := func() float64 { f, _ := devtest.Num(call("distance", nil)["value"]); return f }

	pose0, dist0 := call("pose", nil), dist()
	start := time.Now()
	res := call("drive", map[string]any{"speed": 0.5, "ms": int64(400)})
	took := time.Since(start)
	moved, _ := devtest.Num(res["moved"])
	if moved < 0.15 || moved > 0.25 {
		t.Errorf("drive result %v: moved %v m, want about 0.2", res, res["moved"])
	}
	if took < 350*time.Millisecond { // no ceiling: a loaded machine may be slow
		t.Errorf("a 400 ms drive replied after %v", took)
	}
	pose1, dist1 := call("pose", nil), dist()
	if dx := x(pose1) - x(pose0); dx < 0.15 || dx > 0.25 {
		t.Errorf("pose %v -> %v: x moved %v, want about 0.2", pose0, pose1, dx)
	}
	if dd := dist0 - dist1; dd < 0.15 || dd > 0.25 {
		t.Errorf("distance %v -> %v, want about 0.2 less", dist0, dist1)
	}
	call("drive", map[string]any{"speed": -0.5, "ms": int64(400)}) // back

	_, err := hub.Call(ctx, "qrover", "drive", map[string]any{"speed": 3.0})
	var de *devices.DeviceError
	if !errors.As(err, &de) || de.Code != "out_of_range" {
		t.Errorf("speed 3: %v, want out_of_range from the firmware", err)
	}
	if st := d.Stats(); st.Garbage != 0 || st.Stale != 0 {
		t.Errorf("stats %+v", st)
	}
}

// BenchmarkQEMUGatewayRoundTrip measures hub.Call ping to the C firmware
// under QEMU through devices/serial (compare BenchmarkQEMURoundTrip, the
// same line without the gateway).
func BenchmarkQEMUGatewayRoundTrip(b *testing.B) {
	hub, _ := openGateway(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := hub.Call(ctx, "qrover", "ping", nil); err != nil {
			b.Fatal(err)
		}
	}
}
