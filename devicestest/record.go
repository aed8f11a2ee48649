package devicestest

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/protocol"
)

// Record sits between a device and its real link and writes their
// conversation down as a Playback script: attach the Record to the device
// (Device.Attach), and give the real link the Record as its Inbox:
//
//	rec := devicestest.NewRecord(dev)
//	rec.Link = devices.NewLineLink(port, rec)
//	dev.Attach(rec)
//
// A reply that comes after a later request was sent is recorded as held
// by its IO and released by the last request sent before it; an event is
// recorded with the last request sent before it (events before the first
// request are not recorded).
type Record struct {
	// Link is the real link; Send and Close go to it.
	Link devices.Link

	in  devices.Inbox
	mu  sync.Mutex
	ops []IO
	ids map[int64]int // request id -> index in ops
}

// NewRecord returns a Record that passes what the real link reads on to in.
func NewRecord(in devices.Inbox) *Record {
	return &Record{in: in, ids: map[int64]int{}}
}

// Send implements devices.Link: it records the request and sends it.
func (r *Record) Send(ctx context.Context, msg []byte) error {
	var req protocol.Request
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	if err := dec.Decode(&req); err == nil {
		r.mu.Lock()
		if _, resent := r.ids[req.ID]; !resent {
			r.ids[req.ID] = len(r.ops)
			r.ops = append(r.ops, IO{Action: req.Action, Args: req.Args})
		}
		r.mu.Unlock()
	}
	return r.Link.Send(ctx, msg)
}

// Close implements devices.Link: it closes the real link.
func (r *Record) Close() error { return r.Link.Close() }

// Receive implements devices.Inbox: it records a reply or an event and
// passes it on.
func (r *Record) Receive(msg []byte) {
	var in struct {
		ID     *int64          `json:"id"`
		OK     *bool           `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  *protocol.Error `json:"error"`
		Event  *string         `json:"event"`
		TS     int64           `json:"ts"`
		Data   json.RawMessage `json:"data"`
	}
	if json.Unmarshal(msg, &in) == nil {
		r.mu.Lock()
		last := len(r.ops) - 1
		switch {
		case in.Event != nil && last >= 0:
			var data any
			if len(in.Data) > 0 {
				data = json.RawMessage(in.Data)
			}
			r.ops[last].Events = append(r.ops[last].Events, protocol.Event{Event: *in.Event, TS: in.TS, Data: data})
		case in.OK != nil && in.ID != nil:
			if i, ok := r.ids[*in.ID]; ok && !r.answered(i) {
				if *in.OK {
					r.ops[i].Result = in.Result
					if len(in.Result) == 0 {
						r.ops[i].Result = json.RawMessage("null")
					}
				} else {
					r.ops[i].Error = in.Error
					if in.Error == nil {
						r.ops[i].Error = &protocol.Error{Code: protocol.CodeInternal}
					}
				}
				if i < last {
					r.ops[i].Hold = true
					r.ops[last].Release = append(r.ops[last].Release, i)
				}
			}
		}
		r.mu.Unlock()
	}
	r.in.Receive(msg)
}

func (r *Record) answered(i int) bool { return r.ops[i].Result != nil || r.ops[i].Error != nil }

// SetState implements devices.Inbox: it passes the state on.
func (r *Record) SetState(s devices.State, err error) { r.in.SetState(s, err) }

// Ops returns the script recorded so far; requests not answered yet have
// neither Result nor Error.
func (r *Record) Ops() []IO {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]IO, len(r.ops))
	copy(out, r.ops)
	return out
}
