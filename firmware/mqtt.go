package firmware

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gantry-dev/gantry/protocol"
)

// MQTTOptions configure ServeMQTT. The zero value uses prefix "gantry" and
// client id "gantry-fw-<device>".
type MQTTOptions struct {
	Prefix    string // topic prefix, default "gantry"
	ClientID  string
	Username  string
	Password  string
	TLSConfig *tls.Config
	// ConnectTimeout bounds the first connection; default 10 s.
	ConnectTimeout time.Duration
	// Fallbacks are more broker URLs, the other nodes of a clustered
	// broker: every (re)connection tries the main URL first, then these
	// in order, so the rover moves to a live node when its node dies.
	Fallbacks []string
}

// Subscription retries: how long a SUBACK may take, and the pause before
// asking again after a refusal or failure.
const (
	subscribeTimeout = 20 * time.Second
	subscribeRetry   = time.Second
)

// subscribeRefused reports whether the broker refused a subscription in
// its SUBACK (return code 0x80), which paho reports in the token's result,
// not as an error.
func subscribeRefused(t mqtt.Token) bool {
	st, ok := t.(*mqtt.SubscribeToken)
	if !ok {
		return false
	}
	for _, code := range st.Result() {
		if code >= 0x80 {
			return true
		}
	}
	return false
}

// ServeMQTT connects the rover to the broker at brokerURL (tcp://,
// ssl://, ws://) and serves requests until ctx ends. On every (re)connect
// it subscribes to its request topic and, once subscribed, publishes its
// description and {"state":"online"}, both retained; its last will, and its goodbye when ctx
// ends, is a retained {"state":"offline"}. The idempotency cache lives as
// long as this call, across reconnects.
func (r *Rover) ServeMQTT(ctx context.Context, brokerURL string, opts MQTTOptions) error {
	reqT, resT, evtT, descT, statusT := protocol.Topics(opts.Prefix, r.name)
	desc, err := json.Marshal(r.desc)
	if err != nil {
		return fmt.Errorf("encode description: %w", err)
	}
	d := r.NewDispatcher()
	clientID := opts.ClientID
	if clientID == "" {
		clientID = "gantry-fw-" + r.name
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	log := r.log.With("device", r.name, "broker", brokerURL)

	// publish sends without waiting in the caller (paho handlers must not
	// block); one goroutine watches the acknowledgements and logs failures.
	type pending struct {
		topic string
		tok   mqtt.Token
	}
	acks := make(chan pending, 1024)
	stop := make(chan struct{})
	watchDone := make(chan struct{})
	var subs sync.WaitGroup // subscription rounds
	defer func() { close(stop); subs.Wait(); <-watchDone }()
	go func() {
		defer close(watchDone)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			select {
			case p := <-acks:
				timer.Reset(10 * time.Second)
				select {
				case <-p.tok.Done():
					if err := p.tok.Error(); err != nil {
						log.Warn("publish failed", "topic", p.topic, "err", err)
					}
				case <-timer.C:
					log.Warn("publish not acknowledged", "topic", p.topic)
				case <-stop:
					return
				}
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			case <-stop:
				return
			}
		}
	}()
	var client mqtt.Client
	var conns atomic.Uint64 // connections made: a subscription round of an older one stops
	publish := func(topic string, qos byte, retained bool, payload []byte) {
		t := client.Publish(topic, qos, retained, payload)
		select {
		case acks <- pending{topic, t}:
		default: // the watcher is behind: do not block, do not watch
		}
	}
	onReq := func(_ mqtt.Client, m mqtt.Message) {
		p := m.Payload()
		if len(p) >= protocol.MaxLine {
			publish(resT, 1, false, protocol.LineTooLongReply())
			return
		}
		d.Handle(append([]byte(nil), p...), func(b []byte) { publish(resT, 1, false, b) })
	}
	co := mqtt.NewClientOptions().
		AddBroker(brokerURL).
		SetClientID(clientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetTLSConfig(opts.TLSConfig).
		SetProtocolVersion(4). // 3.1.1 only: no fallback to 3.1 hiding a refusal's reason
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(2*time.Second).
		SetConnectTimeout(timeout).
		SetKeepAlive(10*time.Second).
		SetCleanSession(true).
		SetBinaryWill(statusT, protocol.StatusOffline, 1, true).
		SetOnConnectHandler(func(c mqtt.Client) {
			log.Info("connected")
			g := conns.Add(1)
			subs.Add(1)
			go func() {
				defer subs.Done()
				// Announce only once requests can arrive: "online" means
				// ready. A clustered broker may refuse the subscription
				// (SUBACK 0x80: NATS could not create its JetStream
				// consumer while electing a leader) or be slow to answer;
				// ask again while this connection lasts.
				for attempt := 1; ; attempt++ {
					t := c.Subscribe(reqT, 1, onReq)
					timer := time.NewTimer(subscribeTimeout)
					ok := true
					select {
					case <-t.Done():
					case <-timer.C:
						ok = false
					case <-stop:
						timer.Stop()
						return
					}
					timer.Stop()
					switch {
					case !ok:
						log.Warn("subscribe not acknowledged; asking again", "topic", reqT, "after", subscribeTimeout, "attempt", attempt)
					case t.Error() != nil:
						log.Warn("subscribe failed; asking again while connected", "topic", reqT, "err", t.Error(), "attempt", attempt)
					case subscribeRefused(t):
						log.Warn("the broker refused the subscription; asking again", "topic", reqT, "attempt", attempt)
					default:
						publish(descT, 1, true, desc)
						publish(statusT, 1, true, protocol.StatusOnline)
						return
					}
					select {
					case <-time.After(subscribeRetry):
					case <-stop:
						return
					}
					if conns.Load() != g || !c.IsConnectionOpen() {
						return // the next connection subscribes
					}
				}
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("connection lost", "err", err)
		})
	if len(opts.Fallbacks) > 0 {
		// Say which broker each connection went to.
		var tried atomic.Value
		tried.Store(brokerURL)
		co.SetConnectionAttemptHandler(func(u *url.URL, c *tls.Config) *tls.Config {
			tried.Store(u.String())
			return c
		})
		onConnect := co.OnConnect
		co.SetOnConnectHandler(func(c mqtt.Client) {
			log.Info("connected to", "server", tried.Load())
			onConnect(c)
		})
	}
	for _, u := range opts.Fallbacks {
		co.AddBroker(u)
	}
	client = mqtt.NewClient(co)
	t := client.Connect()
	if !t.WaitTimeout(timeout) {
		client.Disconnect(0)
		return fmt.Errorf("connect to %s: timed out after %v", brokerURL, timeout)
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("connect to %s: %w", brokerURL, err)
	}
	unsub := r.Subscribe(func(ev protocol.Event) {
		if b, err := json.Marshal(ev); err == nil && client.IsConnectionOpen() {
			client.Publish(evtT, 0, false, b) // QoS 0: nothing to wait for
		}
	})
	<-ctx.Done()
	unsub()
	if client.IsConnectionOpen() {
		t := client.Publish(statusT, 1, true, protocol.StatusOffline)
		t.WaitTimeout(2 * time.Second)
	}
	client.Disconnect(250)
	return nil
}
