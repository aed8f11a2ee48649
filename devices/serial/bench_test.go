package serial_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices/serial"
	"github.com/gantry-dev/gantry/firmware"
)

// pingBytes is the size of a ping request and its reply on the wire, with
// gantry's ids (the time in ms × 1000, 16 digits) and the rover's clock.
func pingBytes() (req, rep int) {
	id := time.Now().UnixMilli() * 1000
	req = len(fmt.Sprintf(`{"id":%d,"action":"ping"}`+"\n", id))
	rep = len(fmt.Sprintf(`{"id":%d,"ok":true,"result":{"ts":123456}}`+"\n", id))
	return req, rep
}

// lineTime is how long bytes take on a UART at baud with 8N1 framing.
func lineTime(bytes, baud int) time.Duration {
	return time.Duration(float64(bytes*10) / float64(baud) * float64(time.Second))
}

// BenchmarkSerialRoundTrip is a ping of the Go rover through the gateway
// (hub, guard, LineLink, go.bug.st/serial) over a pty, which does not
// emulate a baud rate.
func BenchmarkSerialRoundTrip(b *testing.B) {
	_, p := serveRover(b, firmware.Options{})
	hub, _ := openPort(b, p.Path, serial.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
			b.Fatal(err)
		}
	}
	req, rep := pingBytes()
	b.ReportMetric(float64(lineTime(req+rep, 115200).Microseconds()), "µs-at-115200")
}

// BenchmarkRawPTYRoundTrip is the baseline: the same request written to
// the pty and the reply read back, with no gateway.
func BenchmarkRawPTYRoundTrip(b *testing.B) {
	_, p := serveRover(b, firmware.Options{})
	f, err := os.OpenFile(p.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	id := time.Now().UnixMilli() * 1000
	for b.Loop() {
		id++
		if _, err := fmt.Fprintf(f, `{"id":%d,"action":"ping"}`+"\n", id); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
}

// uart paces a pty like a UART at a baud rate: what the device reads and
// writes takes bytes × 10 / baud, each way.
type uart struct {
	f    *os.File
	baud int
}

func (u uart) Read(p []byte) (int, error) {
	n, err := u.f.Read(p)
	if n > 0 {
		time.Sleep(lineTime(n, u.baud))
	}
	return n, err
}

func (u uart) Write(p []byte) (int, error) {
	time.Sleep(lineTime(len(p), u.baud))
	return u.f.Write(p)
}

func (u uart) Close() error { return u.f.Close() }

var _ io.ReadWriteCloser = uart{}

// BenchmarkSerialLineRate is a ping through the gateway to the Go rover on
// a pty paced like a UART at 115200 baud, with the line-rate limit of the
// request and reply and the ratio to it.
func BenchmarkSerialLineRate(b *testing.B) {
	const baud = 115200
	p, err := firmware.OpenPTY()
	if err != nil {
		b.Fatal(err)
	}
	r := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(20)})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.ServeLines(ctx, uart{p.Master, baud}) }()
	defer func() {
		cancel()
		<-served
		r.Close()
		p.Close()
	}()
	hub, _ := openPort(b, p.Path, serial.Options{Baud: baud})
	for b.Loop() {
		if _, err := hub.Call(context.Background(), "rover", "ping", nil); err != nil {
			b.Fatal(err)
		}
	}
	req, rep := pingBytes()
	limit := lineTime(req+rep, baud)
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(limit.Microseconds()), "µs-line-rate")
	b.ReportMetric(float64(per)/float64(limit), "x-line-rate")
}
