package server

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gantry-dev/gantry/tool"
)

// metrics are the server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	sessions  *prometheus.GaugeVec
	created   *prometheus.CounterVec
	expired   prometheus.Counter
	actions   *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	toolCalls *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	requests  *prometheus.CounterVec
	poolReady prometheus.Gauge

	// Children of the vectors by label values, made once: a request costs
	// a map read instead of hashing its label values.
	byRoute  sync.Map // routeCode → prometheus.Counter
	byAction sync.Map // actionKey → actionMetrics
}

type routeCode struct {
	route string
	code  int
}

type actionKey struct{ runtime, kind, outcome string }

// actionMetrics are the children one kind of action with one outcome
// updates.
type actionMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// request is the counter of a route's answers with the status code.
func (m *metrics) request(route string, code int) prometheus.Counter {
	k := routeCode{route, code}
	if c, ok := m.byRoute.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(route, strconv.Itoa(code))
	m.byRoute.Store(k, c)
	return c
}

// action is the count and latency of an action of the runtime and kind
// that ended with outcome.
func (m *metrics) action(runtime, kind, outcome string) actionMetrics {
	k := actionKey{runtime, kind, outcome}
	if a, ok := m.byAction.Load(k); ok {
		return a.(actionMetrics)
	}
	a := actionMetrics{m.actions.WithLabelValues(runtime, kind, outcome), m.latency.WithLabelValues(runtime, kind)}
	m.byAction.Store(k, a)
	return a
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gantry_sessions", Help: "Sessions alive, by runtime."}, []string{"runtime"}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_sessions_created_total", Help: "Sessions created, by runtime."}, []string{"runtime"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gantry_sessions_expired_total", Help: "Sessions ended after their idle timeout."}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_actions_total",
			Help: "Actions by runtime, kind (exec, step, reset) and outcome (ok, error, timeout, cancelled, failed)."},
			[]string{"runtime", "kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gantry_action_seconds", Help: "Wall time of actions, by runtime and kind.",
			Buckets: []float64{1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30}},
			[]string{"runtime", "kind"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_tool_calls_total", Help: "Tool calls made by code, by tool and outcome (ok, error)."},
			[]string{"tool", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_refusals_total", Help: "Requests refused, by reason (the error code of the answer)."},
			[]string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gantry_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"}),
		poolReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gantry_python_pool_ready", Help: "Python workers started and waiting for a session."}),
	}
	m.reg.MustRegister(m.sessions, m.created, m.expired, m.actions, m.latency, m.toolCalls, m.refusals, m.requests,
		m.poolReady, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument returns a registry with the tools of reg whose calls are
// counted by tool and outcome.
func (m *metrics) instrument(reg *tool.Registry) *tool.Registry {
	out := tool.NewRegistry()
	for _, t := range reg.Tools() {
		ok := m.toolCalls.WithLabelValues(t.Name, "ok")
		bad := m.toolCalls.WithLabelValues(t.Name, "error")
		fn := t.Fn
		nt := *t
		nt.Fn = func(ctx context.Context, args tool.Args) (any, error) {
			v, err := fn(ctx, args)
			if err != nil && !errors.Is(err, context.Canceled) {
				bad.Inc()
			} else {
				ok.Inc()
			}
			return v, err
		}
		out.MustRegister(nt)
	}
	return out
}
