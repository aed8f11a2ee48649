// Package devicestest plays devices for tests of the gateway: a Playback
// is a devices.Link that answers from a script, so that tests of the hub,
// the guard, the audit log and the tools need no firmware, no pty and no
// broker; a Record sits between a device and its real link and writes the
// conversation down as such a script. It follows periph.io's i2ctest:
// record once against the real thing, play back in every test.
//
// A script is a list of IO, one per request the gateway sends, in order.
// Playback checks each request against the next IO (action and arguments;
// request ids are the gateway's and are not part of the script) and
// answers it as the IO says. A request the script does not expect fails
// the call and is reported by Playback.Close, as are IO never used: a test
// proves both what reached the device and what did not.
package devicestest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/protocol"
)

// IO is one request the device receives and its answer.
type IO struct {
	// Action and Args are the request. Args are compared as JSON values:
	// int64(10), 10.0 and json.Number("10") are the same argument. Nil
	// and empty Args are the same.
	Action string         `json:"action"`
	Args   map[string]any `json:"args,omitempty"`
	// Events are sent when the request arrives, before any reply.
	Events []protocol.Event `json:"events,omitempty"`
	// Result is the reply's result, unless Error is set: then the reply
	// is an error reply.
	Result any             `json:"result,omitempty"`
	Error  *protocol.Error `json:"error,omitempty"`
	// Hold keeps the reply back until a later IO releases it (an action
	// that takes time, answered when a stop arrives).
	Hold bool `json:"hold,omitempty"`
	// Release lists the earlier held IO (by index in the script) whose
	// replies go out when this request arrives, before this one's own.
	Release []int `json:"release,omitempty"`
}

// Playback is a devices.Link that plays a device from Ops. Attach it to
// a device with Open; read its verdict with Close. It is safe for
// concurrent use.
type Playback struct {
	// Ops is the script, one IO per expected request.
	Ops []IO

	mu      sync.Mutex
	in      devices.Inbox
	next    int
	ids     map[int]int64 // script index -> id of the request it matched
	errs    []error
	closed  bool
	changed chan struct{} // closed and replaced when a request matched
}

// ErrUnexpected is the error of a request the script did not expect.
var ErrUnexpected = errors.New("devicestest: unexpected request")

// Open reports the device online to in (the devices.Device the playback
// is attached to) and starts answering requests. It returns p, for
// Device.Attach.
func (p *Playback) Open(in devices.Inbox) *Playback {
	p.mu.Lock()
	p.in = in
	if p.ids == nil {
		p.ids = map[int]int64{}
	}
	p.mu.Unlock()
	in.SetState(devices.Online, nil)
	return p
}

// Send implements devices.Link: it checks msg against the next IO and
// delivers the IO's events and replies to the device before it returns.
func (p *Playback) Send(_ context.Context, msg []byte) error {
	var req protocol.Request
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return p.fail(fmt.Errorf("devicestest: undecodable request %s: %w", msg, err))
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return devices.ErrClosed
	}
	if p.next >= len(p.Ops) {
		p.mu.Unlock()
		return p.fail(fmt.Errorf("%w %d: %s %s (the script has %d)", ErrUnexpected, p.next+1, req.Action, args(req.Args), len(p.Ops)))
	}
	i := p.next
	op := p.Ops[i]
	if req.Action != op.Action || !sameArgs(req.Args, op.Args) {
		p.mu.Unlock()
		return p.fail(fmt.Errorf("%w %d: %s %s, want %s %s", ErrUnexpected, i+1, req.Action, args(req.Args), op.Action, args(op.Args)))
	}
	p.next++
	p.ids[i] = req.ID
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	var out [][]byte
	for _, ev := range op.Events {
		b, err := json.Marshal(ev)
		if err != nil {
			p.mu.Unlock()
			return p.fail(fmt.Errorf("devicestest: IO %d: event: %w", i+1, err))
		}
		out = append(out, b)
	}
	for _, r := range op.Release {
		id, ok := p.ids[r]
		if r >= i || !ok || !p.Ops[r].Hold {
			p.mu.Unlock()
			return p.fail(fmt.Errorf("devicestest: IO %d releases IO %d, which is not an earlier held request", i+1, r+1))
		}
		out = append(out, reply(id, p.Ops[r]))
	}
	if !op.Hold {
		out = append(out, reply(req.ID, op))
	}
	in := p.in
	p.mu.Unlock()
	for _, b := range out {
		in.Receive(b)
	}
	return nil
}

func (p *Playback) fail(err error) error {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
	return err
}

// Close implements devices.Link. It returns every request the script did
// not expect, and the IO never reached; the device's Close discards it, so
// tests call it themselves (a second call returns the same verdict).
func (p *Playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	errs := append([]error(nil), p.errs...)
	if p.next < len(p.Ops) {
		var left []string
		for _, op := range p.Ops[p.next:] {
			left = append(left, op.Action+" "+args(op.Args))
		}
		errs = append(errs, fmt.Errorf("devicestest: %d of %d requests never came: %s", len(p.Ops)-p.next, len(p.Ops), strings.Join(left, "; ")))
	}
	return errors.Join(errs...)
}

// Wait waits until n requests of the script have arrived (a test's way
// to know that a call in another goroutine reached the device).
func (p *Playback) Wait(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		if p.next >= n {
			p.mu.Unlock()
			return nil
		}
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("devicestest: waiting for request %d of the script: %w", n, ctx.Err())
		}
	}
}

// Count returns how many IO of the script were used so far.
func (p *Playback) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}

// reply renders op's reply to the request with id.
func reply(id int64, op IO) []byte {
	r := protocol.Reply{ID: &id, OK: op.Error == nil, Result: op.Result, Error: op.Error}
	b, err := json.Marshal(r)
	if err != nil {
		return protocol.ErrorReply(&id, protocol.CodeInternal, "devicestest: encode result: "+err.Error())
	}
	return b
}

// sameArgs compares arguments as JSON values.
func sameArgs(got, want map[string]any) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(normal(got), normal(want))
}

func normal(m map[string]any) any {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprintf("unencodable %v", m)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// args prints arguments for a message, keys in order.
func args(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v, _ := json.Marshal(m[k])
		fmt.Fprintf(&b, "%s: %s", k, v)
	}
	b.WriteString("}")
	return b.String()
}

// NewDevice returns a device of hub named after desc, described by it and
// played by p, online; add it to the hub with Hub.Add. Close the device
// (or remove it from the hub), then read p.Close.
func NewDevice(hub *devices.Hub, desc *protocol.Description, p *Playback) (*devices.Device, error) {
	d := hub.NewDevice(desc.Name, devices.Options{})
	if err := d.SetDescription(desc); err != nil {
		return nil, fmt.Errorf("devicestest: %w", err)
	}
	d.Attach(p.Open(d))
	return d, nil
}
