package devices

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// Hub holds the gateway's devices and is the one way to call them: every
// call goes through its Guard and, when the hub has one, into its Audit log.
type Hub struct {
	guard *Guard
	audit *Audit
	ids   *IDs
	log   *slog.Logger

	mu      sync.Mutex
	devices map[string]*Device
	changed chan struct{}
}

// HubOptions configure a Hub.
type HubOptions struct {
	Guard  *Guard // default: NewGuard(OpenPolicy())
	Audit  *Audit // default: none
	Logger *slog.Logger
}

// NewHub returns an empty hub.
func NewHub(opts HubOptions) *Hub {
	if opts.Guard == nil {
		opts.Guard = NewGuard(OpenPolicy())
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{guard: opts.Guard, audit: opts.Audit, ids: NewIDs(), log: opts.Logger,
		devices: map[string]*Device{}, changed: make(chan struct{})}
}

// Guard returns the hub's guard.
func (h *Hub) Guard() *Guard { return h.guard }

// IDs returns the request id allocator the hub's devices share.
func (h *Hub) IDs() *IDs { return h.ids }

// NewDevice returns a device that shares the hub's ids; add it with Add.
func (h *Hub) NewDevice(name string, opts Options) *Device {
	opts.IDs = h.ids
	if opts.Logger == nil {
		opts.Logger = h.log
	}
	return NewDevice(name, opts)
}

// Add puts d in the hub, replacing (and closing) a device of the same name.
func (h *Hub) Add(d *Device) error {
	name := d.Name()
	if name == "" {
		return errors.New("add device: it has no name yet (describe it first)")
	}
	h.mu.Lock()
	old := h.devices[name]
	h.devices[name] = d
	h.notifyLocked()
	h.mu.Unlock()
	if old != nil && old != d {
		old.Close()
	}
	return nil
}

// Remove takes the device named name out of the hub and closes it.
func (h *Hub) Remove(name string) {
	h.mu.Lock()
	d := h.devices[name]
	delete(h.devices, name)
	h.notifyLocked()
	h.mu.Unlock()
	if d != nil {
		d.Close()
	}
}

func (h *Hub) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Device returns the device named name.
func (h *Hub) Device(name string) (*Device, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, ok := h.devices[name]
	return d, ok
}

// Devices returns the devices sorted by name.
func (h *Hub) Devices() []*Device {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Device, 0, len(h.devices))
	for _, n := range sortedKeys(h.devices) {
		out = append(out, h.devices[n])
	}
	return out
}

// Wait waits until every device named is in the hub, described and online.
func (h *Hub) Wait(ctx context.Context, names ...string) error {
	for {
		h.mu.Lock()
		ch := h.changed
		var missing []string
		var waitOn *Device
		for _, n := range names {
			d, ok := h.devices[n]
			switch {
			case !ok:
				missing = append(missing, n)
			case d.Description() == nil:
				missing = append(missing, n)
			default:
				if st, _ := d.State(); st != Online && waitOn == nil {
					waitOn = d
				}
			}
		}
		h.mu.Unlock()
		if len(missing) == 0 && waitOn == nil {
			return nil
		}
		if len(missing) == 0 {
			if err := waitOn.WaitOnline(ctx); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for devices %s: %w", strings.Join(missing, ", "), ctx.Err())
		}
	}
}

// Changed returns a channel closed at the next change of the hub's devices.
func (h *Hub) Changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// Call asks device to run action with args, through the guard, and
// returns the result decoded (integers as int64, other numbers as float64).
// The caller recorded in ctx (tool.WithSession, tool.WithCode) goes into
// the audit log.
func (h *Hub) Call(ctx context.Context, device, action string, args map[string]any) (any, error) {
	raw, err := h.CallRaw(ctx, device, action, args)
	if err != nil {
		return nil, err
	}
	return decode(raw)
}

// CallRaw is Call returning the result's JSON.
func (h *Hub) CallRaw(ctx context.Context, device, action string, args map[string]any) (json.RawMessage, error) {
	return h.call(ctx, device, action, args, false)
}

// call is CallRaw; a privileged call (a person's stop or reset) skips the
// guard's checks but not the audit log.
func (h *Hub) call(ctx context.Context, device, action string, args map[string]any, privileged bool) (json.RawMessage, error) {
	start := time.Now()
	var rec AuditRecord
	if h.audit != nil {
		caller := tool.CallerOf(ctx)
		rec = AuditRecord{Time: start.UTC(), Session: caller.Session, Device: device, Action: action, Args: args,
			CodeSHA256: CodeHash(caller.Code)}
	}
	finish := func(outcome string, result json.RawMessage, err error) {
		if h.audit == nil {
			return
		}
		r := rec
		r.Time, r.Outcome, r.Result = time.Now().UTC(), outcome, result
		r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			r.Error = err.Error()
		}
		if aerr := h.audit.Write(r); aerr != nil {
			h.log.Error("audit log write failed", "err", aerr)
		}
	}
	d, ok := h.Device(device)
	if !ok {
		err := fmt.Errorf("%s.%s: no device named %q (devices: %s)", device, action, device, h.names())
		finish(OutcomeRefused, nil, err)
		return nil, err
	}
	var ad *ActionDesc
	desc := d.Description()
	actions := func() []string {
		if desc == nil {
			return nil
		}
		return sortedKeys(desc.Actions)
	}
	if desc != nil {
		if a, ok := desc.Actions[action]; ok {
			ad = &a
		} else {
			err := fmt.Errorf("%s.%s: %s has no action %q (actions: %s)", device, action, device, action, strings.Join(actions(), ", "))
			finish(OutcomeRefused, nil, err)
			return nil, err
		}
	}
	if !privileged {
		if err := h.guard.Check(device, action, ad, args, actions); err != nil {
			err = fmt.Errorf("%s.%s: %w", device, action, err)
			finish(OutcomeRefused, nil, err)
			return nil, err
		}
	}
	safe := ad != nil && ad.Safe || action == "describe" || action == "ping" || action == "get"
	if h.guard.DryRun() && !safe && !privileged && action != "stop" {
		res, _ := json.Marshal(map[string]any{"dry_run": true, "device": device, "action": action, "args": args})
		finish(OutcomeDryRun, res, nil)
		return res, nil
	}
	if h.audit != nil && !safe {
		// The intent goes on record before anything moves.
		r := rec
		r.Outcome = OutcomeSent
		if err := h.audit.Write(r); err != nil {
			return nil, fmt.Errorf("%s.%s: %w: cannot write the audit log: %v", device, action, ErrRefused, err)
		}
	}
	ctx, done := h.guard.track(ctx)
	defer done()
	raw, err := d.Call(ctx, action, args)
	if err != nil {
		finish(OutcomeError, nil, err)
		return nil, err
	}
	finish(OutcomeOK, raw, nil)
	return raw, nil
}

func decode(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	return tool.FromJSON(v), nil
}

func (h *Hub) names() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.devices) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(h.devices), ", ")
}

// StopResult is what one device answered to an emergency stop.
type StopResult struct {
	Device string
	Result any
	Err    error
}

// EStop engages the emergency stop: the guard cancels every call in flight
// and refuses actions that are not safe, and every device is sent stop at
// once. It returns each device's answer.
func (h *Hub) EStop(ctx context.Context, reason string) []StopResult {
	h.guard.Engage(reason)
	return h.broadcast(ctx, "stop")
}

// Reset releases the emergency stop in the guard and sends reset to every
// device.
func (h *Hub) Reset(ctx context.Context) []StopResult {
	h.guard.Release()
	return h.broadcast(ctx, "reset")
}

func (h *Hub) broadcast(ctx context.Context, action string) []StopResult {
	devs := h.Devices()
	out := make([]StopResult, len(devs))
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var v any
			raw, err := h.call(ctx, d.Name(), action, nil, true)
			if err == nil {
				v, err = decode(raw)
			}
			out[i] = StopResult{Device: d.Name(), Result: v, Err: err}
		}()
	}
	wg.Wait()
	return out
}

// Close closes every device.
func (h *Hub) Close() error {
	for _, d := range h.Devices() {
		h.Remove(d.Name())
	}
	return nil
}
