package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gantry-dev/gantry/agent"
	dmqtt "github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/task/rovertask"
	"github.com/gantry-dev/gantry/tool"
)

// roverFlags are run's flags for --env rover.
type roverFlags struct {
	dev    deviceFlags
	device string
	speed  float64
}

func (r *roverFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&r.dev.broker, "broker", "", "--env rover: MQTT broker URL (env GANTRY_BROKER; default: an embedded broker with a simulated rover)")
	fl.StringVar(&r.device, "device", "rover", "--env rover: the rover's device name")
	fl.Float64Var(&r.speed, "sim-speed", 4, "--env rover: clock speed-up of the simulated rover")
	fl.StringVar(&r.dev.policy, "device-policy", "", "--env rover: YAML policy file for the guard")
	fl.StringVar(&r.dev.audit, "audit", "", "--env rover: append an audit record of every device action to this JSONL file")
	fl.BoolVar(&r.dev.dryRun, "dry-run", false, "--env rover: answer device actions that are not safe without sending them")
	r.dev.prefix = "gantry"
	r.dev.discover = 10 * time.Second
	r.dev.timeout = 2 * time.Second
}

// simulation is an embedded broker with simulated rovers on it.
type simulation struct {
	broker *dmqtt.Broker
	cancel context.CancelFunc
	wg     sync.WaitGroup
	rovers []*firmware.Rover
}

// startSimulation starts an embedded broker on listen and serves a
// simulated rover for each name on it. The rovers stop when ctx ends (each
// leaves an offline status on the broker); the broker stops at Close.
func startSimulation(ctx context.Context, listen string, speed float64, log *slog.Logger, names ...string) (*simulation, error) {
	return startSimulationAt(ctx, listen, speed, log, nil, names...)
}

// startSimulationAt is startSimulation with the rovers' start pose (nil:
// the world's default).
func startSimulationAt(ctx context.Context, listen string, speed float64, log *slog.Logger, start *firmware.Pose, names ...string) (*simulation, error) {
	// The broker outlives ctx until Close: the rovers, which stop with
	// ctx, say goodbye (a retained offline status) through it, and neither
	// they nor a gateway on it see the broker vanish first.
	b, err := dmqtt.StartBroker(context.WithoutCancel(ctx), listen, log)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &simulation{broker: b, cancel: cancel}
	for _, name := range names {
		r := firmware.NewRover(firmware.Options{Name: name, Clock: firmware.ScaledClock(speed), Logger: log, Start: start})
		s.rovers = append(s.rovers, r)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := r.ServeMQTT(ctx, b.URL(), firmware.MQTTOptions{}); err != nil {
				log.Error("simulated rover", "device", name, "err", err)
			}
		}()
	}
	return s, nil
}

func (s *simulation) Close() {
	s.cancel()
	s.wg.Wait()
	for _, r := range s.rovers {
		r.Close()
	}
	s.broker.Close()
}

// runRover plays one rover episode and prints it.
func runRover(ctx context.Context, out io.Writer, f *episodeFlags, rf *roverFlags, stream io.Writer, transcript string) error {
	switch f.policy {
	case "expert", "openai":
	default:
		return fmt.Errorf("--env rover plays the expert or openai policy, not %q", f.policy)
	}
	spec, err := f.spec(stream)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dev := rf.dev
	if dev.broker == "" {
		sim, err := startSimulation(ctx, "127.0.0.1:0", rf.speed, log, rf.device)
		if err != nil {
			return err
		}
		defer sim.Close()
		dev.broker = sim.broker.URL()
		fmt.Fprintf(out, "embedded broker %s, simulated rover %q (clock x%g)\n\n", dev.broker, rf.device, rf.speed)
	}
	g, err := dev.connect(ctx, log, waitOnline, rf.device)
	if err != nil {
		return err
	}
	defer g.Close()
	id := "rover-" + time.Now().UTC().Format("20060102T150405")
	ctx = tool.WithSession(ctx, id)
	te, err := rovertask.Start(ctx, g.hub, rovertask.Options{Device: rf.device})
	if err != nil {
		return err
	}
	ep, cleanup, err := agent.NewEpisode(ctx, id, te, spec)
	if err != nil {
		return err
	}
	defer cleanup()
	return playEpisode(ctx, out, ep, f.policy == "openai", transcript, f.identity("rover"))
}

func newBrokerCmd() *cobra.Command {
	var listen string
	var rovers []string
	var speed float64
	cmd := &cobra.Command{
		Use:   "broker [--listen ADDR] [--rover NAME ...]",
		Short: "Run gantry's embedded MQTT broker, optionally with simulated rovers on it",
		Long: `broker runs the embedded MQTT broker (no setup, anonymous clients allowed: keep
it on loopback) until interrupted, and serves a simulated rover for each --rover.

  gantry devices broker --rover rover
  gantry devices --broker tcp://127.0.0.1:1883 list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			sim, err := startSimulation(cmd.Context(), listen, speed, log, rovers...)
			if err != nil {
				return err
			}
			defer sim.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "broker %s; simulated rovers: %v\n", sim.broker.URL(), rovers)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:1883", "address to listen on")
	cmd.Flags().StringSliceVar(&rovers, "rover", nil, "serve a simulated rover of this name (repeatable)")
	cmd.Flags().Float64Var(&speed, "sim-speed", 1, "clock speed-up of the simulated rovers")
	return cmd
}
