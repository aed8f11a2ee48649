package devicestest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/protocol"
)

func rover(t *testing.T) *protocol.Description {
	t.Helper()
	r := firmware.NewRover(firmware.Options{})
	defer r.Close()
	d := r.Description()
	return &d
}

func played(t *testing.T, ops []devicestest.IO) (*devices.Hub, *devicestest.Playback) {
	t.Helper()
	hub := devices.NewHub(devices.HubOptions{})
	pb := &devicestest.Playback{Ops: ops}
	d, err := devicestest.NewDevice(hub, rover(t), pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	return hub, pb
}

func TestPlayback(t *testing.T) {
	ctx := context.Background()
	t.Run("in order", func(t *testing.T) {
		hub, pb := played(t, []devicestest.IO{
			{Action: "ping", Result: "pong"},
			{Action: "drive", Args: map[string]any{"speed": 0.5, "ms": 10}, Result: map[string]any{"x": 1}},
			{Action: "gripper", Args: map[string]any{"state": "open"}, Error: &protocol.Error{Code: protocol.CodeBusy, Message: "busy"}},
		})
		if v, err := hub.Call(ctx, "rover", "ping", nil); err != nil || v != "pong" {
			t.Fatalf("ping: %v %v", v, err)
		}
		// int64 and float64 arguments match the script's numbers as JSON does.
		if v, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.5, "ms": int64(10)}); err != nil || !reflect.DeepEqual(v, map[string]any{"x": int64(1)}) {
			t.Fatalf("drive: %#v %v", v, err)
		}
		_, err := hub.Call(ctx, "rover", "gripper", map[string]any{"state": "open"})
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeBusy {
			t.Fatalf("gripper: %v, want a busy error reply", err)
		}
		if err := pb.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unexpected and missing", func(t *testing.T) {
		hub, pb := played(t, []devicestest.IO{{Action: "ping", Result: "pong"}, {Action: "distance", Result: 1.0}})
		_, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.1})
		if !errors.Is(err, devicestest.ErrUnexpected) || !strings.Contains(err.Error(), "want ping {}") {
			t.Fatalf("err = %v", err)
		}
		err = pb.Close()
		for _, want := range []string{"unexpected request 1: drive {speed: 0.1}", "2 of 2 requests never came: ping {}; distance {}"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Close: %v, want it to say %q", err, want)
			}
		}
	})
	t.Run("held until released", func(t *testing.T) {
		hub, pb := played(t, []devicestest.IO{
			{Action: "drive", Args: map[string]any{"speed": 0.2, "ms": 5000}, Hold: true, Error: &protocol.Error{Code: protocol.CodeStopped, Message: "stopped"}},
			{Action: "stop", Release: []int{0}, Result: map[string]any{"stopped": true}},
		})
		errc := make(chan error, 1)
		go func() {
			_, err := hub.Call(ctx, "rover", "drive", map[string]any{"speed": 0.2, "ms": int64(5000)})
			errc <- err
		}()
		d, _ := hub.Device("rover")
		if err := pb.Wait(ctx, 1); err != nil { // the drive arrived
			t.Fatal(err)
		}
		if _, err := d.Call(ctx, "stop", nil); err != nil {
			t.Fatal(err)
		}
		var pe *protocol.Error
		if err := <-errc; !errors.As(err, &pe) || pe.Code != protocol.CodeStopped {
			t.Fatalf("drive: %v, want stopped", err)
		}
		if err := pb.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A conversation recorded against the reference firmware plays back with
// the same results.
func TestRecordThenPlayback(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		action string
		args   map[string]any
	}{
		{"ping", nil},
		{"get", map[string]any{"name": "battery"}},
		{"drive", map[string]any{"speed": 0.5, "ms": int64(100)}},
		{"drive", map[string]any{"speed": 3.0}}, // out of range: an error reply
		{"distance", nil},
	}
	r := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(100)})
	defer r.Close()
	gw, fw := net.Pipe()
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- r.ServeLines(sctx, fw) }()
	defer func() { cancel(); fw.Close(); <-served }()

	hub := devices.NewHub(devices.HubOptions{})
	defer hub.Close()
	d := hub.NewDevice("", devices.Options{})
	rec := devicestest.NewRecord(d)
	rec.Link = devices.NewLineLink(gw, rec)
	d.Attach(rec)
	if _, err := d.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	var want []any
	for _, c := range calls {
		v, err := hub.Call(ctx, "rover", c.action, c.args)
		want = append(want, result(v, err))
	}
	ops := rec.Ops()[1:] // without describe: the playback is described already
	if len(ops) != len(calls) {
		t.Fatalf("recorded %d requests, want %d: %+v", len(ops), len(calls), ops)
	}
	b, err := json.Marshal(ops) // a script survives JSON (testdata files)
	if err != nil {
		t.Fatal(err)
	}
	var script []devicestest.IO
	if err := json.Unmarshal(b, &script); err != nil {
		t.Fatal(err)
	}

	phub, pb := played(t, script)
	for i, c := range calls {
		v, err := phub.Call(ctx, "rover", c.action, c.args)
		if got := result(v, err); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s: played %#v, recorded %#v", c.action, got, want[i])
		}
	}
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
}

// result is what a call returned, comparable across hubs: the value, or
// the device's error code.
func result(v any, err error) any {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return "error " + pe.Code
	}
	if err != nil {
		return "gateway error"
	}
	return v
}
