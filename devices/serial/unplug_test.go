package serial_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/serial"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// cable is a null-modem cable made by socat: a pty pair whose two ends
// keep their paths (symlinks) across unplugging (stopping socat) and
// plugging back in (starting it again).
type cable struct {
	t       *testing.T
	socat   string
	gw, fw  string // the gateway's end, the firmware's end
	cmd     *exec.Cmd
	drained chan struct{}
}

func newCable(t *testing.T) *cable {
	dir := t.TempDir()
	c := &cable{t: t, socat: testenv.LookPath(t, "socat"),
		gw: filepath.Join(dir, "ttyGW"), fw: filepath.Join(dir, "ttyFW")}
	t.Cleanup(c.unplug)
	return c
}

// plug starts socat and returns once both ends exist.
func (c *cable) plug() {
	c.t.Helper()
	c.cmd = exec.Command(c.socat, "-d", "-d", "pty,raw,echo=0,link="+c.gw, "pty,raw,echo=0,link="+c.fw)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start socat: %v", err)
	}
	ready := make(chan struct{})
	c.drained = make(chan struct{})
	go func() {
		defer close(c.drained)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-c.drained:
		c.t.Fatal("socat exited before making its ptys")
	case <-time.After(testenv.Patience):
		c.t.Fatal("socat did not make its ptys")
	}
}

// unplug stops socat; it removes both links as it exits.
func (c *cable) unplug() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
	<-c.drained
	c.cmd = nil
}

// serve serves r on the firmware's end until the cable is unplugged or
// the test ends; the returned channel yields how serving ended.
func (c *cable) serve(r *firmware.Rover) <-chan error {
	c.t.Helper()
	f, err := os.OpenFile(c.fw, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := r.ServeLines(ctx, f)
		f.Close()
		out <- err
	}()
	c.t.Cleanup(func() { cancel(); <-done })
	return out
}

func TestUnplugAndComeBack(t *testing.T) {
	c := newCable(t)
	c.plug()
	r := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(20)})
	defer r.Close()
	served := c.serve(r)
	logs, logger := testenv.NewLogWatch(nil)
	hub, port := openPort(t, c.gw, serial.Options{Timeout: 10 * time.Second, RetryInterval: 50 * time.Millisecond, Logger: logger})
	d := port.Device()
	ctx := context.Background()
	if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
		t.Fatal(err)
	}

	// Unplug mid-drive: a 4 s drive takes 200 ms at 20x.
	before := r.Executed()
	errc := make(chan error, 1)
	go func() {
		_, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.1, "ms": int64(4000)})
		errc <- err
	}()
	testenv.Eventually(t, "the rover never started the drive", func() bool { return r.Executed() != before })
	c.unplug()
	err := <-errc
	t.Logf("the drive in flight: %v", err)
	// ErrLost, not ErrTimeout: the unplug ended the call, not its timeout.
	if !errors.Is(err, devices.ErrLost) {
		t.Fatalf("drive in flight: %v, want ErrLost", err)
	}
	for _, want := range []string{"rover.drive", c.gw, "unplugged", "may or may not have run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if st, why := d.State(); st != devices.Offline || why == nil {
		t.Errorf("state %v (%v), want offline with a reason", st, why)
	}
	_, err = hub.Call(ctx, "rover", "ping", nil)
	t.Logf("a call while unplugged: %v", err)
	if !errors.Is(err, devices.ErrOffline) || !strings.Contains(err.Error(), c.gw) {
		t.Errorf("call while unplugged: %v, want ErrOffline naming the port", err)
	}
	if err := <-served; err == nil {
		t.Log("the firmware saw the end of its stream")
	}
	logs.Wait(t, "reopen failed", 1) // a failed reopen: the path is gone

	// Plug back in and serve the same rover again.
	c.plug()
	c.serve(r)
	wctx, cancel := context.WithTimeout(ctx, testenv.Patience)
	defer cancel()
	start := time.Now()
	if err := hub.Wait(wctx, "rover"); err != nil {
		st, why := d.State()
		t.Fatalf("not back: %v (state %v: %v)", err, st, why)
	}
	t.Logf("back online %v after plugging in", time.Since(start))
	if got, ok := hub.Device("rover"); !ok || got != d {
		t.Fatal("the hub has a different device for rover")
	}
	// The drive cut off by the unplug goes on in the rover until its end:
	// ask (each question a round trip) until it is over.
	testenv.Eventually(t, "the rover never stopped moving", func() bool {
		v, err := hub.Call(ctx, "rover", "get", map[string]any{"name": "moving"})
		if err != nil {
			t.Fatal(err)
		}
		return v == false
	})
	if _, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": -0.1, "ms": int64(1000)}); err != nil {
		t.Fatalf("drive after coming back: %v", err)
	}
	if v, err := hub.Call(ctx, "rover", "distance", nil); err != nil || v == nil {
		t.Fatalf("distance after coming back: %v %v", v, err)
	}
}

func TestUnplugNoReopen(t *testing.T) {
	c := newCable(t)
	c.plug()
	r := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(20)})
	defer r.Close()
	c.serve(r)
	logs, logger := testenv.NewLogWatch(nil)
	hub, port := openPort(t, c.gw, serial.Options{NoReopen: true, RetryInterval: 20 * time.Millisecond, Logger: logger})
	c.unplug()
	// Logged once the port has decided, after going offline: nothing
	// reopens it from here on.
	logs.Wait(t, "serial port lost; not reopening", 1)
	if st, _ := port.Device().State(); st != devices.Offline {
		t.Fatalf("state %v after the unplug, want offline", st)
	}
	c.plug()
	c.serve(r)
	if _, err := hub.Call(context.Background(), "rover", "ping", nil); !errors.Is(err, devices.ErrOffline) {
		t.Errorf("after plugging back in with NoReopen: %v, want ErrOffline", err)
	}
}

// TestAnotherDeviceOnThePath plugs a rover named differently into the
// port's path: the port keeps its device offline, saying which device it
// found, and takes the right one back when it returns.
func TestAnotherDeviceOnThePath(t *testing.T) {
	c := newCable(t)
	c.plug()
	r := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(20)})
	defer r.Close()
	c.serve(r)
	hub, port := openPort(t, c.gw, serial.Options{Timeout: 10 * time.Second, RetryInterval: 20 * time.Millisecond})
	d := port.Device()
	c.unplug()

	other := firmware.NewRover(firmware.Options{Name: "crane", Clock: firmware.ScaledClock(20)})
	defer other.Close()
	c.plug()
	c.serve(other)
	testenv.Eventually(t, "no state reason naming crane", func() bool {
		_, why := d.State()
		return why != nil && strings.Contains(why.Error(), `"crane"`)
	})
	_, why := d.State()
	t.Logf("with another device on the path: %v", why)
	if _, ok := hub.Device("crane"); ok {
		t.Error("crane was added to the hub")
	}
	if _, err := hub.Call(context.Background(), "rover", "ping", nil); !errors.Is(err, devices.ErrOffline) {
		t.Errorf("rover.ping with crane on the path: %v", err)
	}

	c.unplug()
	c.plug()
	c.serve(r)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer cancel()
	if err := d.WaitOnline(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Call(context.Background(), "rover", "ping", nil); err != nil {
		t.Fatal(err)
	}
}
