//go:build !edge

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/gantry-dev/gantry/server"
)

// serveDeviceFlags say how serve and mcp reach devices: the flags of
// gantry devices (some renamed where serve has a flag of the same name),
// simulated rovers, and the devices of MCP sessions.
type serveDeviceFlags struct {
	dev        deviceFlags
	simRovers  []string
	simSpeed   float64
	mcpDevices []string
}

func (f *serveDeviceFlags) register(fs *pflag.FlagSet) {
	d := &f.dev
	fs.StringVar(&d.broker, "broker", os.Getenv("GANTRY_BROKER"), "devices: MQTT broker URL, tcp://host:1883 or ssl://host:8883 (env GANTRY_BROKER)")
	fs.StringSliceVar(&d.ports, "port", nil, "devices: serial port path of a device (repeatable)")
	fs.IntVar(&d.baud, "baud", 115200, "devices: baud rate of --port")
	fs.StringVar(&d.prefix, "mqtt-prefix", "gantry", "devices: MQTT topic prefix")
	fs.StringVar(&d.username, "mqtt-username", os.Getenv("GANTRY_MQTT_USERNAME"), "devices: MQTT username (env GANTRY_MQTT_USERNAME)")
	fs.StringVar(&d.password, "mqtt-password", os.Getenv("GANTRY_MQTT_PASSWORD"), "devices: MQTT password (env GANTRY_MQTT_PASSWORD)")
	fs.StringVar(&d.caFile, "mqtt-ca", "", "devices: PEM file of the CA that signed the broker's certificate")
	fs.StringVar(&d.certFile, "mqtt-cert", "", "devices: PEM client certificate for the broker")
	fs.StringVar(&d.keyFile, "mqtt-key", "", "devices: PEM key of --mqtt-cert")
	fs.DurationVar(&d.discover, "discover", 2*time.Second, "devices: how long to wait for devices to announce themselves at start")
	fs.DurationVar(&d.timeout, "device-timeout", 2*time.Second, "devices: reply timeout beyond an action's stated duration")
	fs.StringVar(&d.policy, "policy", "", "devices: YAML policy file for the guard (default: everything allowed, 20 actions/s)")
	fs.StringVar(&d.audit, "audit", "", "devices: append an audit record of every device action to this JSONL file (overrides the policy's)")
	fs.BoolVar(&d.dryRun, "dry-run", false, "devices: answer actions that are not safe without sending them")
	fs.StringSliceVar(&f.simRovers, "sim-rover", nil, "devices: start an embedded broker with a simulated rover of this name (repeatable; instead of --broker)")
	fs.Float64Var(&f.simSpeed, "sim-speed", 1, "devices: clock speed-up of --sim-rover")
	fs.StringSliceVar(&f.mcpDevices, "mcp-devices", []string{"*"}, "devices of MCP sessions when the server has devices (names; * for all)")
}

// enabled reports whether the flags name any device.
func (f *serveDeviceFlags) enabled() bool {
	return f.dev.broker != "" || len(f.dev.ports) > 0 || len(f.simRovers) > 0
}

// connect reaches the devices the flags name and puts them in cfg; the
// returned function lets go of them. Without device flags it does nothing.
func (f *serveDeviceFlags) connect(ctx context.Context, cfg *server.Config, out io.Writer, mcpGame bool) (func(), error) {
	if !f.enabled() {
		return func() {}, nil
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dev := f.dev
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if len(f.simRovers) > 0 {
		if dev.broker != "" {
			return nil, fmt.Errorf("--sim-rover starts its own broker: give it or --broker, not both")
		}
		sim, err := startSimulation(ctx, "127.0.0.1:0", f.simSpeed, log, f.simRovers...)
		if err != nil {
			return nil, err
		}
		closers = append(closers, sim.Close)
		dev.broker = sim.broker.URL()
		fmt.Fprintf(out, "gantry: embedded broker %s, simulated rovers %v\n", dev.broker, f.simRovers)
	}
	g, err := dev.connect(ctx, log, waitOnline, f.simRovers...)
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, g.Close)
	cfg.Devices = g.hub
	cfg.MCP.Devices = f.mcpDevices
	if !mcpGame {
		cfg.MCP.Env.Kind = "" // MCP sessions drive the devices, with no ALFWorld game
	}
	log.Info("devices", "found", deviceNames(g.hub), "policy", dev.policy)
	return closeAll, nil
}
