package devices

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/argcheck"
	"github.com/gantry-dev/gantry/tool"
)

// Hub holds the gateway's devices and is the one way to call them: every
// call goes through its Guard and, when the hub has one, into its Audit log.
type Hub struct {
	guard    *Guard
	audit    *Audit
	ids      *IDs
	attempts *IDs
	log      *slog.Logger

	mu      sync.Mutex
	devices map[string]*Device
	refused map[string]error // devices the policy does not fit, and why
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
	return &Hub{guard: opts.Guard, audit: opts.Audit, ids: NewIDs(), attempts: NewIDs(), log: opts.Logger,
		devices: map[string]*Device{}, refused: map[string]error{}, changed: make(chan struct{})}
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
// A device the guard's policy does not fit (it names actions or parameters
// the device does not have: see Policy.CheckDevice) is not added: the
// error says why, and the hub logs it.
func (h *Hub) Add(d *Device) error {
	name := d.Name()
	if name == "" {
		return errors.New("add device: it has no name yet (describe it first)")
	}
	if err := h.guard.Admit(name, d.Description()); err != nil {
		h.log.Error("device refused", "device", name, "err", err)
		h.mu.Lock()
		h.refused[name] = err
		h.notifyLocked()
		h.mu.Unlock()
		return fmt.Errorf("add device: %w", err)
	}
	h.mu.Lock()
	delete(h.refused, name)
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
// It fails at once when the hub refused one of them (see Add).
func (h *Hub) Wait(ctx context.Context, names ...string) error {
	for {
		h.mu.Lock()
		ch := h.changed
		var missing []string
		var waitOn *Device
		for _, n := range names {
			d, ok := h.devices[n]
			if err := h.refused[n]; err != nil && !ok {
				h.mu.Unlock()
				return err
			}
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

// attempt is one call's way to the audit log: it writes the "sent" record
// and the one record that ends the attempt.
type attempt struct {
	h     *Hub
	start time.Time
	rec   AuditRecord
	ended bool
}

func (h *Hub) begin(ctx context.Context, device, action string, args map[string]any) *attempt {
	start := time.Now()
	if h.audit == nil {
		return &attempt{h: h, start: start} // nothing to record
	}
	caller := tool.CallerOf(ctx)
	return &attempt{h: h, start: start, rec: AuditRecord{Time: start.UTC(), Attempt: h.attempts.Next(), Session: caller.Session,
		Device: device, Action: action, Args: args, CodeSHA256: CodeHash(caller.Code)}}
}

// sent puts the intent on record before anything moves.
func (a *attempt) sent() error {
	if a.h.audit == nil {
		return nil
	}
	r := a.rec
	r.Outcome = OutcomeSent
	return a.h.audit.Write(r)
}

// end writes the attempt's one closing record; later calls do nothing.
func (a *attempt) end(outcome string, result json.RawMessage, err error) {
	if a.ended || a.h.audit == nil {
		a.ended = true
		return
	}
	a.ended = true
	r := a.rec
	r.Time, r.Outcome, r.Result = time.Now().UTC(), outcome, result
	r.DurationMS = float64(time.Since(a.start).Microseconds()) / 1000
	if err != nil {
		r.Error = err.Error()
	}
	if aerr := a.h.audit.Write(r); aerr != nil {
		a.h.log.Error("audit log write failed", "err", aerr)
	}
}

// refuseArgs puts on record a call to device's action that the tool layer
// refused before it reached the hub (bad arguments).
func (h *Hub) refuseArgs(ctx context.Context, device, action string, given map[string]any, err error) {
	h.begin(ctx, device, action, given).end(OutcomeInvalid, nil, err)
}

// refuseUnknown puts on record a call, through the tools, to a name that is
// not a tool of a device (a misspelt or forged action, or describe and
// reset, which are not tools).
func (h *Hub) refuseUnknown(ctx context.Context, device, action string, given map[string]any, err error) {
	h.begin(ctx, device, action, given).end(OutcomeUnknown, nil, err)
}

// outcomeOf names how a call that reached the device ended.
func outcomeOf(err error) string {
	if errors.Is(err, ErrTimeout) {
		return OutcomeTimeout
	}
	return OutcomeError
}

// call is CallRaw; a privileged call (a person's stop or reset) skips the
// guard's checks but not the audit log. Every call ends in exactly one
// audit record, whatever ends it.
func (h *Hub) call(ctx context.Context, device, action string, args map[string]any, privileged bool) (json.RawMessage, error) {
	at := h.begin(ctx, device, action, args)
	// A forged call can name anything at any length: messages show it short.
	dn, an := shortName(device), shortName(action)
	d, ok := h.Device(device)
	if !ok {
		hint := ""
		if near := nearest(device, h.nameList()); near != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		}
		err := fmt.Errorf("%s.%s: no device named %q (devices: %s)%s", dn, an, dn, h.names(), hint)
		at.end(OutcomeUnknown, nil, err)
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
			err := fmt.Errorf("%s.%s: %s has no action %q (actions: %s)", dn, an, dn, an, strings.Join(actions(), ", "))
			at.end(OutcomeUnknown, nil, err)
			return nil, err
		}
	}
	if err := h.guard.Admit(device, desc); err != nil && !privileged {
		err = refusal(ReasonPolicy, fmt.Errorf("%s.%s: %w: %w", dn, an, ErrRefused, err))
		at.end(OutcomeRefused, nil, err)
		return nil, err
	}
	xg := callerGuard(ctx)
	if privileged {
		xg = nil
	}
	if xg != nil {
		if err := xg.Admit(device, desc); err != nil {
			err = callerRefusal(refusal(ReasonPolicy, fmt.Errorf("%s.%s: %w: %w", dn, an, ErrRefused, err)))
			at.end(OutcomeRefused, nil, err)
			return nil, err
		}
	}
	if err := finite(args); err != nil {
		err = fmt.Errorf("%s.%s: %w", dn, an, err)
		at.end(OutcomeInvalid, nil, err)
		return nil, err
	}
	if !privileged {
		if err := h.guard.Check(device, action, ad, args, actions); err != nil {
			err = fmt.Errorf("%s.%s: %w", dn, an, err)
			at.end(OutcomeRefused, nil, err)
			return nil, err
		}
	}
	if xg != nil {
		if err := xg.Check(device, action, ad, args, actions); err != nil {
			err = callerRefusal(fmt.Errorf("%s.%s: %w", dn, an, err))
			at.end(OutcomeRefused, nil, err)
			return nil, err
		}
	}
	safe := ad != nil && ad.Safe || action == "describe" || action == "ping" || action == "get"
	if (h.guard.DryRun() || xg != nil && xg.DryRun()) && !safe && !privileged && action != "stop" {
		res, _ := json.Marshal(map[string]any{"dry_run": true, "device": device, "action": action, "args": args})
		at.end(OutcomeDryRun, res, nil)
		return res, nil
	}
	if !safe {
		// The intent goes on record before anything moves.
		if err := at.sent(); err != nil {
			err = refusal(ReasonAudit, fmt.Errorf("%s.%s: %w: cannot write the audit log: %v", dn, an, ErrRefused, err))
			at.end(OutcomeRefused, nil, err)
			return nil, err
		}
	}
	ctx, done := h.guard.track(ctx)
	defer done()
	raw, err := d.Call(ctx, action, args)
	if err != nil {
		at.end(outcomeOf(err), nil, err)
		return nil, err
	}
	at.end(OutcomeOK, raw, nil)
	return raw, nil
}

// finite refuses numbers JSON cannot carry (NaN, ±Inf) anywhere in args.
func finite(args map[string]any) error {
	var bad func(v any) (float64, bool)
	bad = func(v any) (float64, bool) {
		switch x := v.(type) {
		case float64:
			return x, math.IsNaN(x) || math.IsInf(x, 0)
		case float32:
			return bad(float64(x))
		case json.Number: // a literal beyond float64 (1e999) reads as ±Inf
			if n, ok := argcheck.ReadNumber(x); ok && n.Kind == argcheck.KindFloat {
				return bad(n.F)
			}
		case []any:
			for _, e := range x {
				if f, ok := bad(e); ok {
					return f, true
				}
			}
		case map[string]any:
			for _, e := range x {
				if f, ok := bad(e); ok {
					return f, true
				}
			}
		}
		return 0, false
	}
	for _, k := range sortedKeys(args) {
		if f, ok := bad(args[k]); ok {
			return fmt.Errorf("%s must be a finite number, got %s", k, tool.Repr(f))
		}
	}
	return nil
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
	names := h.nameList()
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (h *Hub) nameList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return sortedKeys(h.devices)
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
