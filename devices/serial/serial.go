// Package serial reaches gantry/1 devices over serial ports (a UART, a USB
// serial adapter, a pseudo-terminal): one JSON message per line
// (docs/protocol.md, section 6).
//
// Open opens a port by path, asks the device to describe itself and puts it
// in a devices.Hub under the name it gives. When the port goes away (a cable
// unplugged, the other end of a pty closed) the device goes Offline, calls
// in flight fail with devices.ErrLost, and the Port keeps trying to open the
// same path again; once it opens and the device there describes itself with
// the same name, the same Hub entry is Online again.
package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bugst "go.bug.st/serial"

	"github.com/gantry-dev/gantry/devices"
)

// Defaults of Options.
const (
	DefaultBaud          = 115200
	DefaultRetryInterval = 200 * time.Millisecond
)

// pollInterval bounds how long a read waits before looking again; it keeps
// Close prompt even where the port cannot interrupt a read.
const pollInterval = 100 * time.Millisecond

// Options configure a Port. The zero value is 115200 baud 8N1, the devices
// package's default call timeout, reopening every 200 ms, no logging.
type Options struct {
	// Baud is the line speed; default 115200. Data bits, parity and stop
	// bits are always 8N1, with no flow control.
	Baud int
	// Timeout is how long a call waits for its reply beyond the duration
	// its arguments state (devices.Options.Timeout); default 2 s. It also
	// bounds each describe when the port opens or reopens.
	Timeout time.Duration
	// NoReopen leaves the device Offline for good when the port goes away,
	// instead of reopening it.
	NoReopen bool
	// RetryInterval is the pause between attempts to reopen a lost port;
	// default 200 ms.
	RetryInterval time.Duration
	// Logger receives the port's comings and goings; default: none.
	Logger *slog.Logger
}

// Port is one serial port with a device on it, kept in a Hub.
type Port struct {
	path   string
	hub    *devices.Hub
	dev    *devices.Device
	opts   Options
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor has ended

	stopAfter func() bool // stops closing the port when Open's ctx ends
	closeOnce sync.Once
}

// Open opens the serial port at path, asks the device on it to describe
// itself, and adds it to hub under the name it gives (replacing a device
// of that name). ctx bounds the port's whole life: when it ends, the port
// closes as with Close. Until then, a lost port is reopened (unless
// opts.NoReopen).
func Open(ctx context.Context, hub *devices.Hub, path string, opts Options) (*Port, error) {
	if opts.Baud <= 0 {
		opts.Baud = DefaultBaud
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("port", path)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("serial %s: %w", path, err)
	}
	rwc, err := openPort(path, opts.Baud)
	if err != nil {
		return nil, err
	}
	dev := hub.NewDevice("", devices.Options{Timeout: opts.Timeout, Logger: opts.Logger})
	link := devices.NewLineLink(rwc, dev)
	dev.Attach(link)
	if _, err := dev.Describe(ctx); err != nil {
		link.Close()
		return nil, fmt.Errorf("serial %s: describe: %w", path, err)
	}
	if err := hub.Add(dev); err != nil {
		link.Close()
		return nil, fmt.Errorf("serial %s: %w", path, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	p := &Port{path: path, hub: hub, dev: dev, opts: opts, log: log.With("device", dev.Name()),
		cancel: cancel, done: make(chan struct{})}
	p.log.Info("serial device online", "baud", opts.Baud)
	go p.supervise(sctx, link)
	p.stopAfter = context.AfterFunc(ctx, p.close)
	return p, nil
}

// Device returns the port's device, the one in the Hub.
func (p *Port) Device() *devices.Device { return p.dev }

// Path returns the path the port was opened by.
func (p *Port) Path() string { return p.path }

// Close stops reopening, closes the port and takes the device out of the
// Hub (unless another device has replaced it there). Calls in flight fail
// with devices.ErrLost.
func (p *Port) Close() error {
	p.stopAfter()
	p.close()
	return nil
}

func (p *Port) close() {
	p.closeOnce.Do(func() {
		p.cancel()
		<-p.done
		p.shutdown()
	})
}

// supervise waits for the link to end and, when the port was lost rather
// than closed, reopens it, until ctx ends.
func (p *Port) supervise(ctx context.Context, link *devices.LineLink) {
	defer close(p.done)
	for {
		select {
		case <-link.Done():
		case <-ctx.Done():
			return
		}
		lost := link.Err()
		if errors.Is(lost, devices.ErrClosed) || isClosed(p.dev) {
			// Closed on purpose: the device was closed, removed from the
			// hub or replaced there. Nothing to reopen.
			return
		}
		if p.opts.NoReopen {
			p.log.Warn("serial port lost; not reopening", "err", lost)
			return
		}
		p.log.Warn("serial port lost; reopening", "err", lost, "every", p.opts.RetryInterval)
		p.dev.SetState(devices.Offline, fmt.Errorf("%w; reopening every %v", lost, p.opts.RetryInterval))
		if link = p.reopen(ctx); link == nil {
			return
		}
	}
}

// shutdown takes the device out of the hub if it is still this port's,
// which closes it and its link.
func (p *Port) shutdown() {
	name := p.dev.Name()
	if d, ok := p.hub.Device(name); ok && d == p.dev {
		p.hub.Remove(name)
	} else {
		p.dev.Close()
	}
	p.log.Info("serial port closed")
}

// reopen tries to open the port every RetryInterval until the device on it
// has described itself, and returns the new link; nil when ctx ends or the
// device was closed meanwhile.
func (p *Port) reopen(ctx context.Context) *devices.LineLink {
	t := time.NewTicker(p.opts.RetryInterval)
	defer t.Stop()
	last := ""
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if isClosed(p.dev) {
			return nil
		}
		link, err := p.handshake(ctx)
		if err == nil {
			p.log.Info("serial device back online", "attempts", attempt)
			return link
		}
		if ctx.Err() != nil {
			return nil
		}
		if msg := err.Error(); msg != last { // log each new reason once
			p.log.Warn("reopen failed; retrying", "err", err)
			last = msg
		}
	}
}

// handshake opens the port, asks the device on it to describe itself and,
// when it is the same device, hands the link to the port's device, which
// goes Online. Until then calls keep failing with ErrOffline.
//
// A different device on the path (another name) is not taken: the error
// says which device answered, the port is closed again and the next
// attempt tries again, so the right device is found once it is plugged
// back.
func (p *Port) handshake(ctx context.Context) (*devices.LineLink, error) {
	rwc, err := openPort(p.path, p.opts.Baud)
	if err != nil {
		return nil, err
	}
	// A stand-in device speaks to the port until the description is
	// checked; the gate then switches the link over to the real one.
	probe := p.hub.NewDevice("", devices.Options{Timeout: p.opts.Timeout, Logger: p.opts.Logger})
	g := &gate{to: probe}
	link := devices.NewLineLink(rwc, g)
	probe.Attach(link)
	desc, err := probe.Describe(ctx)
	if err != nil {
		link.Close()
		return nil, fmt.Errorf("serial %s: describe after reopening: %w", p.path, err)
	}
	if want := p.dev.Name(); desc.Name != want {
		link.Close()
		err := fmt.Errorf("serial %s: the device there now is %q, not %q; keeping %s offline", p.path, desc.Name, want, want)
		p.dev.SetState(devices.Offline, fmt.Errorf("%w; retrying every %v", err, p.opts.RetryInterval))
		return nil, err
	}
	if err := g.handOver(p.dev, desc, link); err != nil {
		link.Close()
		return nil, fmt.Errorf("serial %s: %w", p.path, err)
	}
	if isClosed(p.dev) { // closed while we attached: the link is ours to close
		link.Close()
		return nil, fmt.Errorf("serial %s: %w", p.path, devices.ErrClosed)
	}
	return link, nil
}

// gate is the Inbox of a reopened link: it forwards to the stand-in device
// during the handshake and to the port's device after handOver.
type gate struct {
	mu   sync.Mutex
	to   devices.Inbox
	dead bool // the link reported Offline
}

func (g *gate) Receive(msg []byte) {
	g.mu.Lock()
	to := g.to
	g.mu.Unlock()
	to.Receive(msg)
}

func (g *gate) SetState(s devices.State, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s == devices.Offline {
		g.dead = true
	}
	g.to.SetState(s, err)
}

// handOver makes dev the link's device: it records desc, attaches the link
// and reports dev Online, unless the link has died meanwhile. Holding the
// gate's lock orders this against the link reporting Offline.
func (g *gate) handOver(dev *devices.Device, desc *devices.Description, link devices.Link) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead {
		return errors.New("port lost again during the handshake")
	}
	if err := dev.SetDescription(desc); err != nil {
		return err
	}
	g.to = dev
	dev.Attach(link)
	dev.SetState(devices.Online, nil)
	return nil
}

// isClosed reports whether d was closed (the devices package has no direct
// way to ask).
func isClosed(d *devices.Device) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return errors.Is(d.WaitOnline(ctx), devices.ErrClosed)
}

// conn is an open serial port as a plain byte stream: reads block until
// data comes or the port fails or is closed, and errors name the port.
type conn struct {
	port   bugst.Port
	path   string
	closed atomic.Bool
}

// openPort opens path at baud, 8N1, in raw mode. It sets no modem lines
// (DTR, RTS): pseudo-terminals refuse them.
func openPort(path string, baud int) (*conn, error) {
	port, err := bugst.Open(path, &bugst.Mode{BaudRate: baud, DataBits: 8, Parity: bugst.NoParity, StopBits: bugst.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("serial %s: open: %w", path, err)
	}
	if err := port.SetReadTimeout(pollInterval); err != nil {
		port.Close()
		return nil, fmt.Errorf("serial %s: set read timeout: %w", path, err)
	}
	return &conn{port: port, path: path}, nil
}

// Read blocks until some bytes arrive; the port's read timeouts, which
// return no bytes and no error, are not passed on.
func (c *conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, err := c.port.Read(b)
		if n > 0 {
			return n, nil
		}
		if c.closed.Load() {
			return 0, fmt.Errorf("serial %s: %w", c.path, io.ErrClosedPipe)
		}
		if err != nil {
			return 0, &lostError{path: c.path, op: "read", err: err}
		}
	}
}

// Write writes all of b.
func (c *conn) Write(b []byte) (int, error) {
	total := 0
	for total < len(b) {
		n, err := c.port.Write(b[total:])
		total += n
		if err != nil {
			if c.closed.Load() {
				return total, fmt.Errorf("serial %s: write: %w", c.path, io.ErrClosedPipe)
			}
			return total, &lostError{path: c.path, op: "write", err: err}
		}
		if n == 0 {
			return total, fmt.Errorf("serial %s: write: %w", c.path, io.ErrShortWrite)
		}
	}
	return total, nil
}

// Close closes the port; a Read in progress returns.
func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if err := c.port.Close(); err != nil {
		return fmt.Errorf("serial %s: close: %w", c.path, err)
	}
	return nil
}

// lostError is a port that failed under a read or a write: unplugged, or
// the other end of a pty closed.
type lostError struct {
	path, op string
	err      error
}

func (e *lostError) Error() string {
	why := e.err.Error()
	var pe *bugst.PortError
	if errors.As(e.err, &pe) && pe.Code() == bugst.PortClosed {
		why = "hung up" // the library's words, "Port has been closed", suggest we closed it
	}
	return fmt.Sprintf("serial %s: port unplugged or its other end closed (%s: %s)", e.path, e.op, why)
}

func (e *lostError) Unwrap() error { return e.err }
