package firmware

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/url"
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
	defer func() { close(stop); <-watchDone }()
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
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(2*time.Second).
		SetConnectTimeout(timeout).
		SetKeepAlive(10*time.Second).
		SetCleanSession(true).
		SetBinaryWill(statusT, protocol.StatusOffline, 1, true).
		SetOnConnectHandler(func(c mqtt.Client) {
			log.Info("connected")
			t := c.Subscribe(reqT, 1, onReq)
			go func() {
				// Announce only once requests can arrive: "online" means ready.
				if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
					log.Warn("subscribe failed", "topic", reqT, "err", t.Error())
					return
				}
				publish(descT, 1, true, desc)
				publish(statusT, 1, true, protocol.StatusOnline)
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
