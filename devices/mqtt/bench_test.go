package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/tool"
)

// BenchmarkGantryRoundTrip is one ping of the reference rover through the
// broker: through the hub (guard included), and through the tool layer as
// a runtime calls it.
func BenchmarkGantryRoundTrip(b *testing.B) {
	for _, k := range brokerKinds() {
		b.Run(k.name, func(b *testing.B) {
			br := k.start(b)
			serveRover(b, br.url, firmware.Options{}, firmware.MQTTOptions{})
			hub := devices.NewHub(devices.HubOptions{})
			bus := connectBus(b, br.url, hub, mqtt.Options{})
			waitDevices(b, bus, "rover")
			reg := tool.NewRegistry()
			if err := devices.RegisterTools(reg, hub); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.Run("hub", func(b *testing.B) {
				for b.Loop() {
					if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("tool", func(b *testing.B) {
				for b.Loop() {
					if _, err := reg.Call(ctx, "rover.ping", nil, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRawPahoRoundTrip is the baseline: the same request and reply
// (QoS 1 both ways) between two bare paho clients, the responder echoing
// each request on the reply topic.
func BenchmarkRawPahoRoundTrip(b *testing.B) {
	for _, k := range brokerKinds() {
		b.Run(k.name, func(b *testing.B) {
			br := k.start(b)
			responder := rawClient(b, br.url, "raw-responder")
			if tok := responder.Subscribe("raw/req", 1, func(c paho.Client, m paho.Message) {
				c.Publish("raw/res", 1, false, m.Payload()) // no wait in a handler
			}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				b.Fatalf("subscribe: %v", tok.Error())
			}
			replies := make(chan []byte, 16)
			requester := rawClient(b, br.url, "raw-requester")
			if tok := requester.Subscribe("raw/res", 1, func(_ paho.Client, m paho.Message) {
				replies <- m.Payload()
			}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				b.Fatalf("subscribe: %v", tok.Error())
			}
			id := time.Now().UnixMilli() * 1000
			timer := time.NewTimer(time.Hour)
			for b.Loop() {
				id++
				tok := requester.Publish("raw/req", 1, false, fmt.Appendf(nil, `{"id":%d,"action":"ping"}`, id))
				if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					b.Fatalf("publish: %v", tok.Error())
				}
				timer.Reset(5 * time.Second)
				select {
				case <-replies:
				case <-timer.C:
					b.Fatal("no reply")
				}
			}
		})
	}
}

// BenchmarkHundredDevices is many callers spread over 100 rovers on one
// mosquitto broker, through one bus.
func BenchmarkHundredDevices(b *testing.B) {
	b.Run("mosquitto", func(b *testing.B) {
		br := startMosquitto(b)
		names := make([]string, 100)
		for i := range names {
			names[i] = fmt.Sprintf("r%03d", i)
			serveRover(b, br.url, firmware.Options{Name: names[i]}, firmware.MQTTOptions{})
		}
		hub := devices.NewHub(devices.HubOptions{})
		bus := connectBus(b, br.url, hub, mqtt.Options{})
		waitDevices(b, bus, names...)
		ctx := context.Background()
		b.Run("parallel", func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(32) // 32 callers per core: the calls wait on the network, not the CPU
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					name := names[next.Add(1)%int64(len(names))]
					if _, err := hub.Call(ctx, name, "ping", nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	})
}

// BenchmarkGantryEchoDevice is BenchmarkGantryRoundTrip against a minimal
// device (a bare paho client answering every request with a canned
// reply), to tell the gateway's overhead from the firmware's.
func BenchmarkGantryEchoDevice(b *testing.B) {
	for _, k := range brokerKinds() {
		b.Run(k.name, func(b *testing.B) {
			br := k.start(b)
			dev := rawClient(b, br.url, "echo-device")
			if tok := dev.Subscribe("gantry/echo/req", 1, func(c paho.Client, m paho.Message) {
				c.Publish("gantry/echo/res", 1, false, fmt.Appendf(nil, `{"id":%s,"ok":true,"result":{"ts":0}}`, idOf(m.Payload())))
			}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				b.Fatalf("subscribe: %v", tok.Error())
			}
			publish(b, dev, "gantry/echo/desc", 1, true, describe(b, "echo"))
			publish(b, dev, "gantry/echo/status", 1, true, []byte(`{"state":"online"}`))
			hub := devices.NewHub(devices.HubOptions{})
			bus := connectBus(b, br.url, hub, mqtt.Options{})
			waitDevices(b, bus, "echo")
			ctx := context.Background()
			for b.Loop() {
				if _, err := hub.Call(ctx, "echo", "ping", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// idOf returns the digits of a request's id: {"id":123,...}.
func idOf(req []byte) []byte {
	const key = `"id":`
	i := bytes.Index(req, []byte(key))
	if i < 0 {
		return []byte("null")
	}
	j := i + len(key)
	k := j
	for k < len(req) && req[k] >= '0' && req[k] <= '9' {
		k++
	}
	return req[j:k]
}

// BenchmarkCoreLoopback is the gateway core alone (hub, guard, device, the
// JSON both ways) on a link that answers at once, no network: the floor
// under every transport's round trip.
func BenchmarkCoreLoopback(b *testing.B) {
	hub := devices.NewHub(devices.HubOptions{})
	d := hub.NewDevice("loop", devices.Options{})
	var desc devices.Description
	if err := json.Unmarshal(describe(b, "loop"), &desc); err != nil {
		b.Fatal(err)
	}
	if err := d.SetDescription(&desc); err != nil {
		b.Fatal(err)
	}
	d.Attach(loopLink{d})
	d.SetState(devices.Online, nil)
	if err := hub.Add(d); err != nil {
		b.Fatal(err)
	}
	defer hub.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := hub.Call(ctx, "loop", "ping", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// loopLink answers every request at once with a canned reply.
type loopLink struct{ d *devices.Device }

func (l loopLink) Send(_ context.Context, msg []byte) error {
	reply := append([]byte(`{"id":`), idOf(msg)...)
	l.d.Receive(append(reply, `,"ok":true,"result":{"ts":0}}`...))
	return nil
}

func (loopLink) Close() error { return nil }
