package mqtt_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/natstest"
)

// securedCluster starts a 3-node cluster with the repository's accounts,
// users and permissions (deploy/nats/secure/accounts.conf, included as it
// is) and TLS on every listener, certificates made for the test. It
// returns the cluster, the TLS files and each user's password.
func securedCluster(t *testing.T) (*natstest.Cluster, *natstest.TLSFiles, map[string]string) {
	t.Helper()
	accounts, err := filepath.Abs(filepath.Join("..", "..", "deploy", "nats", "secure", "accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts, pass := natstest.Secured(t, accounts, "gateway", "rover", "arm", "gateway", "worker", "collector")
	cl := natstest.StartCluster(t, 3, opts)
	files := opts.TLS
	return cl, files, pass
}

// TestNATSSecured runs gantry/1 over a cluster secured as
// deploy/nats/secure says: devices and the gateway log in as their users
// over TLS (ssl:// URLs), and each user is held to its own topics.
func TestNATSSecured(t *testing.T) {
	cl, files, pass := securedCluster(t)
	n1, n2, n3 := cl.Nodes[0], cl.Nodes[1], cl.Nodes[2]
	tc := files.ClientConfig()
	device := func(name string) firmware.MQTTOptions {
		return firmware.MQTTOptions{Username: name, Password: pass[name], TLSConfig: tc}
	}
	serveRover(t, n1.MQTTURL(), firmware.Options{Logger: testLogger()}, device("rover"))
	arm := serveRover(t, n3.MQTTURL(), firmware.Options{Name: "arm", Logger: testLogger()}, device("arm"))
	hub := devices.NewHub(devices.HubOptions{})
	bus := connectBus(t, n2.MQTTURL(), hub, mqtt.Options{Username: "gateway", Password: pass["gateway"], TLSConfig: tc})
	// The devices announce themselves while the gateway subscribes on
	// another node: NATS may deliver such an announcement neither live nor
	// as retained, and the gateway finds the device when it asks for the
	// retained announcements again (Bus.resync).
	waitDevices(t, bus, "rover", "arm")
	ctx := context.Background()
	for _, name := range []string{"rover", "arm"} {
		if _, err := hub.Call(ctx, name, "ping", nil); err != nil {
			t.Fatalf("ping %s through TLS with its user: %v", name, err)
		}
	}

	t.Run("refused", func(t *testing.T) {
		cases := []struct {
			name string
			opts mqtt.Options
			want string
		}{
			{"no credentials", mqtt.Options{Broker: n2.MQTTURL(), TLSConfig: tc}, "not authorized"},
			{"wrong password", mqtt.Options{Broker: n2.MQTTURL(), Username: "gateway", Password: "guess", TLSConfig: tc}, "not authorized"},
			{"untrusted server certificate", mqtt.Options{Broker: n2.MQTTURL(), Username: "gateway", Password: pass["gateway"],
				TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}, "certificate"},
			{"no TLS", mqtt.Options{Broker: "tcp://" + n2.MQTT, Username: "gateway", Password: pass["gateway"]}, ""},
			// The worker's user exists, in the EVAL account, but may
			// subscribe to nothing of the fleet's: its subscriptions are
			// refused.
			{"a worker", mqtt.Options{Broker: n2.MQTTURL(), Username: "worker", Password: pass["worker"], TLSConfig: tc}, "did not accept the subscription"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				h := devices.NewHub(devices.HubOptions{})
				defer h.Close()
				c.opts.ConnectTimeout = 5 * time.Second
				b, err := mqtt.Connect(ctx, h, c.opts)
				if err == nil {
					b.Close()
					t.Fatal("connected")
				}
				if !strings.Contains(strings.ToLower(err.Error()), c.want) {
					t.Fatalf("got %v, want an error about %q", err, c.want)
				}
			})
		}
	})

	t.Run("permissions", func(t *testing.T) {
		raw := func(t *testing.T, node *natstest.Node, user string) paho.Client {
			c := paho.NewClient(paho.NewClientOptions().AddBroker(node.MQTTURL()).SetClientID("raw-" + user).
				SetUsername(user).SetPassword(pass[user]).SetTLSConfig(tc).SetCleanSession(true).SetAutoReconnect(false))
			if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				t.Fatalf("%s: connect: %v", user, tok.Error())
			}
			t.Cleanup(func() { c.Disconnect(100) })
			return c
		}
		ping := []byte(`{"id":424242,"action":"ping"}`)
		offline := []byte(`{"state":"offline"}`)
		pubs := []struct {
			name, user, topic string
			payload           []byte
			retained          bool
		}{
			{"a device commands another device", "rover", "gantry/arm/req", ping, false},
			{"a device poses as another device", "rover", "gantry/arm/status", offline, true},
			{"a gateway poses as a device", "gateway", "gantry/rover/status", offline, true},
		}
		armBefore := arm.Executed()
		for _, p := range pubs {
			t.Run(p.name, func(t *testing.T) {
				c := raw(t, n3, p.user)
				from := n3.Lines()
				// QoS 0: the node drops the message and logs it; nothing
				// comes back to the client to wait for.
				if tok := c.Publish(p.topic, 0, p.retained, p.payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("publish: %v", tok.Error())
				}
				subject := strings.ReplaceAll(p.topic, "/", ".")
				n3.WaitLog(t, from, `Publish Violation - Subject "`+subject+`"`)
			})
		}
		subs := []struct {
			name, user, filter string
		}{
			{"a device reads another device's requests", "rover", "gantry/arm/req"},
			{"a device reads every reply", "arm", "gantry/+/res"},
			{"a gateway reads the requests", "gateway", "gantry/+/req"},
		}
		for _, s := range subs {
			t.Run(s.name, func(t *testing.T) {
				c := raw(t, n2, s.user)
				tok := c.Subscribe(s.filter, 1, func(paho.Client, paho.Message) { t.Errorf("%s received a message on %s", s.user, s.filter) })
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					t.Fatalf("subscribe: %v", tok.Error())
				}
				if code := tok.(*paho.SubscribeToken).Result()[s.filter]; code < 0x80 {
					t.Fatalf("the subscription was granted (SUBACK %#x), want refused (0x80)", code)
				}
			})
		}
		// The devices are untouched: the forbidden request never ran,
		// the forged statuses changed nothing, and calls go through.
		for _, name := range []string{"rover", "arm"} {
			d, _ := hub.Device(name)
			if st := state(d); st != devices.Online {
				t.Errorf("%s is %v after the forged statuses", name, st)
			}
			if _, err := hub.Call(ctx, name, "ping", nil); err != nil {
				t.Errorf("ping %s: %v", name, err)
			}
		}
		if n := arm.Executed() - armBefore; n != 1 {
			t.Errorf("the arm executed %d requests, want 1 (the gateway's ping; the rover's was refused)", n)
		}
	})
}
