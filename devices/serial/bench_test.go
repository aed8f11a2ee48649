package serial_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices/serial"
	"github.com/gantry-dev/gantry/firmware"
)

// The benchmarks ping the Go rover over a pty, through the gateway and
// without it, first as fast as the pty goes (a pty does not emulate a baud
// rate), then with the firmware's side paced like a UART at 115200 baud.
// Each reports the bytes a round trip puts on the wire (counted, both
// directions), their line-rate limit at 115200 baud (bytes × 10 / baud)
// and the measured round trip as a multiple of that limit.

const benchBaud = 115200

// lineTime is how long bytes take on a UART at baud with 8N1 framing.
func lineTime(bytes int64, baud int) time.Duration {
	return time.Duration(float64(bytes*10) / float64(baud) * float64(time.Second))
}

// uart is the firmware's side of a pty, counting the bytes it reads and
// writes and, when baud > 0, paced like a UART: the last byte of what it
// reads arrived bytes × 10 / baud after the first, and what it writes has
// left only that long after it started.
type uart struct {
	f      *os.File
	baud   int
	nbytes *atomic.Int64
}

func (u uart) Read(p []byte) (int, error) {
	n, err := u.f.Read(p)
	if n > 0 {
		u.nbytes.Add(int64(n))
		if u.baud > 0 {
			wait(lineTime(int64(n), u.baud))
		}
	}
	return n, err
}

func (u uart) Write(p []byte) (int, error) {
	u.nbytes.Add(int64(len(p)))
	if u.baud > 0 {
		wait(lineTime(int64(len(p)), u.baud))
	}
	return u.f.Write(p)
}

func (u uart) Close() error { return u.f.Close() }

// wait waits d precisely: time.Sleep alone overshoots by up to a
// millisecond here (the runtime's timers wake in whole milliseconds), 12%
// of a ping's line time, so the last stretch is spun.
func wait(d time.Duration) {
	deadline := time.Now().Add(d)
	if d > 2*time.Millisecond {
		time.Sleep(d - 2*time.Millisecond)
	}
	for time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

// serveCounted serves the Go rover on a fresh pty through a uart at baud
// (0: unpaced) until the benchmark ends; it returns the pty's path and the
// byte counter.
func serveCounted(b *testing.B, baud int) (string, *atomic.Int64) {
	p, err := firmware.OpenPTY()
	if err != nil {
		b.Fatal(err)
	}
	r := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(20)})
	var n atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.ServeLines(ctx, uart{p.Master, baud, &n}) }()
	b.Cleanup(func() {
		cancel() // ServeLines closes the uart (the master) to end its read
		<-served
		r.Close()
		p.Close()
	})
	return p.Path, &n
}

// report reports the wire bytes per round trip, their line time at 115200
// baud and the round trip as a multiple of it.
func report(b *testing.B, nbytes *atomic.Int64, start int64) {
	per := float64(nbytes.Load()-start) / float64(b.N)
	limit := lineTime(int64(per+0.5), benchBaud)
	b.ReportMetric(per, "wire-B/op")
	b.ReportMetric(float64(limit.Microseconds()), "µs-line-rate")
	b.ReportMetric(float64(b.Elapsed()/time.Duration(b.N))/float64(limit), "x-line-rate")
}

// gatewayPing pings through the gateway: hub, guard, Device, LineLink,
// go.bug.st/serial.
func gatewayPing(b *testing.B, baud int) {
	path, nbytes := serveCounted(b, baud)
	hub, _ := openPort(b, path, serial.Options{Baud: benchBaud})
	ctx := context.Background()
	start := nbytes.Load()
	for b.Loop() {
		if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
			b.Fatal(err)
		}
	}
	report(b, nbytes, start)
}

// rawPing writes the same request line to the pty and reads the reply line
// back, with no gateway.
func rawPing(b *testing.B, baud int) {
	path, nbytes := serveCounted(b, baud)
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	id := time.Now().UnixMilli() * 1000 // gantry's ids, the same length on the wire
	start := nbytes.Load()
	for b.Loop() {
		id++
		if _, err := fmt.Fprintf(f, `{"id":%d,"action":"ping"}`+"\n", id); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
	report(b, nbytes, start)
}

// BenchmarkSerialRoundTrip is a ping through the gateway over an unpaced
// pty: what the gateway costs.
func BenchmarkSerialRoundTrip(b *testing.B) { gatewayPing(b, 0) }

// BenchmarkRawPTYRoundTrip is the baseline of BenchmarkSerialRoundTrip.
func BenchmarkRawPTYRoundTrip(b *testing.B) { rawPing(b, 0) }

// BenchmarkSerialLineRate is a ping through the gateway with the firmware's
// side paced like a UART at 115200 baud.
func BenchmarkSerialLineRate(b *testing.B) { gatewayPing(b, benchBaud) }

// BenchmarkRawLineRate is the baseline of BenchmarkSerialLineRate: its
// distance from the limit is the pacing's own.
func BenchmarkRawLineRate(b *testing.B) { rawPing(b, benchBaud) }
