package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is an MQTT broker running in this process (mochi-mqtt), open to
// every client that reaches its TCP address: bind it to loopback unless
// the network is trusted.
type Broker struct {
	srv   *mochi.Server
	ln    net.Listener
	addr  string
	asked string // the host StartBroker was given
	once  sync.Once
	unctx func() bool // stops the close-on-ctx hook
}

// StartBroker starts an embedded broker listening on addr (host:port; port
// 0 picks a free one, see URL). It runs until Close or until ctx ends.
// The broker's own log goes to logger at warning level and above; a nil
// logger discards it.
func StartBroker(ctx context.Context, addr string, logger *slog.Logger) (*Broker, error) {
	if addr == "" {
		return nil, errors.New("mqtt: start broker: no address (want host:port, e.g. 127.0.0.1:1883; port 0 picks a free one)")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: start broker: address %q: %w", addr, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mqtt: start broker: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := mochi.New(&mochi.Options{
		Logger:       slog.New(minLevel{slog.LevelWarn, logger.Handler()}).With("component", "broker"),
		InlineClient: false,
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("mqtt: start broker: auth hook: %w", err)
	}
	// Our own listener, so that Close can stop accepting before mochi
	// disconnects the clients (mochi does it the other way round, and a
	// client reconnecting in between is accepted and never served).
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: start broker: listen on %s: %w", addr, err)
	}
	if err := srv.AddListener(listeners.NewNet("gantry-tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("mqtt: start broker on %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		ln.Close()
		srv.Close()
		return nil, fmt.Errorf("mqtt: start broker on %s: %w", addr, err)
	}
	b := &Broker{srv: srv, ln: ln, addr: ln.Addr().String(), asked: host}
	b.unctx = context.AfterFunc(ctx, b.stop)
	return b, nil
}

// Addr returns the address the broker listens on (host:port).
func (b *Broker) Addr() string { return b.addr }

// URL returns the URL clients connect to, tcp://host:port; an unspecified
// listening host (0.0.0.0, ::) becomes loopback.
func (b *Broker) URL() string {
	host, port, err := net.SplitHostPort(b.addr)
	if err != nil {
		return "tcp://" + b.addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		// Go reports a dual-stack listener as [::] even when asked for
		// 0.0.0.0: go by what was asked.
		host = "127.0.0.1"
		if ip := net.ParseIP(b.asked); ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

// Close stops the broker and disconnects its clients. It is safe to call
// more than once.
func (b *Broker) Close() error {
	b.unctx()
	b.stop()
	return nil
}

func (b *Broker) stop() {
	b.once.Do(func() {
		b.ln.Close() // no new clients while mochi disconnects the others
		b.srv.Close()
	})
}

// minLevel is a slog.Handler passing on records at min and above.
type minLevel struct {
	min slog.Level
	h   slog.Handler
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}

// Handle passes r on, except mochi's reports of connections closed under
// it (every client's, when the broker closes).
func (m minLevel) Handle(ctx context.Context, r slog.Record) error {
	closed := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, net.ErrClosed) {
			closed = true
		}
		return !closed
	})
	if closed {
		return nil
	}
	return m.h.Handle(ctx, r)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler { return minLevel{m.min, m.h.WithAttrs(a)} }

func (m minLevel) WithGroup(name string) slog.Handler { return minLevel{m.min, m.h.WithGroup(name)} }
