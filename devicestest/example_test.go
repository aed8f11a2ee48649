package devicestest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devicestest"
	"github.com/gantry-dev/gantry/protocol"
)

// A hub test with a played device: the script is what the device expects
// and answers, in order; Close reports requests the script did not expect
// and requests that never came.
func ExamplePlayback() {
	desc := &protocol.Description{
		Protocol: protocol.Version, Name: "lamp",
		Actions: map[string]protocol.ActionDesc{
			"describe": {Safe: true}, "ping": {Safe: true}, "get": {Safe: true}, "stop": {}, "reset": {},
			"set": {Params: map[string]protocol.Param{"on": {Type: "boolean", Required: true}}},
		},
	}
	pb := &devicestest.Playback{Ops: []devicestest.IO{
		{Action: "set", Args: map[string]any{"on": true}, Result: map[string]any{"on": true}},
	}}
	hub := devices.NewHub(devices.HubOptions{})
	d, err := devicestest.NewDevice(hub, desc, pb)
	if err != nil {
		log.Fatal(err)
	}
	if err := hub.Add(d); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fmt.Println(hub.Call(ctx, "lamp", "set", map[string]any{"on": true}))
	_, err = hub.Call(ctx, "lamp", "set", map[string]any{"on": false})
	fmt.Println(errors.Is(err, devicestest.ErrUnexpected))
	hub.Close()
	fmt.Println(pb.Close())
	// Output:
	// map[on:true] <nil>
	// true
	// devicestest: unexpected request 2: set {on: false} (the script has 1)
}
