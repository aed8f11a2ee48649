// Package devtest connects tests to the reference firmware: a simulated
// rover served on a real pseudo-terminal and reached through a hub.
package devtest

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// PTYRover serves a rover with opts (on a clock 20 times real time unless
// opts says otherwise) on a new pseudo-terminal, opens the terminal side as
// a device of hub, describes it and adds it. Everything is closed when the
// test ends.
func PTYRover(t testing.TB, hub *devices.Hub, opts firmware.Options) *firmware.Rover {
	t.Helper()
	r, p := ServeRover(t, opts)
	ctx := context.Background()
	f, err := os.OpenFile(p.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := hub.NewDevice("", devices.Options{Timeout: 10 * time.Second}) // generous: a loaded machine is slow
	d.Attach(devices.NewLineLink(f, d))
	t.Cleanup(func() { hub.Remove(d.Name()); d.Close() })
	dctx, dcancel := context.WithTimeout(ctx, testenv.Patience)
	defer dcancel()
	if _, err := d.Describe(dctx); err != nil {
		t.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		t.Fatal(err)
	}
	return r
}

// ServeRover serves a rover with opts (on a clock 20 times real time unless
// opts says otherwise) on a new pseudo-terminal until the test ends; a
// gateway opens the returned pty's Path.
func ServeRover(t testing.TB, opts firmware.Options) (*firmware.Rover, *firmware.PTY) {
	t.Helper()
	p, err := firmware.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Clock == nil {
		opts.Clock = firmware.ScaledClock(20)
	}
	r := firmware.NewRover(opts)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.ServeLines(ctx, p.Master) }()
	t.Cleanup(func() {
		cancel()
		<-served
		r.Close()
		p.Close()
	})
	return r, p
}

// Num reads a number as hub calls return it (int64 or float64).
func Num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}
