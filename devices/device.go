// Package devices is gantry's gateway to hardware: devices that describe
// themselves with the gantry/1 protocol (docs/protocol.md), reached over a
// Link (MQTT in devices/mqtt, serial in devices/serial, any byte stream with
// NewLineLink), kept in a Hub, turned into tools, and guarded.
//
// The layers, from the wire up:
//
//   - Link carries protocol messages to one device and hands what it reads
//     to the device's Inbox.
//   - Device matches replies to requests by id, applies timeouts, fails
//     in-flight requests when the device goes away, and fans out events.
//   - Hub holds the devices, allocates request ids and routes every call
//     through the Guard (allow-list, bounds, rate limits, emergency stop,
//     dry run, audit log).
//   - Tools registers each described action as a tool ("rover.drive") that
//     both runtimes and the prompts see.
package devices

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/internal/argcheck"
	"github.com/gantry-dev/gantry/internal/repr"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/tool"
)

// Protocol types (package protocol), shared with every device.
type (
	Description = protocol.Description
	ActionDesc  = protocol.ActionDesc
	Param       = protocol.Param
	Event       = protocol.Event
)

// Link carries protocol messages between the gateway and one device.
// Implementations deliver what they read to the Inbox they were given.
type Link interface {
	// Send delivers one message, a JSON object without a newline.
	Send(ctx context.Context, msg []byte) error
	// Close releases the link; the Inbox gets no more calls after it returns.
	Close() error
}

// Inbox receives what a Link reads from its device, and the link's state.
// Its methods do not block.
type Inbox interface {
	// Receive takes one message (a reply or an event) from the device.
	Receive(msg []byte)
	// SetState reports that the device became reachable (Online), that the
	// way to it is down for now while requests in flight may still complete
	// (Unreachable: a broker connection lost), or that it is gone
	// (Offline: requests in flight fail with err).
	SetState(s State, err error)
}

// State is a device's reachability.
type State int32

// The states of a device.
const (
	Offline State = iota
	Online
	Unreachable
)

func (s State) String() string {
	switch s {
	case Online:
		return "online"
	case Unreachable:
		return "unreachable"
	}
	return "offline"
}

// Errors of device calls, for errors.Is. Each has a tool.Kind, which
// names the exception code sees (tool.Kind.Exception).
var (
	// ErrOffline: the device is not reachable now; nothing was sent.
	ErrOffline = tool.NewError(tool.Offline, errors.New("device offline"))
	// ErrLost: the device went away while the request was in flight; the
	// action may or may not have run.
	ErrLost = tool.NewError(tool.Offline, errors.New("device lost mid-command"))
	// ErrTimeout: no reply came in time; the action may or may not have run.
	ErrTimeout = tool.NewError(tool.Timeout, errors.New("no reply"))
	// ErrRefused: the guard refused the call; nothing was sent.
	ErrRefused = tool.NewError(tool.Refused, errors.New("refused"))
	// ErrClosed: the device or hub was closed.
	ErrClosed = tool.NewError(tool.Offline, errors.New("closed"))
)

// DeviceError is an error reply from a device: the protocol's error type,
// with its code (protocol.CodeOutOfRange, ...) and the device's message.
// Match it with errors.As.
type DeviceError = protocol.Error

// Options configure a Device.
type Options struct {
	// Timeout is the wait for a reply beyond the duration an action states
	// in its arguments (a parameter with unit "ms" or "s"); default 2 s.
	Timeout time.Duration
	// IDs allocates request ids; default: a fresh NewIDs().
	IDs *IDs
	// Logger receives warnings (stale replies, undecodable messages).
	Logger *slog.Logger
}

// IDs allocates request ids that do not repeat across gateway restarts:
// they start from the current time in milliseconds × 1000 and count up
// (docs/protocol.md, section 2).
type IDs struct{ n atomic.Int64 }

// NewIDs returns an allocator starting from now.
func NewIDs() *IDs {
	ids := &IDs{}
	ids.n.Store(time.Now().UnixMilli() * 1000)
	return ids
}

// Next returns a new id.
func (i *IDs) Next() int64 { return i.n.Add(1) }

// Stats count what a device's link delivered.
type Stats struct {
	Requests, Replies, Events, Stale, Garbage, DeviceErrors int64
}

// Device is the gateway's side of one device: requests with ids, replies
// matched by id, events, and the device's description.
type Device struct {
	name string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	link    Link
	desc    *Description
	state   State
	stateE  error
	pending map[int64]*call
	subs    map[int]func(Event)
	nextSub int
	closed  bool
	changed chan struct{} // closed and replaced on every state change

	requests, replies, events, stale, garbage, devErrs atomic.Int64
}

type call struct {
	msg  []byte
	done chan reply
}

type reply struct {
	ok     bool
	result json.RawMessage
	err    error
}

// NewDevice returns a device named name, offline until its link reports
// otherwise. Attach a link with Attach.
func NewDevice(name string, opts Options) *Device {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.IDs == nil {
		opts.IDs = NewIDs()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Device{name: name, opts: opts, log: log.With("device", name),
		pending: map[int64]*call{}, subs: map[int]func(Event){}, changed: make(chan struct{})}
}

// Attach makes l the device's link, closing the one before it.
func (d *Device) Attach(l Link) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		l.Close() // a closed device takes no new link
		return
	}
	old := d.link
	d.link = l
	d.mu.Unlock()
	if old != nil && old != l {
		old.Close()
	}
}

// Name returns the device's name ("" for a device opened by port before
// its description is known).
func (d *Device) Name() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// Description returns the device's description, nil before it is known.
func (d *Device) Description() *Description {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.desc
}

// SetDescription records the device's description after checking it.
func (d *Device) SetDescription(desc *Description) error {
	if err := desc.Validate(); err != nil {
		return fmt.Errorf("%s: invalid description: %w", d.Name(), err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if desc.Name != d.name {
		return fmt.Errorf("%s: description names the device %q", d.name, desc.Name)
	}
	d.desc = desc
	return nil
}

// Describe asks the device for its description and records it.
func (d *Device) Describe(ctx context.Context) (*Description, error) {
	raw, err := d.Call(ctx, "describe", nil)
	if err != nil {
		return nil, err
	}
	desc, err := ParseDescription(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name(), err)
	}
	d.mu.Lock()
	if d.name == "" {
		d.name = desc.Name // a device opened by port learns its name here
	}
	d.mu.Unlock()
	if err := d.SetDescription(desc); err != nil {
		return nil, err
	}
	return desc, nil
}

// ParseDescription decodes and checks a describe result.
func ParseDescription(raw []byte) (*Description, error) {
	var desc Description
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, fmt.Errorf("decode description: %w", err)
	}
	if err := desc.Validate(); err != nil {
		return nil, fmt.Errorf("invalid description: %w", err)
	}
	return &desc, nil
}

// State returns the device's reachability and, when not online, why.
func (d *Device) State() (State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state, d.stateE
}

// WaitOnline waits until the device is online or ctx ends.
func (d *Device) WaitOnline(ctx context.Context) error {
	for {
		d.mu.Lock()
		st, ch, closed, name := d.state, d.changed, d.closed, d.name
		d.mu.Unlock()
		if closed {
			return fmt.Errorf("%s: %w", name, ErrClosed)
		}
		if st == Online {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting to come online: %w", name, ctx.Err())
		}
	}
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{Requests: d.requests.Load(), Replies: d.replies.Load(), Events: d.events.Load(),
		Stale: d.stale.Load(), Garbage: d.garbage.Load(), DeviceErrors: d.devErrs.Load()}
}

// Subscribe calls f for every event until cancel is called. f runs on the
// link's goroutine and must not block.
func (d *Device) Subscribe(f func(Event)) (cancel func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.nextSub
	d.nextSub++
	d.subs[id] = f
	return func() {
		d.mu.Lock()
		delete(d.subs, id)
		d.mu.Unlock()
	}
}

// Call sends action with args and waits for the reply. It returns the raw
// JSON result; a device's error reply is a *DeviceError. The wait is the
// device's Timeout plus the duration the arguments state, bounded by ctx.
func (d *Device) Call(ctx context.Context, action string, args map[string]any) (json.RawMessage, error) {
	name := d.Name()
	if name == "" {
		name = "(unnamed)"
	}
	id := d.opts.IDs.Next()
	msg, err := json.Marshal(protocol.Request{ID: id, Action: action, Args: args})
	if err != nil {
		return nil, fmt.Errorf("%s.%s: encode request: %w", name, action, err)
	}
	if len(msg)+1 > protocol.MaxLine {
		return nil, fmt.Errorf("%s.%s: request is %d bytes, the protocol allows %d", name, action, len(msg)+1, protocol.MaxLine)
	}
	c := &call{msg: msg, done: make(chan reply, 1)}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return nil, fmt.Errorf("%s.%s: %w", name, action, ErrClosed)
	case d.state != Online || d.link == nil:
		why := d.stateE
		d.mu.Unlock()
		if why != nil {
			return nil, fmt.Errorf("%s.%s: %w (%v)", name, action, ErrOffline, why)
		}
		return nil, fmt.Errorf("%s.%s: %w", name, action, ErrOffline)
	}
	d.pending[id] = c
	link := d.link
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.pending, id)
		d.mu.Unlock()
	}()

	wait := d.opts.Timeout + d.stated(action, args)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	d.requests.Add(1)
	sctx, cancel := context.WithTimeout(ctx, wait) // a send never outlasts the call
	err = link.Send(sctx, msg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%s.%s: send: %w", name, action, err)
	}
	select {
	case r := <-c.done:
		if r.err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, action, r.err)
		}
		return r.result, nil
	case <-timer.C:
		return nil, fmt.Errorf("%s.%s: %w within %v; the action may or may not have run", name, action, ErrTimeout, wait.Round(time.Millisecond))
	case <-ctx.Done():
		return nil, fmt.Errorf("%s.%s: %w", name, action, context.Cause(ctx))
	}
}

// stated is how long the arguments say the action takes: the sum of its
// arguments whose unit is ms or s.
func (d *Device) stated(action string, args map[string]any) time.Duration {
	d.mu.Lock()
	desc := d.desc
	d.mu.Unlock()
	if desc == nil {
		return 0
	}
	var total time.Duration
	for name, p := range desc.Actions[action].Params {
		v, ok := args[name]
		if !ok {
			v = p.Default
		}
		f, ok := number(v)
		if !ok || f <= 0 {
			continue
		}
		var d float64
		switch p.Unit {
		case "ms":
			d = f * float64(time.Millisecond)
		case "s":
			d = f * float64(time.Second)
		}
		// A stated duration beyond any real action (a huge or infinite
		// number from a caller that skipped the tools) must not overflow
		// the wait into a negative one.
		total += time.Duration(min(d, float64(maxStated)))
	}
	return min(total, maxStated)
}

// maxStated caps the duration the arguments of one call can state.
const maxStated = time.Hour

// number reads a numeric argument as the tools and the protocol do
// (argcheck.ReadNumber), as a float64: ±Inf for one beyond float64, which
// is beyond any bound.
func number(v any) (float64, bool) {
	n, ok := argcheck.ReadNumber(v)
	return n.Float64(), ok
}

// inbound is a reply or an event as read from the wire.
type inbound struct {
	ID     *int64          `json:"id"`
	OK     *bool           `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *DeviceError    `json:"error"`
	Event  *string         `json:"event"`
	TS     int64           `json:"ts"`
	Data   json.RawMessage `json:"data"`
}

// Receive implements Inbox: it matches a reply to its request or fans an
// event out to subscribers. Undecodable messages and replies nobody waits
// for are counted and dropped.
func (d *Device) Receive(msg []byte) {
	var in inbound
	if err := json.Unmarshal(msg, &in); err != nil {
		d.garbage.Add(1)
		d.log.Debug("undecodable message", "err", err, "msg", repr.Shorten(string(msg), shortMsg))
		return
	}
	if in.Event != nil {
		d.events.Add(1)
		var data any
		if len(in.Data) > 0 {
			_ = json.Unmarshal(in.Data, &data)
		}
		ev := Event{Event: *in.Event, TS: in.TS, Data: data}
		d.mu.Lock()
		subs := make([]func(Event), 0, len(d.subs))
		for _, f := range d.subs {
			subs = append(subs, f)
		}
		d.mu.Unlock()
		for _, f := range subs {
			f(ev)
		}
		return
	}
	if in.OK == nil {
		d.garbage.Add(1)
		d.log.Debug("message neither reply nor event", "msg", repr.Shorten(string(msg), shortMsg))
		return
	}
	if in.ID == nil {
		// The device could not read a request of ours: nothing to match.
		d.stale.Add(1)
		d.log.Warn("reply without id", "msg", repr.Shorten(string(msg), shortMsg))
		return
	}
	d.mu.Lock()
	c := d.pending[*in.ID]
	delete(d.pending, *in.ID)
	d.mu.Unlock()
	if c == nil {
		d.stale.Add(1) // a duplicate, or the reply to a request that timed out
		return
	}
	d.replies.Add(1)
	r := reply{ok: *in.OK, result: in.Result}
	if !*in.OK {
		d.devErrs.Add(1)
		if in.Error == nil {
			in.Error = &DeviceError{Code: protocol.CodeInternal, Message: "error reply without an error object"}
		}
		r.err = tool.NewError(replyKind(in.Error.Code), in.Error)
	} else if len(r.result) == 0 {
		r.result = json.RawMessage("null")
	}
	c.done <- r
}

// SetState implements Inbox. Going Offline fails every request in flight
// with ErrLost; coming back Online from Unreachable sends the requests in
// flight again with their ids, which the device answers once
// (docs/protocol.md, section 2).
func (d *Device) SetState(s State, err error) {
	d.mu.Lock()
	if d.closed && s != Offline {
		d.mu.Unlock() // a closed device stays offline
		return
	}
	prev := d.state
	d.state, d.stateE = s, err
	close(d.changed)
	d.changed = make(chan struct{})
	var resend [][]byte
	var fail []*call
	switch {
	case s == Offline:
		for id, c := range d.pending {
			fail = append(fail, c)
			delete(d.pending, id)
		}
	case s == Online && prev == Unreachable:
		for _, c := range d.pending {
			resend = append(resend, c.msg)
		}
	}
	link := d.link
	d.mu.Unlock()
	if prev != s {
		d.log.Info("state", "from", prev, "to", s, "err", err)
	}
	for _, c := range fail {
		why := err
		if why == nil {
			why = errors.New("went offline")
		}
		c.done <- reply{err: fmt.Errorf("%w: %w; the action may or may not have run", ErrLost, why)}
	}
	if link != nil && len(resend) > 0 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), d.opts.Timeout)
			defer cancel()
			for _, m := range resend {
				if err := link.Send(ctx, m); err != nil {
					d.log.Warn("resend after reconnect failed", "err", err)
				}
			}
		}()
	}
}

// Close fails requests in flight and closes the link.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	link := d.link
	d.mu.Unlock()
	d.SetState(Offline, ErrClosed)
	if link != nil {
		return link.Close()
	}
	return nil
}

// shortMsg is how much of a message a log record quotes.
const shortMsg = 120

// replyKind is the tool.Kind of a device's error reply, by its protocol
// code: the exception model code sees for it.
func replyKind(code string) tool.Kind {
	switch code {
	case protocol.CodeBadRequest, protocol.CodeInvalidArgs:
		return tool.ArgType
	case protocol.CodeOutOfRange:
		return tool.ArgValue
	case protocol.CodeUnknownAction:
		return tool.NotFound
	case protocol.CodeTimeout:
		return tool.Timeout
	case protocol.CodeStopped:
		return tool.Cancelled
	case protocol.CodeInternal, protocol.CodeLineTooLong:
		return tool.Internal
	}
	return tool.Failed
}
