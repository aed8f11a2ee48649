package mqtt_test

import (
	"context"
	"net"
	"sync"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
)

// refuseSubscriptions is a broker hook that refuses the first n
// subscriptions of one client (SUBACK 0x80), as a broker with an ACL or one
// still electing a leader (NATS) does.
type refuseSubscriptions struct {
	mochi.HookBase
	client string

	mu      sync.Mutex
	left    int
	refused int
}

func (h *refuseSubscriptions) ID() string { return "refuse-subscriptions" }

func (h *refuseSubscriptions) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *refuseSubscriptions) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

func (h *refuseSubscriptions) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if write || cl.ID != h.client {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.left > 0 {
		h.left--
		h.refused++
		return false
	}
	return true
}

// TestSubscriptionRefused: a subscription the broker refuses in its SUBACK
// (not a transport error) is asked for again, by the gateway (else it
// silently discovers no device) and by the rover (else it announces
// itself online and never receives a request).
func TestSubscriptionRefused(t *testing.T) {
	for _, client := range []string{"gw-refused", "gantry-fw-rover"} {
		t.Run(client, func(t *testing.T) {
			hook := &refuseSubscriptions{client: client, left: 2}
			srv := mochi.New(&mochi.Options{InlineClient: false})
			if err := srv.AddHook(hook, nil); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
				t.Fatal(err)
			}
			if err := srv.Serve(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			url := "tcp://" + ln.Addr().String()

			serveRover(t, url, firmware.Options{Clock: firmware.ScaledClock(20)}, firmware.MQTTOptions{})
			hub := devices.NewHub(devices.HubOptions{})
			bus := connectBus(t, url, hub, mqtt.Options{ClientID: "gw-refused"})
			waitDevices(t, bus, "rover")
			if _, err := hub.Call(context.Background(), "rover", "ping", nil); err != nil {
				t.Fatal(err)
			}
			hook.mu.Lock()
			defer hook.mu.Unlock()
			if hook.refused == 0 {
				t.Fatal("the broker refused no subscription: the test proves nothing")
			}
		})
	}
}
