package serial_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/serial"
)

// A device on a serial port: Open describes it and adds it to the hub;
// when the port goes away, calls in flight fail with devices.ErrLost and
// the port is reopened until the same device answers again. (Compiled,
// not run: it needs the hardware.)
func ExampleOpen() {
	ctx := context.Background()
	hub := devices.NewHub(devices.HubOptions{})
	defer hub.Close()
	port, err := serial.Open(ctx, hub, "/dev/ttyUSB0", serial.Options{Baud: 115200, Timeout: 2 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer port.Close()
	d := port.Device()
	fmt.Println(d.Name(), "on", port.Path())
	v, err := hub.Call(ctx, d.Name(), "distance", nil)
	fmt.Println(v, err)
}
