package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/rovertask"
	"github.com/gantry-dev/gantry/tool"
)

// defaultRoverEpisodes is the number of rover episodes of an evaluation
// without --generate.
const defaultRoverEpisodes = 10

// roverJobs are the episodes of a rover evaluation. Without --broker every
// episode gets its own embedded broker and simulated rover, placed at a
// start drawn from the episode's seed (0.3 to 1.5 m from the left wall,
// facing the crate), so episodes are independent and run in parallel. With
// --broker they share the one rover there, one at a time, each starting
// where the last one left it.
type roverJobs struct {
	jobs   []agent.Job
	shared *gateway
}

func newRoverJobs(ctx context.Context, rf *roverFlags, n int, seed int64) (*roverJobs, error) {
	if n <= 0 {
		n = defaultRoverEpisodes
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rj := &roverJobs{}
	if rf.dev.broker != "" {
		g, err := rf.dev.connect(ctx, log, waitOnline, rf.device)
		if err != nil {
			return nil, err
		}
		rj.shared = g
	}
	for i := range n {
		s := seed + int64(i)
		id := fmt.Sprintf("rover/%d", s)
		rj.jobs = append(rj.jobs, agent.Job{ID: id, Start: func(ctx context.Context) (task.Episode, error) {
			ctx = tool.WithSession(ctx, id)
			if rj.shared != nil {
				return rovertask.Start(ctx, rj.shared.hub, rovertask.Options{Device: rf.device})
			}
			return startSimulatedRover(ctx, rf, s, log)
		}})
	}
	return rj, nil
}

// workers is the number of parallel episodes: one on a shared rover.
func (rj *roverJobs) workers(asked int) int {
	if rj.shared != nil {
		return 1
	}
	return asked
}

// Close closes the shared gateway, if any.
func (rj *roverJobs) Close() {
	if rj.shared != nil {
		rj.shared.Close()
	}
}

// startSimulatedRover starts an embedded broker with a simulated rover at
// the start seed draws, connects a gateway to it and starts a rover
// episode; closing the episode stops them.
func startSimulatedRover(ctx context.Context, rf *roverFlags, seed int64, log *slog.Logger) (task.Episode, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x726f766572))
	start := firmware.Pose{X: 0.3 + 1.2*rng.Float64(), Y: 1.5}
	sim, err := startSimulationAt(ctx, "127.0.0.1:0", rf.speed, log, &start, rf.device)
	if err != nil {
		return nil, err
	}
	dev := rf.dev
	dev.broker = sim.broker.URL()
	g, err := dev.connect(ctx, log, waitOnline, rf.device)
	if err != nil {
		sim.Close()
		return nil, err
	}
	te, err := rovertask.Start(ctx, g.hub, rovertask.Options{Device: rf.device})
	if err != nil {
		g.Close()
		sim.Close()
		return nil, err
	}
	return &closing{Episode: te, close: func() error { g.Close(); sim.Close(); return nil }}, nil
}

// closing is a task episode that releases more when closed.
type closing struct {
	task.Episode
	close func() error
}

func (c *closing) Close() error { return errors.Join(c.Episode.Close(), c.close()) }
