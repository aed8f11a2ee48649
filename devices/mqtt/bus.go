// Package mqtt reaches gantry devices through an MQTT broker
// (docs/protocol.md, section 7). A Bus discovers the devices that announce
// themselves under a topic prefix and serves them through a devices.Hub;
// StartBroker runs an embedded broker, so a setup needs nothing installed.
package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/protocol"
)

// DefaultPrefix is the topic prefix devices use unless told otherwise.
const DefaultPrefix = protocol.DefaultPrefix

// Options configure a Bus. Broker is required.
type Options struct {
	// Broker is the broker's URL: tcp://host:port, ssl://host:port,
	// ws://host:port/path (also mqtt, mqtts, tls, tcps, wss).
	Broker string
	// Prefix is the topic prefix, default "gantry"; it may have several
	// levels ("lab/floor1") but no wildcards.
	Prefix string
	// ClientID is the MQTT client id of the gateway's command connection;
	// its event connection's is ClientID+"-evt". Default: "gantry-gw-<r>"
	// and "gantry-ev-<r>" with the same random <r> (22 characters each,
	// within the 23 every MQTT 3.1.1 broker must accept).
	// Two clients with one id knock each other off.
	ClientID           string
	Username, Password string
	TLSConfig          *tls.Config
	// ConnectTimeout bounds the first connection; default 10 s.
	ConnectTimeout time.Duration
	// Logger receives discovery and connection events; default none.
	Logger *slog.Logger
	// Timeout is each device call's wait for a reply beyond the duration
	// its arguments state (devices.Options.Timeout); default 2 s. It also
	// bounds the wait for the broker to acknowledge a request.
	Timeout time.Duration
}

// Paho settings: reconnect quickly, notice a dead broker within seconds.
const (
	maxReconnectInterval = time.Second
	keepAlive            = 10 * time.Second
	pingTimeout          = 5 * time.Second
	// subscribeTimeout is how long a SUBACK may take before the
	// subscription is asked for again; a NATS node creating a JetStream
	// consumer per QoS 1 filter, each bounded by its 5 s API timeout,
	// may take 15 s for the three of the command connection.
	subscribeTimeout = 20 * time.Second
	subscribeRetry   = time.Second // after the broker refused or failed a subscription
	// After a (re)connection the retained announcements are asked for
	// again resyncFirst later, then after doubling pauses up to resyncMax
	// while a device's status is missing, resyncRounds times at most.
	resyncFirst  = 2 * time.Second
	resyncMax    = 30 * time.Second
	resyncRounds = 8
)

// errWentOffline is why a device whose status topic says offline is Offline.
var errWentOffline = errors.New("device went offline (its status says offline: it shut down, or the broker published its last will)")

// Bus keeps a hub's MQTT devices: every device announcing itself under the
// prefix (a retained desc and status) is added to the hub, follows its
// status topic, and goes Unreachable while the broker connection is down.
//
// A bus holds two connections to the broker. The command connection
// carries what calls need: requests, their acknowledgements, replies,
// descriptions and status. The event connection carries only events
// (telemetry), so that a flood of events, however large, queues on its own
// connection and cannot delay a call or an emergency stop behind it; a
// broker drops QoS 0 events for a client that cannot keep up, never the
// replies of the other. The devices' reachability follows the command
// connection; while the event connection is down, events are missed.
//
// Messages are handled concurrently, as they arrive: events may reach
// subscribers out of order (each carries the device's ts), and two status
// messages of one device arriving within microseconds of each other may
// be applied in either order.
type Bus struct {
	hub     *devices.Hub
	opts    Options
	log     *slog.Logger
	client  paho.Client     // the command connection
	events  paho.Client     // the event connection
	filters map[string]byte // the command connection's subscriptions -> QoS
	// evtReady is closed once the event connection has subscribed: a
	// device is discovered on the command connection, and its events must
	// not be missed for want of a subscription on the other.
	evtReady chan struct{}
	evtOnce  sync.Once
	done     chan struct{}  // closed by Close
	wg       sync.WaitGroup // goroutines waiting on subscribe tokens
	closedA  atomic.Bool    // Close was called (read on the hot path)
	// sendMu is held for reading while a request is handed to paho, and
	// taken by Close before it disconnects: a publish racing with
	// Disconnect can block in paho for 30 s.
	sendMu sync.RWMutex

	mu     sync.RWMutex
	devs   map[string]*devices.Device // the devices this bus added, by name
	status map[string]bool            // last status per device name (true: online), desc or not
	heard  map[string]bool            // devices whose status arrived on the current connection
	up     bool                       // connected and subscribing
	conns  int                        // connections made so far
	closed bool

	// cmdGen and evtGen count the subscription rounds of each
	// connection: a round that a reconnection has replaced, or whose
	// connection is down, stops asking.
	cmdGen, evtGen atomic.Uint64
}

// Connect connects to the broker and starts discovering devices into hub.
// It returns once both connections are up and the event connection has
// subscribed (no device is discovered before its events can arrive);
// devices appear as their retained
// announcements arrive (wait for them with Wait). The bus reconnects by
// itself until Close.
func Connect(ctx context.Context, hub *devices.Hub, opts Options) (*Bus, error) {
	if hub == nil {
		return nil, errors.New("mqtt: connect: hub is nil")
	}
	if err := checkBrokerURL(opts.Broker); err != nil {
		return nil, fmt.Errorf("mqtt: connect: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if err := protocol.CheckPrefix(opts.Prefix); err != nil {
		return nil, fmt.Errorf("mqtt: connect: %w", err)
	}
	evtID := opts.ClientID + "-evt"
	if opts.ClientID == "" {
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		opts.ClientID = "gantry-gw-" + hex.EncodeToString(rnd[:])
		evtID = "gantry-ev-" + hex.EncodeToString(rnd[:])
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{
		hub: hub, opts: opts, log: log.With("broker", opts.Broker, "prefix", opts.Prefix),
		done: make(chan struct{}), evtReady: make(chan struct{}), devs: map[string]*devices.Device{}, status: map[string]bool{}, heard: map[string]bool{},
		filters: map[string]byte{
			opts.Prefix + "/+/desc":   1,
			opts.Prefix + "/+/status": 1,
			opts.Prefix + "/+/res":    1,
		},
	}
	co := b.clientOptions(opts.ClientID).
		SetOnConnectHandler(b.onConnect).
		SetConnectionLostHandler(b.onLost)
	b.client = paho.NewClient(co)
	eo := b.clientOptions(evtID).
		SetOnConnectHandler(b.onEventsConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			b.log.Warn("event connection lost; events are missed until it is back", "err", err)
		})
	b.events = paho.NewClient(eo)

	// Events first: once the command connection subscribes, devices are
	// discovered, and their events must find a subscription.
	err := b.connect(ctx, b.events)
	if err == nil {
		err = b.waitEvents(ctx)
	}
	if err == nil {
		err = b.connect(ctx, b.client)
	}
	if err != nil {
		b.shutdown()
		return nil, err
	}
	b.log.Info("connected", "client_id", opts.ClientID)
	return b, nil
}

// clientOptions are the paho options both connections share.
func (b *Bus) clientOptions(clientID string) *paho.ClientOptions {
	opts := b.opts
	return paho.NewClientOptions().
		AddBroker(opts.Broker).
		SetClientID(clientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetTLSConfig(opts.TLSConfig).
		// MQTT 3.1.1 only: paho would retry a refused connection as 3.1,
		// which NATS refuses by closing it, and the refusal's reason (bad
		// credentials) would be lost to an EOF.
		SetProtocolVersion(4).
		SetOrderMatters(false).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetConnectTimeout(opts.ConnectTimeout).
		SetKeepAlive(keepAlive).
		SetPingTimeout(pingTimeout)
}

// waitEvents waits until the event connection has subscribed.
func (b *Bus) waitEvents(ctx context.Context) error {
	timer := time.NewTimer(b.opts.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-b.evtReady:
		return nil
	case <-timer.C:
		return fmt.Errorf("mqtt: connect to %s: subscribing to events: the broker did not accept the subscription within %v (refused or unacknowledged)", b.opts.Broker, b.opts.ConnectTimeout)
	case <-ctx.Done():
		return fmt.Errorf("mqtt: connect to %s: subscribing to events: %w", b.opts.Broker, context.Cause(ctx))
	}
}

// connect makes c's first connection.
func (b *Bus) connect(ctx context.Context, c paho.Client) error {
	t := c.Connect()
	timer := time.NewTimer(b.opts.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("mqtt: connect to %s: %w", b.opts.Broker, err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("mqtt: connect to %s: no answer within %v", b.opts.Broker, b.opts.ConnectTimeout)
	case <-ctx.Done():
		return fmt.Errorf("mqtt: connect to %s: %w", b.opts.Broker, context.Cause(ctx))
	}
}

func checkBrokerURL(s string) error {
	if s == "" {
		return errors.New("no broker URL (want tcp://host:port, ssl://host:port or ws://host:port/path)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("broker URL %q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
	default:
		return fmt.Errorf("broker URL %q: scheme %q is not one of tcp, ssl, ws (or mqtt, mqtts, tls, tcps, wss)", s, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("broker URL %q has no host:port", s)
	}
	return nil
}

// Wait waits until every device named is in the hub, described and online.
func (b *Bus) Wait(ctx context.Context, names ...string) error {
	return b.hub.Wait(ctx, names...)
}

// Close disconnects from the broker and removes the bus's devices from
// the hub; their calls in flight fail. It is safe to call more than once.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.closedA.Store(true)
	b.mu.Unlock()
	b.shutdown()

	b.mu.Lock()
	defer b.mu.Unlock()
	for name, d := range b.devs {
		b.removeLocked(name, d)
	}
	return nil
}

// shutdown ends the connection and waits for the bus's goroutines.
func (b *Bus) shutdown() {
	b.closedA.Store(true)
	b.sendMu.Lock() // wait for publishes under way; later ones see closedA
	b.sendMu.Unlock()
	select {
	case <-b.done:
	default:
		close(b.done)
	}
	b.client.Disconnect(250)
	b.events.Disconnect(250)
	b.wg.Wait()
}

// onConnect runs on every (re)connection: it subscribes (subscriptions do
// not survive a clean session) and, after a reconnection, makes sure no
// device is left Online from before it: each waits for its retained status.
func (b *Bus) onConnect(c paho.Client) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.conns++
	if b.conns > 1 {
		// The lost handler runs concurrently with the reconnection and may
		// not have marked the devices yet.
		b.unreachableLocked(errors.New("broker connection lost; reconnected, waiting for the device's status"))
	}
	b.up = true
	b.heard = map[string]bool{}
	b.mu.Unlock()
	b.subscribe(c, &b.cmdGen, b.filters, "devices will not be discovered until the next reconnection", func() {
		b.resync(c, b.cmdGen.Load())
	})
}

// resync asks for the retained descriptions and statuses again, by
// subscribing once more (a broker sends a subscription's retained messages
// again), a while after every (re)connection and then, with growing
// pauses, while a device known to the bus has not had its status on this
// connection. A clustered broker can lose a retained message published on
// another node while the subscription is being made: NATS delivers it
// neither live (the JetStream consumer did not exist yet) nor as retained
// (this node's copy of the retained messages lagged), and without asking
// again a device that moved to another node (its node died) would stay
// Unreachable, and a new one undiscovered, until the next reconnection.
func (b *Bus) resync(c paho.Client, g uint64) {
	filters := map[string]byte{b.opts.Prefix + "/+/desc": 1, b.opts.Prefix + "/+/status": 1}
	pause := resyncFirst
	for round := 1; round <= resyncRounds; round++ {
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-b.done:
			timer.Stop()
			return
		}
		if b.cmdGen.Load() != g || !c.IsConnectionOpen() {
			return
		}
		missing := b.unheard()
		if round > 1 && len(missing) == 0 {
			return
		}
		b.log.Debug("asking for the retained announcements again", "round", round, "devices_without_status", missing)
		t := c.SubscribeMultiple(filters, b.onMessage)
		wait := time.NewTimer(subscribeTimeout)
		select {
		case <-t.Done():
			if err := t.Error(); err != nil {
				b.log.Debug("asking again failed", "err", err)
			}
		case <-wait.C:
		case <-b.done:
			wait.Stop()
			return
		}
		wait.Stop()
		pause = min(2*pause, resyncMax)
	}
}

// unheard names the bus's devices whose status has not arrived since the
// last (re)connection.
func (b *Bus) unheard() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var names []string
	for name := range b.devs {
		if !b.heard[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// onEventsConnect subscribes the event connection on every (re)connection.
func (b *Bus) onEventsConnect(c paho.Client) {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return
	}
	b.subscribe(c, &b.evtGen, map[string]byte{b.opts.Prefix + "/+/" + protocol.TopicEvt: 0}, "events are missed until the next reconnection",
		func() { b.evtOnce.Do(func() { close(b.evtReady) }) })
}

// subscribe subscribes c to filters without waiting (paho's handlers must
// not block): a goroutine waits for the broker's acknowledgement and asks
// again for what the broker refused (SUBACK 0x80), failed or left
// unacknowledged, until every filter is accepted, the connection is lost
// or replaced (gen moves on: the next connection subscribes afresh), or
// the bus closes. A clustered broker refuses or delays subscriptions while
// it elects leaders (NATS creates a JetStream consumer per QoS 1
// subscription), and a subscription given up on would leave the gateway
// connected but deaf until its next reconnection.
func (b *Bus) subscribe(c paho.Client, gen *atomic.Uint64, filters map[string]byte, consequence string, subscribed func()) {
	g := gen.Add(1)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		pending := filters
		for attempt := 1; ; attempt++ {
			b.log.Debug("subscribing", "filters", len(pending), "attempt", attempt)
			t := c.SubscribeMultiple(pending, b.onMessage)
			timer := time.NewTimer(subscribeTimeout)
			select {
			case <-t.Done():
				timer.Stop()
				if err := t.Error(); err != nil {
					b.log.Warn("subscribe failed; asking again while connected", "err", err, "attempt", attempt)
					break
				}
				refused := refusedFilters(t, pending)
				if len(refused) == 0 {
					b.log.Debug("subscribed", "attempt", attempt)
					if subscribed != nil {
						subscribed()
					}
					return
				}
				// A SUBACK failure code is no token error: paho reports it
				// in the result.
				b.log.Warn("the broker refused subscriptions; asking again", "filters", slices.Sorted(maps.Keys(refused)), "in", subscribeRetry, "attempt", attempt)
				pending = refused
			case <-timer.C:
				b.log.Warn("subscribe not acknowledged; asking again", "after", subscribeTimeout, "attempt", attempt)
			case <-b.done:
				timer.Stop()
				return
			}
			retry := time.NewTimer(subscribeRetry)
			select {
			case <-retry.C:
			case <-b.done:
				retry.Stop()
				return
			}
			if gen.Load() != g || !c.IsConnectionOpen() {
				b.log.Debug("connection lost or replaced; its next connection subscribes", "consequence", consequence)
				return
			}
		}
	}()
}

// refusedFilters are the filters of a subscription the broker refused
// (SUBACK return code 0x80).
func refusedFilters(t paho.Token, filters map[string]byte) map[string]byte {
	st, ok := t.(*paho.SubscribeToken)
	if !ok {
		return nil
	}
	refused := map[string]byte{}
	for f, code := range st.Result() {
		if code >= 0x80 {
			refused[f] = filters[f]
		}
	}
	return refused
}

// onLost marks the devices Unreachable: requests in flight wait, and are
// sent again when the device's status says online after the reconnection.
func (b *Bus) onLost(c paho.Client, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || c.IsConnectionOpen() {
		return // closing, or already reconnected (onConnect took care of it)
	}
	b.log.Warn("broker connection lost", "err", err)
	b.up = false
	b.unreachableLocked(fmt.Errorf("broker connection lost: %w", err))
}

func (b *Bus) unreachableLocked(err error) {
	for _, d := range b.devs {
		if st, _ := d.State(); st == devices.Online {
			d.SetState(devices.Unreachable, err)
		}
	}
}

// onMessage is paho's handler for every subscription. It never blocks:
// paho runs it on a goroutine of its own per message.
func (b *Bus) onMessage(_ paho.Client, m paho.Message) {
	name, kind, ok := protocol.SplitTopic(b.opts.Prefix, m.Topic())
	if !ok {
		b.log.Debug("ignoring message on a topic that names no device", "topic", m.Topic())
		return
	}
	p := m.Payload()
	switch kind {
	case protocol.TopicRes, protocol.TopicEvt:
		b.onData(name, p)
	case protocol.TopicDesc:
		b.onDesc(name, p)
	case protocol.TopicStatus:
		b.onStatus(name, p)
	}
}

// tooLong stands in for an over-long payload so that the device counts
// it as garbage.
var tooLong = []byte("payload too long")

func (b *Bus) onData(name string, p []byte) {
	b.mu.RLock()
	d := b.devs[name]
	b.mu.RUnlock()
	if d == nil {
		return // not a device we know (yet): nobody waits for it
	}
	if len(p)+1 > protocol.MaxLine {
		b.log.Debug("dropping an over-long payload", "device", name, "bytes", len(p), "max", protocol.MaxLine-1)
		d.Receive(tooLong)
		return
	}
	d.Receive(p)
}

func (b *Bus) onDesc(name string, p []byte) {
	if len(p) == 0 {
		b.forget(name, "description cleared")
		return
	}
	if len(p)+1 > protocol.MaxLine {
		b.log.Warn("ignoring an over-long description", "device", name, "bytes", len(p), "max", protocol.MaxLine-1)
		return
	}
	desc, err := devices.ParseDescription(p)
	if err != nil {
		b.log.Warn("ignoring a description", "device", name, "err", err)
		return
	}
	if desc.Name != name {
		b.log.Warn("ignoring a description published under another device's topic", "topic_device", name, "described", desc.Name)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if d := b.devs[name]; d != nil {
		if err := d.SetDescription(desc); err != nil {
			b.log.Warn("ignoring a description", "device", name, "err", err)
		}
		return
	}
	d := b.hub.NewDevice(name, devices.Options{Timeout: b.opts.Timeout, Logger: b.opts.Logger})
	if err := d.SetDescription(desc); err != nil {
		b.log.Warn("ignoring a description", "device", name, "err", err)
		return
	}
	req, _, _, _, _ := protocol.Topics(b.opts.Prefix, name)
	d.Attach(&link{bus: b, topic: req})
	if online, known := b.status[name]; known {
		b.applyLocked(d, online)
	}
	if old, ok := b.hub.Device(name); ok {
		b.log.Warn("replacing a device of the same name in the hub", "device", name, "old_state", stateOf(old))
	}
	b.devs[name] = d
	if err := b.hub.Add(d); err != nil {
		delete(b.devs, name)
		b.log.Warn("cannot add device", "device", name, "err", err)
		return
	}
	b.log.Info("device discovered", "device", name, "state", stateOf(d))
}

func stateOf(d *devices.Device) devices.State {
	st, _ := d.State()
	return st
}

func (b *Bus) onStatus(name string, p []byte) {
	if len(p) == 0 {
		b.forget(name, "status cleared")
		return
	}
	if len(p)+1 > protocol.MaxLine {
		b.log.Warn("ignoring an over-long status", "device", name, "bytes", len(p))
		return
	}
	online, err := protocol.ParseStatus(p)
	if err != nil {
		b.log.Warn("ignoring a status", "device", name, "err", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.status[name] = online
	b.heard[name] = true
	if d := b.devs[name]; d != nil {
		b.applyLocked(d, online)
	}
}

// applyLocked sets d's state from its status topic. While the broker
// connection is down an online status is only remembered: the retained
// status comes again after the reconnection.
func (b *Bus) applyLocked(d *devices.Device, online bool) {
	switch {
	case !online:
		d.SetState(devices.Offline, errWentOffline)
	case b.up:
		d.SetState(devices.Online, nil)
	}
}

// forget removes a device whose retained announcement was cleared.
func (b *Bus) forget(name, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.status, name)
	if d := b.devs[name]; d != nil {
		b.log.Info("device removed", "device", name, "why", why)
		b.removeLocked(name, d)
	}
}

// removeLocked takes d out of the bus and, if it is still the hub's device
// of that name, out of the hub; either way d is closed.
func (b *Bus) removeLocked(name string, d *devices.Device) {
	delete(b.devs, name)
	if cur, ok := b.hub.Device(name); ok && cur == d {
		b.hub.Remove(name)
		return
	}
	d.Close()
}

// link is a device's way out: requests published on its req topic.
type link struct {
	bus   *Bus
	topic string
}

// Send publishes msg (QoS 1) and waits for the broker's acknowledgement,
// at most the bus's Timeout and never past ctx.
func (l *link) Send(ctx context.Context, msg []byte) error {
	if len(msg)+1 > protocol.MaxLine {
		return fmt.Errorf("publish to %s: request is %d bytes, the protocol allows %d", l.topic, len(msg), protocol.MaxLine-1)
	}
	l.bus.sendMu.RLock()
	if l.bus.closedA.Load() {
		l.bus.sendMu.RUnlock()
		return fmt.Errorf("publish to %s: %w", l.topic, devices.ErrClosed)
	}
	t := l.bus.client.Publish(l.topic, 1, false, msg)
	l.bus.sendMu.RUnlock()
	select {
	case <-t.Done(): // the common case: no timer needed
		return publishErr(l.topic, t)
	default:
	}
	timer := time.NewTimer(l.bus.opts.Timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		return publishErr(l.topic, t)
	case <-timer.C:
		return fmt.Errorf("publish to %s: the broker did not acknowledge within %v; the request may still be delivered", l.topic, l.bus.opts.Timeout)
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: %w", l.topic, context.Cause(ctx))
	case <-l.bus.done:
		return fmt.Errorf("publish to %s: %w", l.topic, devices.ErrClosed)
	}
}

func publishErr(topic string, t paho.Token) error {
	if err := t.Error(); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// Close does nothing: the bus owns the connection.
func (l *link) Close() error { return nil }
