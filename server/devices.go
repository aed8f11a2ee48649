package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/tool"
)

// deviceState is what the server keeps about the devices of Config.Devices:
// their metrics, and whether device calls are in flight (so that a
// shutdown stops the devices when it interrupted any).
type deviceState struct {
	hub *devices.Hub

	refusals *prometheus.CounterVec
	calls    *prometheus.CounterVec
	rtt      *prometheus.HistogramVec

	busy        atomic.Int64 // device calls in flight
	interrupted atomic.Bool  // a device call was cut short by StopActions or Close
}

// newDeviceState registers the device metrics on reg; hub may be nil (a
// server without devices).
func newDeviceState(hub *devices.Hub, reg prometheus.Registerer) *deviceState {
	d := &deviceState{
		hub: hub,
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_guard_refusals_total",
			Help: "Device calls the guard refused, by reason (estop, not_allowed, bounds, rate, policy, audit) and guard (server: --policy; token: the token's device_policy)."},
			[]string{"reason", "guard"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_device_calls_total",
			Help: "Device calls made by code, by device and outcome (ok, device_error, refused, invalid, offline, lost, timeout, cancelled, error)."},
			[]string{"device", "outcome"}),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gantry_device_round_trip_seconds",
			Help:    "Time from a device call to the device's answer (ok or an error reply), by device.",
			Buckets: []float64{1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30}},
			[]string{"device"}),
	}
	reg.MustRegister(d.refusals, d.calls, d.rtt)
	if hub != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gantry_devices_online", Help: "Devices in the hub that are online."}, func() float64 {
			n := 0
			for _, dv := range hub.Devices() {
				if st, _ := dv.State(); st == devices.Online {
					n++
				}
			}
			return float64(n)
		}))
	}
	return d
}

// observe counts one device call that ended with err after start.
func (d *deviceState) observe(device string, start time.Time, err error) {
	var (
		refusal *devices.RefusalError
		devErr  *protocol.Error
	)
	outcome := "error"
	switch {
	case err == nil:
		outcome = "ok"
		d.rtt.WithLabelValues(device).Observe(time.Since(start).Seconds())
	case errors.As(err, &refusal):
		outcome = "refused"
		guard := "server"
		if refusal.Caller {
			guard = "token"
		}
		d.refusals.WithLabelValues(refusal.Reason, guard).Inc()
	case errors.As(err, &devErr):
		outcome = "device_error"
		d.rtt.WithLabelValues(device).Observe(time.Since(start).Seconds())
	case errors.Is(err, devices.ErrLost):
		outcome = "lost"
	case errors.Is(err, devices.ErrOffline), errors.Is(err, devices.ErrClosed):
		outcome = "offline"
	case errors.Is(err, devices.ErrTimeout):
		outcome = "timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, devices.ErrEStop):
		outcome = "cancelled"
	}
	d.calls.WithLabelValues(device, outcome).Inc()
}

// parseDevices checks the token's device patterns and builds the guard of
// its device policy.
func (t *Token) parseDevices() error {
	for _, p := range t.Devices {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("devices: %q is not a device name or glob", p)
		}
	}
	if t.DevicePolicy.Kind == 0 {
		return nil
	}
	b, err := yaml.Marshal(&t.DevicePolicy)
	if err != nil {
		return fmt.Errorf("device_policy: %v", err)
	}
	p, err := devices.ParsePolicy(b)
	if err != nil {
		return fmt.Errorf("device_policy: %v", err)
	}
	if p.Audit != "" {
		return errors.New("device_policy: audit is the server's to set (its --policy or --audit), not a token's")
	}
	t.guard = devices.NewGuard(p)
	return nil
}

// mayUseDevice reports whether the token's sessions may use the device.
func (t *Token) mayUseDevice(name string) bool {
	for _, p := range t.Devices {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// mayUse reports whether a request with token tok (nil: no tokens) may use
// the device.
func mayUse(tok *Token, name string) bool { return tok == nil || tok.mayUseDevice(name) }

// hasDevices reports whether a request with token tok may use any device
// at all (and so may stop them all).
func hasDevices(tok *Token) bool { return tok == nil || len(tok.Devices) > 0 }

// errNoDevices answers device requests on a server without devices.
func errNoDevices() error {
	return errorf(http.StatusNotFound, "no_devices", "this server has no devices (start gantry serve with --broker URL or --port PATH)")
}

// visibleDevices lists the hub's devices the token may use.
func (s *Server) visibleDevices(tok *Token) []*devices.Device {
	if s.dev.hub == nil {
		return nil
	}
	var out []*devices.Device
	for _, d := range s.dev.hub.Devices() {
		if mayUse(tok, d.Name()) {
			out = append(out, d)
		}
	}
	return out
}

func deviceNames(ds []*devices.Device) string {
	if len(ds) == 0 {
		return "none"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name()
	}
	return strings.Join(names, ", ")
}

// findDevice returns the device a request names: 404 when the hub has no
// such device, 403 when the token may not use it.
func (s *Server) findDevice(tok *Token, name string) (*devices.Device, error) {
	if s.dev.hub == nil {
		return nil, errNoDevices()
	}
	d, ok := s.dev.hub.Device(name)
	if !ok || d.Description() == nil {
		return nil, errorf(http.StatusNotFound, "unknown_device", "no device %q (devices: %s)", shortName(name), deviceNames(s.visibleDevices(tok)))
	}
	if !mayUse(tok, name) {
		return nil, errorf(http.StatusForbidden, "forbidden", "token %q may not use device %q (allowed: %s)", tok.Name, name, strings.Join(tok.Devices, ", "))
	}
	return d, nil
}

// shortName cuts a name a client sent to a length messages can carry.
func shortName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// sessionDevices resolves the devices a new session asks for: names, or
// "*" for every device the client may use. An unknown device is a 400, a
// device the token may not use a 403.
func (s *Server) sessionDevices(tok *Token, want []string, runtime string) ([]string, error) {
	if len(want) == 0 {
		return nil, nil
	}
	if s.dev.hub == nil {
		return nil, errorf(http.StatusBadRequest, "no_devices", "this server has no devices (start gantry serve with --broker URL or --port PATH)")
	}
	if !hasDevices(tok) {
		return nil, errorf(http.StatusForbidden, "forbidden", "token %q may use no device (its devices list is empty)", tok.Name)
	}
	if runtime == "none" {
		return nil, errorf(http.StatusBadRequest, "bad_runtime", "a session with devices needs a code runtime (starlark or python), not \"none\"")
	}
	var out []string
	for _, w := range want {
		if w == "*" {
			for _, d := range s.visibleDevices(tok) {
				if d.Description() != nil && !slices.Contains(out, d.Name()) {
					out = append(out, d.Name())
				}
			}
			continue
		}
		d, err := s.findDevice(tok, w)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				ae.Status = http.StatusBadRequest
			}
			return nil, err
		}
		if !slices.Contains(out, d.Name()) {
			out = append(out, d.Name())
		}
	}
	if len(out) == 0 {
		return nil, errorf(http.StatusBadRequest, "unknown_device", "no device matches %q (devices: %s)", strings.Join(want, ", "), deviceNames(s.visibleDevices(tok)))
	}
	sort.Strings(out)
	return out, nil
}

// addDeviceTools registers in reg the tools of the session's devices
// ("rover.drive", ...), each through the hub's guard and then the token's,
// plus devices.stop (the emergency stop of every device) and devices.list.
func (s *Server) addDeviceTools(reg *tool.Registry, tok *Token, names []string) error {
	if len(names) == 0 {
		return nil
	}
	hub := s.dev.hub
	var g *devices.Guard
	if tok != nil {
		g = tok.guard
	}
	for _, name := range names {
		d, ok := hub.Device(name)
		if !ok {
			return errorf(http.StatusBadRequest, "unknown_device", "device %q left before the session started", name)
		}
		ts, err := devices.Tools(hub, d)
		if err != nil {
			return fmt.Errorf("device tools: %w", err)
		}
		for _, t := range ts {
			fn, refused := t.Fn, t.Refused
			ok := s.metrics.toolCalls.WithLabelValues(t.Name, "ok")
			bad := s.metrics.toolCalls.WithLabelValues(t.Name, "error")
			t.Fn = func(ctx context.Context, args tool.Args) (any, error) {
				if g != nil {
					ctx = devices.WithGuard(ctx, g)
				}
				s.dev.busy.Add(1)
				start := time.Now()
				v, err := fn(ctx, args)
				s.dev.observe(name, start, err)
				if err != nil && s.stopActions.Err() != nil {
					s.dev.interrupted.Store(true)
				}
				s.dev.busy.Add(-1)
				if err != nil {
					bad.Inc()
				} else {
					ok.Inc()
				}
				return v, err
			}
			t.Refused = func(ctx context.Context, given map[string]any, err error) {
				s.dev.calls.WithLabelValues(name, "invalid").Inc()
				if refused != nil {
					refused(ctx, given, err)
				}
			}
			if err := reg.Register(t); err != nil {
				return fmt.Errorf("register %s: %w", t.Name, err)
			}
		}
		reg.OnUnknown(name, devices.UnknownHook(hub, name))
	}
	for _, t := range []tool.Tool{
		{Name: "devices.stop", Doc: "Emergency stop: halt every device now and refuse motion until a person resets it. Use when something is wrong.",
			Params:  []tool.Param{{Name: "reason", Type: tool.String, Default: "requested by the agent", Doc: "why"}},
			Returns: tool.Dict, ReturnDoc: "each device's answer",
			Fn: func(ctx context.Context, a tool.Args) (any, error) {
				out := map[string]any{}
				for name, r := range s.stopDevices(ctx, a.String("reason")) {
					if r.Error != "" {
						out[name] = "error: " + r.Error
					} else {
						out[name] = tool.FromJSON(r.Result)
					}
				}
				return out, nil
			}},
		{Name: "devices.list", Doc: "This session's devices and whether each is online",
			Returns: tool.Dict, ReturnDoc: "device name -> state",
			Fn: func(context.Context, tool.Args) (any, error) {
				out := map[string]any{}
				for _, n := range names {
					st := devices.Offline
					if d, ok := hub.Device(n); ok {
						st, _ = d.State()
					}
					out[n] = st.String()
				}
				return out, nil
			}},
	} {
		if err := reg.Register(t); err != nil {
			return fmt.Errorf("register %s: %w", t.Name, err)
		}
	}
	return nil
}

// DeviceAnswer is one device's answer to a stop or a reset.
type DeviceAnswer struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// stopDevices engages the hub's emergency stop: the guard latches and
// cancels every device call in flight, and every device is sent stop.
func (s *Server) stopDevices(ctx context.Context, reason string) map[string]DeviceAnswer {
	out := map[string]DeviceAnswer{}
	if s.dev.hub == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, r := range s.dev.hub.EStop(tool.WithSession(ctx, "server:estop"), reason) {
		out[r.Device] = answerOf(r)
	}
	return out
}

func answerOf(r devices.StopResult) DeviceAnswer {
	if r.Err != nil {
		return DeviceAnswer{Error: r.Err.Error()}
	}
	b, err := json.Marshal(r.Result)
	if err != nil {
		return DeviceAnswer{Error: err.Error()}
	}
	return DeviceAnswer{Result: b}
}

// closeDevices stops the devices when the server is going away while a
// device call runs, or after one was cut short: whatever it started may
// still be moving.
func (s *Server) closeDevices() {
	if s.dev.hub == nil {
		return
	}
	if s.dev.busy.Load() > 0 || s.dev.interrupted.Load() {
		s.log.Warn("stopping the devices: device calls were interrupted by the shutdown")
		s.stopDevices(context.Background(), "gantry serve shut down during a device action")
	}
}

// DeviceSummary is one device in GET /v1/devices.
type DeviceSummary struct {
	Name        string   `json:"name"`
	State       string   `json:"state"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Actions     []string `json:"actions"`
}

// EStopState says whether the emergency stop holds.
type EStopState struct {
	Engaged bool   `json:"engaged"`
	Reason  string `json:"reason,omitempty"`
}

func summary(d *devices.Device) DeviceSummary {
	st, _ := d.State()
	out := DeviceSummary{Name: d.Name(), State: st.String(), Actions: []string{}}
	if desc := d.Description(); desc != nil {
		out.Title, out.Description = desc.Title, desc.Description
		for a := range desc.Actions {
			if a != "describe" && a != "reset" {
				out.Actions = append(out.Actions, a)
			}
		}
		sort.Strings(out.Actions)
	}
	return out
}

func (s *Server) estopState() EStopState {
	if s.dev.hub == nil {
		return EStopState{}
	}
	on, why := s.dev.hub.Guard().Stopped()
	return EStopState{Engaged: on, Reason: why}
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) error {
	out := []DeviceSummary{}
	for _, d := range s.visibleDevices(tokenOf(r.Context())) {
		if d.Description() != nil {
			out = append(out, summary(d))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out, "estop": s.estopState()})
	return nil
}

// DeviceInfo is the answer of GET /v1/devices/{name}: the device's own
// description (actions, parameters, units, the device's limits), its
// actions as the tools a session's code calls, and the policies that
// narrow them.
type DeviceInfo struct {
	DeviceSummary
	Protocol    *devices.Description `json:"protocol_description"`
	Tools       []ToolInfo           `json:"tools"`
	Policy      PolicyInfo           `json:"policy"`
	TokenPolicy *PolicyInfo          `json:"token_policy,omitempty"`
	EStop       EStopState           `json:"estop"`
}

// PolicyInfo is the guard's rules for one device.
type PolicyInfo struct {
	Allow  []string                        `json:"allow"`
	Deny   []string                        `json:"deny,omitempty"`
	Bounds map[string]map[string]RangeInfo `json:"bounds,omitempty"`
	Rate   float64                         `json:"rate"`
	Burst  int                             `json:"burst,omitempty"`
	DryRun bool                            `json:"dry_run"`
}

// RangeInfo is a policy bound; an absent end is open.
type RangeInfo struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

func policyInfo(p devices.Policy, device string) PolicyInfo {
	r := p.For(device)
	out := PolicyInfo{Allow: r.Allow, Deny: r.Deny, Rate: r.Rate, Burst: r.Burst, DryRun: p.DryRun}
	if out.Allow == nil {
		out.Allow = []string{}
	}
	for action, ps := range r.Bounds {
		if out.Bounds == nil {
			out.Bounds = map[string]map[string]RangeInfo{}
		}
		out.Bounds[action] = map[string]RangeInfo{}
		for name, b := range ps {
			out.Bounds[action][name] = RangeInfo{Min: b.Min, Max: b.Max}
		}
	}
	return out
}

func (s *Server) handleDevice(w http.ResponseWriter, r *http.Request) error {
	info, err := s.deviceInfo(tokenOf(r.Context()), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// deviceInfo describes the device name to a client with token tok.
func (s *Server) deviceInfo(tok *Token, name string) (DeviceInfo, error) {
	d, err := s.findDevice(tok, name)
	if err != nil {
		return DeviceInfo{}, err
	}
	ts, err := devices.Tools(s.dev.hub, d)
	if err != nil {
		return DeviceInfo{}, err
	}
	reg := tool.NewRegistry()
	for _, t := range ts {
		if err := reg.Register(t); err != nil {
			return DeviceInfo{}, err
		}
	}
	info := DeviceInfo{DeviceSummary: summary(d), Protocol: d.Description(), Tools: toolsOf(reg).Tools,
		Policy: policyInfo(s.dev.hub.Guard().Policy(), d.Name()), EStop: s.estopState()}
	if tok != nil && tok.guard != nil {
		p := policyInfo(tok.guard.Policy(), d.Name())
		info.TokenPolicy = &p
	}
	return info, nil
}

// estopRequest is the optional body of POST /v1/estop.
type estopRequest struct {
	Reason string `json:"reason,omitempty"`
}

// EstopResult is the answer of POST /v1/estop.
type EstopResult struct {
	// Stopped is the number of running actions interrupted.
	Stopped int `json:"stopped"`
	// Devices are the devices' answers to stop (absent when the client may
	// use no device).
	Devices map[string]DeviceAnswer `json:"devices,omitempty"`
	EStop   EStopState              `json:"estop"`
}

// handleEstop interrupts the client's running actions and, when the client
// may use devices, engages every device's emergency stop.
func (s *Server) handleEstop(w http.ResponseWriter, r *http.Request) error {
	var req estopRequest
	if r.ContentLength != 0 {
		if err := s.decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	res := s.estopAll(r.Context(), tokenOf(r.Context()), req.Reason)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// estopAll is the e-stop of the API and of MCP.
func (s *Server) estopAll(ctx context.Context, tok *Token, reason string) EstopResult {
	owner := ""
	if tok != nil {
		owner = tok.Name
	}
	if reason == "" {
		reason = "e-stop requested"
		if owner != "" {
			reason += " by " + owner
		}
	}
	res := EstopResult{}
	if s.dev.hub != nil && hasDevices(tok) {
		// The devices first, so that the device calls in flight fail with
		// the e-stop's reason; the actions running now are counted before
		// that ends them.
		res.Stopped = s.running(owner)
		res.Devices = s.stopDevices(ctx, reason)
		s.estop(owner)
	} else {
		res.Stopped = s.estop(owner)
	}
	res.EStop = s.estopState()
	s.log.WarnContext(ctx, "e-stop", "request_id", requestID(ctx), "owner", owner, "stopped", res.Stopped,
		"devices", len(res.Devices), "reason", reason)
	return res
}

// running counts the owner's sessions running an action.
func (s *Server) running(owner string) int {
	n := 0
	for _, ss := range s.ownedSessions(owner) {
		ss.mu.Lock()
		if ss.cancel != nil {
			n++
		}
		ss.mu.Unlock()
	}
	return n
}

// DeviceStopResult is the answer of POST /v1/devices/{name}/estop.
type DeviceStopResult struct {
	Device string          `json:"device"`
	Result json.RawMessage `json:"result"`
}

// handleDeviceEstop sends stop to one device (it latches until reset); the
// guard's emergency stop is not engaged.
func (s *Server) handleDeviceEstop(w http.ResponseWriter, r *http.Request) error {
	tok := tokenOf(r.Context())
	d, err := s.findDevice(tok, r.PathValue("name"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(tool.WithSession(r.Context(), "api:"+ownerOf(r.Context())), 10*time.Second)
	defer cancel()
	raw, err := s.dev.hub.CallRaw(ctx, d.Name(), "stop", nil)
	if err != nil {
		return deviceCallError(d.Name(), err)
	}
	s.log.WarnContext(r.Context(), "device e-stop", "request_id", requestID(r.Context()), "owner", ownerOf(r.Context()), "device", d.Name())
	writeJSON(w, http.StatusOK, DeviceStopResult{Device: d.Name(), Result: raw})
	return nil
}

// deviceCallError is the API's answer to a device call that failed.
func deviceCallError(device string, err error) error {
	var devErr *protocol.Error
	switch {
	case errors.As(err, &devErr):
		return errorf(http.StatusBadGateway, "device_error", "%v", err)
	case errors.Is(err, devices.ErrRefused):
		return errorf(http.StatusForbidden, "refused", "%v", err)
	default:
		return errorf(http.StatusServiceUnavailable, "device_unavailable", "%s: %v", device, err)
	}
}

// ResetResult is the answer of POST /v1/devices/reset.
type ResetResult struct {
	Devices map[string]DeviceAnswer `json:"devices"`
	EStop   EStopState              `json:"estop"`
}

// handleDevicesReset releases the emergency stop: the guard lets actions
// through again and every device is sent reset. Only a server without
// tokens, or a token with device_reset, may.
func (s *Server) handleDevicesReset(w http.ResponseWriter, r *http.Request) error {
	tok := tokenOf(r.Context())
	if s.dev.hub == nil {
		return errNoDevices()
	}
	if tok != nil && !tok.DeviceReset {
		return errorf(http.StatusForbidden, "forbidden", "token %q may not release the emergency stop (it needs device_reset: true)", tok.Name)
	}
	ctx, cancel := context.WithTimeout(tool.WithSession(r.Context(), "api:"+ownerOf(r.Context())), 10*time.Second)
	defer cancel()
	out := ResetResult{Devices: map[string]DeviceAnswer{}}
	for _, res := range s.dev.hub.Reset(ctx) {
		out.Devices[res.Device] = answerOf(res)
	}
	out.EStop = s.estopState()
	s.log.WarnContext(r.Context(), "devices reset", "request_id", requestID(r.Context()), "owner", ownerOf(r.Context()))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deviceRoutes adds the device endpoints.
func (s *Server) deviceRoutes(api func(string, func(http.ResponseWriter, *http.Request) error)) {
	api("GET /v1/devices", s.handleDevices)
	api("GET /v1/devices/{name}", s.handleDevice)
	api("POST /v1/devices/{name}/estop", s.handleDeviceEstop)
	api("POST /v1/devices/reset", s.handleDevicesReset)
}

// noEnv is the environment of a session that only drives devices.
type noEnv struct{ devices []string }

func (e noEnv) Reset() string {
	if len(e.devices) == 0 {
		return "This session has no task environment."
	}
	return "This session has no task environment; its code drives the devices " + strings.Join(e.devices, ", ") + "."
}

func (noEnv) Step(string) (string, bool, bool) {
	return "This session has no task environment to take commands: act with code (exec).", false, false
}

func (noEnv) Admissible() []string               { return []string{} }
func (noEnv) Status() status                     { return status{} }
func (noEnv) RegisterTools(*tool.Registry) error { return nil }
func (noEnv) Info() EnvInfo                      { return EnvInfo{Kind: "none"} }

// defaultEnvKind is the environment of a request that names none: none
// for a session with devices and no game, else alfworld.
func defaultEnvKind(req createRequest) string {
	if len(req.Devices) > 0 && req.Env == (EnvSpec{}) {
		return "none"
	}
	return "alfworld"
}

// makeEnv makes the session's environment: none (devices only), or one of
// the factory's.
func (s *Server) makeEnv(spec EnvSpec, devs []string) (environment, error) {
	if spec.Kind == "none" {
		if spec.Game != "" || spec.Seed != 0 || spec.MaxSteps != 0 {
			return nil, fmt.Errorf("%w: environment kind \"none\" takes no game, seed or max_steps", errBadEnv)
		}
		return noEnv{devices: devs}, nil
	}
	return s.envs.make(spec)
}
