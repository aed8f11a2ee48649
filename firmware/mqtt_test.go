package firmware

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/gantry-dev/gantry/internal/testenv"
)

func startBroker(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // port 0: read back below
	if err != nil {
		t.Fatal(err)
	}
	s := mochi.New(&mochi.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := s.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return "tcp://" + addr
}

func TestServeMQTT(t *testing.T) {
	url := startBroker(t)
	r := NewRover(Options{Name: "rv1"})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.ServeMQTT(ctx, url, MQTTOptions{Prefix: "lab"}) }()

	msgs := make(chan mqtt.Message, 100)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("tester").SetOrderMatters(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Subscribe("lab/+/#", 1, func(_ mqtt.Client, m mqtt.Message) { msgs <- m }); !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("subscribe timed out")
	}
	var seen []mqtt.Message // messages not yet matched, in arrival order
	wait := func(topic, contains string) string {
		t.Helper()
		match := func(m mqtt.Message) bool {
			return m.Topic() == topic && strings.Contains(string(m.Payload()), contains)
		}
		for i, m := range seen {
			if match(m) {
				seen = append(seen[:i], seen[i+1:]...)
				return string(m.Payload())
			}
		}
		deadline := time.After(testenv.Patience)
		for {
			select {
			case m := <-msgs:
				if match(m) {
					return string(m.Payload())
				}
				seen = append(seen, m)
			case <-deadline:
				t.Fatalf("no %s message containing %s", topic, contains)
			}
		}
	}
	wait("lab/rv1/desc", `"protocol":"gantry/1"`)
	wait("lab/rv1/status", `"online"`)
	req := `{"id":41,"action":"drive","args":{"speed":0.5,"ms":100}}`
	c.Publish("lab/rv1/req", 1, false, req).WaitTimeout(time.Second)
	first := wait("lab/rv1/res", `"id":41`)
	c.Publish("lab/rv1/req", 1, false, req).WaitTimeout(time.Second) // QoS 1 redelivery
	if again := wait("lab/rv1/res", `"id":41`); again != first {
		t.Errorf("repeated id: %s then %s", first, again)
	}
	if r.Executed() != 1 {
		t.Errorf("executed %d times, want 1", r.Executed())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	wait("lab/rv1/status", `"offline"`)
}

func TestServeMQTTNoBroker(t *testing.T) {
	r := NewRover(Options{})
	defer r.Close()
	err := r.ServeMQTT(context.Background(), "tcp://"+testenv.DeadEnd(t), MQTTOptions{ConnectTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "connect to") {
		t.Errorf("err = %v", err)
	}
}
