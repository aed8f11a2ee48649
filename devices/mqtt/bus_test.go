package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/tool"
)

func TestDiscovery(t *testing.T) {
	for _, k := range brokerKinds() {
		for _, prefix := range []string{"", "lab/floor1"} {
			t.Run(fmt.Sprintf("%s/prefix=%q", k.name, prefix), func(t *testing.T) {
				br := k.start(t)
				r := serveRover(t, br.url, firmware.Options{Clock: firmware.ScaledClock(20)}, firmware.MQTTOptions{Prefix: prefix})
				hub := devices.NewHub(devices.HubOptions{})
				bus := connectBus(t, br.url, hub, mqtt.Options{Prefix: prefix})
				waitDevices(t, bus, "rover")

				d, _ := hub.Device("rover")
				got, _ := json.Marshal(d.Description())
				want, _ := json.Marshal(r.Description())
				if string(got) != string(want) {
					t.Errorf("description\n got %s\nwant %s", got, want)
				}
				if st, err := d.State(); st != devices.Online {
					t.Errorf("state %v (%v), want online", st, err)
				}

				ctx, cancel := context.WithTimeout(context.Background(), patience)
				defer cancel()
				reg := tool.NewRegistry()
				if err := devices.RegisterTools(reg, hub); err != nil {
					t.Fatal(err)
				}
				if _, ok := reg.Lookup("rover.drive"); !ok {
					t.Fatal("no tool rover.drive")
				}
				v, err := reg.Call(ctx, "rover.drive", nil, map[string]any{"speed": 0.5, "ms": int64(400)})
				if err != nil {
					t.Fatal(err)
				}
				m, _ := v.(map[string]any)
				if moved, _ := m["moved"].(float64); moved < 0.15 || moved > 0.25 {
					t.Errorf("drive result %v: moved should be about 0.2 m", v)
				}
				if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
					t.Fatal(err)
				}

				events := make(chan devices.Event, 64)
				unsub := d.Subscribe(func(e devices.Event) {
					select {
					case events <- e:
					default:
					}
				})
				defer unsub()
				if _, err := hub.Call(ctx, "rover", "telemetry", map[string]any{"hz": 20.0}); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 3; i++ {
					select {
					case e := <-events:
						data, _ := e.Data.(map[string]any)
						if e.Event != "telemetry" || data["pose"] == nil {
							t.Errorf("event %+v", e)
						}
					case <-time.After(patience):
						t.Fatalf("%d telemetry events, want 3", i)
					}
				}
				if _, err := hub.Call(ctx, "rover", "telemetry", map[string]any{"hz": 0.0}); err != nil {
					t.Fatal(err)
				}
				if s := d.Stats(); s.Requests != 4 || s.Replies != 4 || s.Garbage != 0 || s.Events < 3 {
					t.Errorf("stats %+v", s)
				}
			})
		}
	}
}

// A long drive is in flight when the broker dies and comes back: the rover
// executes it once, the call ends with its result or a clear error, and the
// bus and the rover reconnect by themselves.
func TestBrokerRestart(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			r := serveRover(t, br.url, firmware.Options{}, firmware.MQTTOptions{}) // real time
			hub := devices.NewHub(devices.HubOptions{})
			// The timeout bounds the drive across the restart (its outcome
			// may be the result, ErrTimeout or ErrLost) and backs the ping
			// after it: generous, the machine may be busy.
			bus := connectBus(t, br.url, hub, mqtt.Options{Timeout: 20 * time.Second})
			waitDevices(t, bus, "rover")
			d, _ := hub.Device("rover")

			before := r.Executed()
			type result struct {
				v   any
				err error
			}
			done := make(chan result, 1)
			go func() {
				v, err := hub.Call(context.Background(), "rover", "drive", map[string]any{"speed": 0.2, "ms": int64(1500)})
				done <- result{v, err}
			}()
			eventually(t, "the rover never started the drive", func() bool { return r.Executed() == before+1 })
			br.kill()
			eventually(t, "the device never became unreachable", func() bool { return state(d) != devices.Online })
			br.start()

			var res result
			select {
			case res = <-done:
			case <-time.After(patience):
				t.Fatal("the call never ended")
			}
			switch {
			case res.err == nil:
				t.Logf("the drive completed across the restart: %v", res.v)
			case errors.Is(res.err, devices.ErrTimeout) || errors.Is(res.err, devices.ErrLost):
				t.Logf("the drive failed with a clear error: %v", res.err)
			default:
				t.Errorf("the drive failed with an unclear error: %v", res.err)
			}

			waitDevices(t, bus, "rover")
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
				t.Fatalf("a call after the restart: %v", err)
			}
			if n := r.Executed() - before; n != 2 {
				t.Errorf("the rover executed %d requests (drive + ping), want 2: the drive ran more than once", n)
			}
		})
	}
}

// The device's process dies mid-command: its last will fails the call with
// ErrLost long before the call's timeout.
func TestDeviceKilled(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			child := startChild(t, br.url, "kid")
			hub := devices.NewHub(devices.HubOptions{})
			// A timeout far beyond the test's patience: the last will, not
			// the timeout, must end the call, however busy the machine.
			bus := connectBus(t, br.url, hub, mqtt.Options{Timeout: 2 * patience})
			waitDevices(t, bus, "kid")
			d, _ := hub.Device("kid")
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			if _, err := hub.Call(ctx, "kid", "ping", nil); err != nil {
				t.Fatal(err)
			}

			// A raw subscriber sees the drive request when the broker routes
			// it, to the rover too; a ping answered after that was queued
			// behind the drive on the rover's connection: then the drive has
			// reached the rover.
			seen := make(chan struct{})
			var seenOnce sync.Once
			watcher := rawClient(t, br.url, "watcher")
			if tok := watcher.Subscribe("gantry/kid/req", 1, func(_ paho.Client, m paho.Message) {
				if strings.Contains(string(m.Payload()), `"drive"`) {
					seenOnce.Do(func() { close(seen) })
				}
			}); !tok.WaitTimeout(patience) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			done := make(chan error, 1)
			go func() {
				_, err := hub.Call(ctx, "kid", "drive", map[string]any{"speed": 0.2, "ms": int64(3000)})
				done <- err
			}()
			select {
			case <-seen:
			case <-ctx.Done():
				t.Fatal("the drive was never sent")
			}
			if _, err := hub.Call(ctx, "kid", "ping", nil); err != nil {
				t.Fatalf("a ping during the drive: %v", err)
			}
			killed := time.Now()
			if err := child.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-ctx.Done():
				t.Fatal("the call never ended")
			}
			took := time.Since(killed)
			// ErrLost, not ErrTimeout: the device's last will ended the call
			// long before its timeout could.
			if !errors.Is(err, devices.ErrLost) {
				t.Fatalf("err = %v, want ErrLost", err)
			}
			t.Logf("failed %v after the kill: %v", took.Round(time.Millisecond), err)
			if st, why := d.State(); st != devices.Offline {
				t.Errorf("state %v (%v), want offline", st, why)
			}
			// ErrOffline, not ErrTimeout: nothing was sent, nothing waited for.
			_, err = hub.Call(ctx, "kid", "ping", nil)
			if !errors.Is(err, devices.ErrOffline) {
				t.Errorf("a call to the dead device: %v, want ErrOffline", err)
			}
		})
	}
}

// A device that announces itself but never answers: calls time out.
func TestSilentDevice(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			raw := rawClient(t, br.url, "mute-device")
			publish(t, raw, "gantry/mute/desc", 1, true, describe(t, "mute"))
			publish(t, raw, "gantry/mute/status", 1, true, []byte(`{"state":"online"}`))
			hub := devices.NewHub(devices.HubOptions{})
			const timeout = 300 * time.Millisecond
			bus := connectBus(t, br.url, hub, mqtt.Options{Timeout: timeout})
			waitDevices(t, bus, "mute")

			start := time.Now()
			_, err := hub.Call(context.Background(), "mute", "ping", nil)
			took := time.Since(start)
			if !errors.Is(err, devices.ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if took < timeout {
				t.Errorf("timed out after %v, before the timeout of %v", took, timeout)
			}
		})
	}
}

// Garbage on a device's reply and event topics is counted and dropped.
func TestGarbage(t *testing.T) {
	huge := `{"id":1,"ok":true,"result":"` + strings.Repeat("x", 2*protocol.MaxLine) + `"}`
	cases := []struct {
		topic, payload string
		garbage, stale int64
	}{
		{"res", "not json", 1, 0},
		{"res", `[1,2,3]`, 1, 0},
		{"res", `{}`, 1, 0}, // neither a reply nor an event
		{"res", `{"id":12345,"ok":true,"result":1}`, 0, 1},
		{"res", `{"id":null,"ok":false,"error":{"code":"bad_request","message":"?"}}`, 0, 1},
		{"res", `{"id":"7","ok":true}`, 1, 0},
		{"res", huge, 1, 0}, // valid JSON, but over the protocol's limit
		{"res", "", 1, 0},
		{"evt", "{bad", 1, 0},
		{"evt", huge, 1, 0},
		{"evt", "\x00\xff", 1, 0},
	}
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			serveRover(t, br.url, firmware.Options{Clock: firmware.ScaledClock(20)}, firmware.MQTTOptions{})
			hub := devices.NewHub(devices.HubOptions{})
			bus := connectBus(t, br.url, hub, mqtt.Options{})
			waitDevices(t, bus, "rover")
			d, _ := hub.Device("rover")
			raw := rawClient(t, br.url, "vandal")
			var garbage, stale int64
			for _, c := range cases {
				publish(t, raw, "gantry/rover/"+c.topic, 1, false, []byte(c.payload))
				garbage += c.garbage
				stale += c.stale
			}
			publish(t, raw, "gantry/rover/status", 1, false, []byte(`{"state":"asleep"}`)) // ignored
			publish(t, raw, "gantry/rover/status", 1, false, []byte(`nonsense`))           // ignored
			eventually(t, "garbage not counted", func() bool {
				s := d.Stats()
				return s.Garbage == garbage && s.Stale == stale
			})
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
				t.Fatalf("a call after the garbage: %v", err)
			}
			if s := d.Stats(); s.Garbage != garbage || s.Stale != stale || s.Replies != 1 {
				t.Errorf("stats %+v, want garbage %d, stale %d, replies 1", s, garbage, stale)
			}
		})
	}
}

// A flood of events on a device's topic does not starve its calls nor an
// emergency stop: events travel on the bus's event connection, calls on
// its command connection.
func TestEventFlood(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs after every other cleanup
			br := k.start(t)
			serveRover(t, br.url, firmware.Options{Clock: firmware.ScaledClock(20)}, firmware.MQTTOptions{})
			hub := devices.NewHub(devices.HubOptions{})
			// The timeout is a backstop, not the property: the property is
			// that commands (on their own connection) get through while the
			// flood goes on, so the flood lasts until the calls are done
			// and a starved call would wait out the minute and fail.
			bus := connectBus(t, br.url, hub, mqtt.Options{Timeout: patience})
			waitDevices(t, bus, "rover")
			d, _ := hub.Device("rover")
			var got atomic.Int64
			end := make(chan struct{})
			var endOnce sync.Once
			defer d.Subscribe(func(e devices.Event) {
				switch e.Event {
				case "flood":
					got.Add(1)
				case "flood_end":
					endOnce.Do(func() { close(end) })
				}
			})()

			// At least n events, and on until the calls are done.
			const n = 20000
			raw := rawClient(t, br.url, "flooder")
			var published atomic.Int64
			flooding := make(chan struct{})
			calmDown := make(chan struct{})
			flooded := make(chan struct{})
			go func() {
				defer close(flooded)
				for i := 0; ; i++ {
					if i >= n {
						select {
						case <-calmDown:
							return
						default:
						}
					}
					raw.Publish("gantry/rover/evt", 0, false, fmt.Sprintf(`{"event":"flood","ts":%d,"data":{"i":%d}}`, i, i))
					published.Add(1)
					if i == n/10 {
						close(flooding)
					}
				}
			}()
			<-flooding
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			// First the emergency stop, while the flood is at its height,
			// then calls (ping is safe: it runs during the stop).
			before := published.Load()
			start := time.Now()
			for _, r := range hub.EStop(ctx, "during the flood") {
				if r.Err != nil {
					close(calmDown)
					t.Fatalf("emergency stop during the flood: %s: %v", r.Device, r.Err)
				}
			}
			estop := time.Since(start)
			var slowest time.Duration
			for i := 0; i < 30; i++ {
				start := time.Now()
				if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
					close(calmDown)
					t.Fatalf("call %d during the flood: %v", i, err)
				}
				slowest = max(slowest, time.Since(start))
			}
			during := published.Load() - before
			close(calmDown)
			<-flooded
			// Events are best effort (QoS 0): the end marker goes at QoS 1
			// after the flood on the same connection, so once it is here
			// the broker has passed on what it kept of the flood.
			publish(t, raw, "gantry/rover/evt", 1, false, []byte(`{"event":"flood_end","ts":0,"data":null}`))
			select {
			case <-end:
			case <-ctx.Done():
				t.Fatal("the end of the flood never arrived")
			}
			t.Logf("%d of %d events delivered, %d published during the stop and the calls; slowest call during the flood %v, emergency stop %v",
				got.Load(), published.Load(), during, slowest, estop)
			if got.Load() == 0 {
				t.Error("no event delivered")
			}
			if _, err := hub.Call(ctx, "rover", "ping", nil); err != nil {
				t.Fatalf("a call after the flood: %v", err)
			}
		})
	}
}

// Invalid descriptions add no device and do not replace a valid one.
func TestInvalidDescription(t *testing.T) {
	valid := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(describe(t, name), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	encode := func(m map[string]any) string {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wrongProtocol := valid("bad2")
	wrongProtocol["protocol"] = "gantry/9"
	tooLong := valid("bad4")
	tooLong["description"] = strings.Repeat("long ", protocol.MaxLine/5)
	noPing := valid("bad5")
	delete(noPing["actions"].(map[string]any), "ping")
	badName := valid("bad6")
	badName["name"] = "bad 6"
	cases := []struct{ device, payload string }{
		{"bad1", "not json"},
		{"bad2", encode(wrongProtocol)},
		{"bad3", string(describe(t, "other"))}, // names another device
		{"bad4", encode(tooLong)},
		{"bad5", encode(noPing)},
		{"bad6", encode(badName)},
		{"bad7", `{"protocol":"gantry/1","name":"bad7","actions":null}`},
		{"bad8", `null`},
	}
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			raw := rawClient(t, br.url, "liar")
			for _, c := range cases {
				publish(t, raw, "gantry/"+c.device+"/desc", 1, true, []byte(c.payload))
				publish(t, raw, "gantry/"+c.device+"/status", 1, true, []byte(`{"state":"online"}`))
			}
			publish(t, raw, "gantry/good/desc", 1, true, describe(t, "good"))
			publish(t, raw, "gantry/good/status", 1, true, []byte(`{"state":"online"}`))
			hub := devices.NewHub(devices.HubOptions{})
			logs, logger := newLogWatch()
			bus := connectBus(t, br.url, hub, mqtt.Options{Logger: logger})
			waitDevices(t, bus, "good")
			logs.Wait(t, "ignoring", len(cases)) // each invalid one is logged once
			names := func() []string {
				var out []string
				for _, d := range hub.Devices() {
					out = append(out, d.Name())
				}
				return out
			}
			if got := names(); len(got) != 1 || got[0] != "good" {
				t.Errorf("devices %v, want [good]", got)
			}
			// An invalid update leaves the device as it was.
			publish(t, raw, "gantry/good/desc", 1, false, []byte(encode(wrongProtocol)))
			publish(t, raw, "gantry/good/desc", 1, false, []byte("{"))
			logs.Wait(t, "ignoring", len(cases)+2)
			d, _ := hub.Device("good")
			if desc := d.Description(); desc.Protocol != protocol.Version || desc.Name != "good" {
				t.Errorf("description replaced by an invalid one: %+v", desc)
			}
			if st := state(d); st != devices.Online {
				t.Errorf("state %v, want online", st)
			}
		})
	}
}

// The status topic drives the device's state, whatever the order of the
// retained desc and status; a cleared status removes the device.
func TestStatusLifecycle(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			hub := devices.NewHub(devices.HubOptions{})
			bus := connectBus(t, br.url, hub, mqtt.Options{Timeout: 300 * time.Millisecond})
			raw := rawClient(t, br.url, "puppet")
			publish(t, raw, "gantry/fake/status", 1, true, []byte(`{"state":"online"}`)) // status before desc
			publish(t, raw, "gantry/fake/desc", 1, true, describe(t, "fake"))
			waitDevices(t, bus, "fake")
			d, _ := hub.Device("fake")

			publish(t, raw, "gantry/fake/status", 1, true, []byte(`{"state":"offline"}`))
			eventually(t, "not offline", func() bool { return state(d) == devices.Offline })
			if _, err := hub.Call(context.Background(), "fake", "ping", nil); !errors.Is(err, devices.ErrOffline) {
				t.Errorf("call to an offline device: %v, want ErrOffline", err)
			}
			publish(t, raw, "gantry/fake/status", 1, true, []byte(`{"state":"online","since":12}`))
			eventually(t, "not online again", func() bool { return state(d) == devices.Online })

			publish(t, raw, "gantry/fake/status", 1, true, nil) // cleared: the device is gone
			eventually(t, "not removed", func() bool { _, ok := hub.Device("fake"); return !ok })
			if st, _ := d.State(); st != devices.Offline {
				t.Errorf("removed device is %v, want offline", st)
			}

			publish(t, raw, "gantry/fake/desc", 1, true, describe(t, "fake")) // back
			publish(t, raw, "gantry/fake/status", 1, true, []byte(`{"state":"online"}`))
			waitDevices(t, bus, "fake")
			publish(t, raw, "gantry/fake/desc", 1, true, nil) // a cleared description removes it too
			eventually(t, "not removed", func() bool { _, ok := hub.Device("fake"); return !ok })
		})
	}
}

func TestClose(t *testing.T) {
	br := startEmbedded(t)
	serveRover(t, br.url, firmware.Options{Clock: firmware.ScaledClock(20)}, firmware.MQTTOptions{})
	hub := devices.NewHub(devices.HubOptions{})
	bus := connectBus(t, br.url, hub, mqtt.Options{})
	waitDevices(t, bus, "rover")
	d, _ := hub.Device("rover")
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := hub.Device("rover"); ok {
		t.Error("the bus's device is still in the hub after Close")
	}
	if _, err := d.Call(context.Background(), "ping", nil); !errors.Is(err, devices.ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
	if err := bus.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	hub := devices.NewHub(devices.HubOptions{})
	nobody := "tcp://" + testenv.DeadEnd(t)
	cases := []struct {
		name string
		hub  *devices.Hub
		opts mqtt.Options
		want string
	}{
		{"nil hub", nil, mqtt.Options{Broker: nobody}, "hub is nil"},
		{"no broker", hub, mqtt.Options{}, "no broker URL"},
		{"bad scheme", hub, mqtt.Options{Broker: "http://127.0.0.1:1883"}, `scheme "http"`},
		{"no host", hub, mqtt.Options{Broker: "tcp://"}, "no host"},
		{"unparsable", hub, mqtt.Options{Broker: "tcp://[::1"}, "broker URL"},
		{"wildcard prefix", hub, mqtt.Options{Broker: nobody, Prefix: "lab/+"}, "wildcards"},
		{"empty level", hub, mqtt.Options{Broker: nobody, Prefix: "lab//x"}, "empty level"},
		{"trailing slash", hub, mqtt.Options{Broker: nobody, Prefix: "lab/"}, "empty level"},
		{"sys prefix", hub, mqtt.Options{Broker: nobody, Prefix: "$SYS"}, "broker's"},
		{"nobody listening", hub, mqtt.Options{Broker: nobody, ConnectTimeout: 3 * time.Second}, "connect to " + nobody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bus, err := mqtt.Connect(context.Background(), c.hub, c.opts)
			if err == nil {
				bus.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestStartBroker(t *testing.T) {
	t.Run("errors", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		for _, c := range []struct{ addr, want string }{
			{"", "no address"},
			{"localhost", "missing port"},
			{busy.Addr().String(), "listen on"},
		} {
			if b, err := mqtt.StartBroker(context.Background(), c.addr, nil); err == nil {
				b.Close()
				t.Errorf("StartBroker(%q): no error", c.addr)
			} else if !strings.Contains(err.Error(), c.want) {
				t.Errorf("StartBroker(%q): %q does not say %q", c.addr, err, c.want)
			}
		}
	})
	t.Run("url", func(t *testing.T) {
		b, err := mqtt.StartBroker(context.Background(), "0.0.0.0:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || strings.HasSuffix(b.URL(), ":0") {
			t.Errorf("URL %q", b.URL())
		}
	})
	t.Run("ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b, err := mqtt.StartBroker(ctx, "127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		// Not by dialling: mochi races with itself (a WaitGroup) when a
		// client connects while it closes.
		eventually(t, "the port is still taken after ctx ended", func() bool {
			l, err := net.Listen("tcp", b.Addr())
			if err == nil {
				l.Close()
			}
			return err == nil
		})
		b.Close() // harmless after ctx closed it
	})
}

// The gateway's own connection to the broker is cut while a request is in
// flight and unanswered: after the reconnection the request is sent again
// with the same id (by the core when the retained status brings the device
// back Online, or by paho if the broker's acknowledgement was cut off), and
// its answer completes the call.
func TestGatewayReconnect(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			br := k.start(t)
			dev := rawClient(t, br.url, "slow-device")
			reqs := make(chan []byte, 16)
			if tok := dev.Subscribe("gantry/slow/req", 1, func(_ paho.Client, m paho.Message) {
				reqs <- m.Payload()
			}); !tok.WaitTimeout(patience) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			publish(t, dev, "gantry/slow/desc", 1, true, describe(t, "slow"))
			publish(t, dev, "gantry/slow/status", 1, true, []byte(`{"state":"online"}`))
			wire := newCutter(t, br.url)
			hub := devices.NewHub(devices.HubOptions{})
			// The call must outlive the cut and the reconnection: a backstop,
			// not a ceiling.
			bus := connectBus(t, wire.url(), hub, mqtt.Options{Timeout: patience})
			waitDevices(t, bus, "slow")
			d, _ := hub.Device("slow")

			type result struct {
				v   any
				err error
			}
			done := make(chan result, 1)
			go func() {
				v, err := hub.Call(context.Background(), "slow", "get", map[string]any{"name": "battery"})
				done <- result{v, err}
			}()
			var first []byte
			select {
			case first = <-reqs:
			case <-time.After(patience):
				t.Fatal("the request never reached the device")
			}

			wire.cut(200 * time.Millisecond)
			var again []byte
			select {
			case again = <-reqs:
			case <-time.After(patience):
				t.Fatalf("the request was not sent again after the reconnection (device %v)", state(d))
			}
			if string(again) != string(first) {
				t.Errorf("resent %s, first sent %s: want the same request, same id", again, first)
			}
			var req protocol.Request
			if err := json.Unmarshal(again, &req); err != nil {
				t.Fatal(err)
			}
			// Answer this copy and any later one, as a device answers a
			// repeated id from its cache: a copy paho resent before the
			// gateway subscribed again gets an answer nobody hears, the
			// copy the gateway resends when the status says online one that
			// it does.
			answer := func(b []byte) {
				var r protocol.Request
				if err := json.Unmarshal(b, &r); err != nil || r.ID != req.ID {
					t.Errorf("another request %s, want copies of %s", b, first)
					return
				}
				dev.Publish("gantry/slow/res", 1, false, fmt.Appendf(nil, `{"id":%d,"ok":true,"result":42.5}`, r.ID))
			}
			answer(again)
			stopAnswering := make(chan struct{})
			answered := make(chan struct{})
			go func() {
				defer close(answered)
				for {
					select {
					case b := <-reqs:
						answer(b)
					case <-stopAnswering:
						return
					}
				}
			}()
			defer func() { close(stopAnswering); <-answered }()
			select {
			case r := <-done:
				if r.err != nil || r.v != 42.5 {
					t.Errorf("call = %v, %v; want 42.5", r.v, r.err)
				}
			case <-time.After(patience):
				t.Fatal("the call never ended")
			}
			// paho may have resent the request itself (its acknowledgement
			// was cut off), ahead of the retained status.
			eventually(t, "the device is not online again", func() bool { return state(d) == devices.Online })
		})
	}
}
