package mqtt_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
)

// A gateway on the embedded broker: a simulated rover announces itself,
// the bus adds it to the hub, and a call goes out as a request on
// gantry/rover/req and comes back on gantry/rover/res.
func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	broker, err := mqtt.StartBroker(ctx, "127.0.0.1:0", nil) // port 0: a free one, see URL
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	rover := firmware.NewRover(firmware.Options{Clock: firmware.ScaledClock(20)})
	defer rover.Close()
	rctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- rover.ServeMQTT(rctx, broker.URL(), firmware.MQTTOptions{}) }()
	defer func() { stop(); <-served }()

	hub := devices.NewHub(devices.HubOptions{})
	defer hub.Close()
	bus, err := mqtt.Connect(ctx, hub, mqtt.Options{Broker: broker.URL()})
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	if err := bus.Wait(ctx, "rover"); err != nil {
		log.Fatal(err)
	}
	v, err := hub.Call(ctx, "rover", "get", map[string]any{"name": "battery"})
	fmt.Println(v, err)
	// Output:
	// 100 <nil>
}
