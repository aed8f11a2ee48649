package devices

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"

	"golang.org/x/time/rate"

	"github.com/gantry-dev/gantry/internal/argcheck"
	"github.com/gantry-dev/gantry/internal/repr"
	"github.com/gantry-dev/gantry/tool"
)

// ErrEStop is the cause of a call cancelled by an emergency stop.
var ErrEStop = tool.NewError(tool.Cancelled, errors.New("emergency stop"))

// Guard stands between every call and every device: it applies a Policy
// (allow-list, bounds, rate limits), holds the emergency stop, and knows
// the calls in flight so an emergency stop can cancel them.
type Guard struct {
	policy Policy

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	stopped  bool
	reason   string
	inflight map[int]context.CancelCauseFunc
	next     int
	// admitted caches, per device, whether the policy fits the device's
	// description as last checked.
	admitted map[string]admission
}

type admission struct {
	desc *Description
	err  error
}

// NewGuard returns a guard applying p.
func NewGuard(p Policy) *Guard {
	return &Guard{policy: p, limiters: map[string]*rate.Limiter{}, inflight: map[int]context.CancelCauseFunc{},
		admitted: map[string]admission{}}
}

// Admit checks the policy against a device's description (see
// Policy.CheckDevice). A device the policy does not fit is not exposed:
// the hub refuses to add it and refuses every call to it, with this error,
// which wraps ErrPolicy. The verdict is kept until the description changes.
func (g *Guard) Admit(device string, desc *Description) error {
	if desc == nil {
		return nil // checked when the description is known
	}
	g.mu.Lock()
	a, ok := g.admitted[device]
	g.mu.Unlock()
	if ok && a.desc == desc {
		return a.err
	}
	err := g.policy.CheckDevice(device, desc)
	if err != nil {
		err = fmt.Errorf("%s is not exposed: the policy does not fit it: %w", device, err)
	}
	g.mu.Lock()
	g.admitted[device] = admission{desc: desc, err: err}
	g.mu.Unlock()
	return err
}

// Policy returns the guard's policy.
func (g *Guard) Policy() Policy { return g.policy }

// DryRun reports whether actions that are not safe are answered without
// being sent.
func (g *Guard) DryRun() bool { return g.policy.DryRun }

// Check decides whether device may be asked to run action with args. desc
// is the device's description of the action (nil for an unknown action);
// actions lists the device's actions, for refusals that say what is
// allowed. A refusal wraps ErrRefused.
func (g *Guard) Check(device, action string, desc *ActionDesc, args map[string]any, actions func() []string) error {
	refuse := func(reason, format string, a ...any) error {
		return refusal(reason, fmt.Errorf("%w by policy: %s", ErrRefused, fmt.Sprintf(format, a...)))
	}
	safe := desc != nil && desc.Safe || action == "describe" || action == "ping" || action == "get"
	g.mu.Lock()
	stopped, reason := g.stopped, g.reason
	g.mu.Unlock()
	if stopped && !safe && action != "stop" {
		return refusal(ReasonEStop, fmt.Errorf("%w: emergency stop engaged (%s); only sensors and queries run until a person resets it", ErrRefused, reason))
	}
	rules := g.policy.For(device)
	if !rules.allows(action) {
		return refuse(ReasonNotAllowed, "%s is not allowed on %s (allowed: %s)", action, device, rules.allowedOf(actions()))
	}
	for _, name := range sortedKeys(rules.Bounds[action]) {
		r := rules.Bounds[action][name]
		v, given := args[name]
		if !given && desc != nil {
			v = desc.Params[name].Default
		}
		f, ok := number(v)
		if !ok {
			if given && v != nil {
				// A bound must never be dodged by a value of another type.
				return refuse(ReasonBounds, "%s is bounded and must be a number, got %s", name, tool.TypeName(v))
			}
			continue
		}
		switch argcheck.Bounds(f, r.Min, r.Max) {
		case argcheck.BelowMin:
			return refuse(ReasonBounds, "%s must be >= %s, got %s", name, repr.Number(*r.Min), repr.Number(f))
		case argcheck.AboveMax:
			return refuse(ReasonBounds, "%s must be <= %s, got %s", name, repr.Number(*r.Max), repr.Number(f))
		}
	}
	if action == "stop" || safe || rules.Rate <= 0 {
		return nil
	}
	if !g.limiter(device, rules).Allow() {
		return refuse(ReasonRate, "%s allows %s actions per second (burst %d); slow down, e.g. one longer action instead of many short ones",
			device, repr.Number(rules.Rate), burst(rules))
	}
	return nil
}

func burst(r DevicePolicy) int {
	if r.Burst > 0 {
		return r.Burst
	}
	return int(math.Max(1, math.Ceil(r.Rate)))
}

func (g *Guard) limiter(device string, rules DevicePolicy) *rate.Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.limiters[device]
	if !ok {
		l = rate.NewLimiter(rate.Limit(rules.Rate), burst(rules))
		g.limiters[device] = l
	}
	return l
}

// track returns a context that an emergency stop cancels, and the
// function that forgets it.
func (g *Guard) track(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	g.mu.Lock()
	id := g.next
	g.next++
	g.inflight[id] = cancel
	g.mu.Unlock()
	return ctx, func() {
		g.mu.Lock()
		delete(g.inflight, id)
		g.mu.Unlock()
		cancel(nil)
	}
}

// Engage latches the emergency stop and cancels every call in flight. It
// returns how many calls it cancelled.
func (g *Guard) Engage(reason string) int {
	g.mu.Lock()
	g.stopped, g.reason = true, reason
	cancels := make([]context.CancelCauseFunc, 0, len(g.inflight))
	for _, c := range g.inflight {
		cancels = append(cancels, c)
	}
	g.mu.Unlock()
	for _, c := range cancels {
		c(fmt.Errorf("%w: %s", ErrEStop, reason))
	}
	return len(cancels)
}

// Release clears the emergency stop.
func (g *Guard) Release() {
	g.mu.Lock()
	g.stopped, g.reason = false, ""
	g.mu.Unlock()
}

// Stopped reports whether the emergency stop is engaged, and why.
func (g *Guard) Stopped() (bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stopped, g.reason
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
