package conformance

import (
	"context"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/gantry-dev/gantry/firmware"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts the Go rover behind a connection that ends with the test.
func serve(t *testing.T, r *firmware.Rover, rw io.ReadWriter) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.ServeLines(ctx, rw) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestGoRoverOverPipe(t *testing.T) {
	r := firmware.NewRover(firmware.Options{TelemetryHz: 20})
	defer r.Close()
	Run(t, func(t *testing.T) io.ReadWriteCloser {
		a, b := net.Pipe()
		serve(t, r, b)
		return a
	})
}

func TestGoRoverOverPTY(t *testing.T) {
	r := firmware.NewRover(firmware.Options{})
	defer r.Close()
	p, err := firmware.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	serve(t, r, p.Master)
	Run(t, func(t *testing.T) io.ReadWriteCloser {
		f, err := os.OpenFile(p.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	})
}
