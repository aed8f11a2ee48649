package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gantry-dev/gantry/agent"
)

// Runner runs one job's episode. An error means the episode could not be
// started (its game does not load, its settings are wrong): the job is
// delivered again, and recorded as failed on its last delivery. An episode
// that starts and then fails is a transcript, not an error.
type Runner func(ctx context.Context, j Job) (*agent.Transcript, error)

// WorkerOptions configure Work.
type WorkerOptions struct {
	// Concurrency is how many episodes run at once; default 1.
	Concurrency int
	// Name identifies the worker in the records; default host:pid.
	Name string
	// Done, when set, is called after each job the worker settled.
	Done func(key string, recorded bool)
}

// Work takes jobs from the queue and runs them until ctx ends, then
// returns nil. Jobs in flight when ctx ends are handed back (negative
// acknowledgement) for another worker.
func Work(ctx context.Context, cfg Config, run Runner, opts WorkerOptions) error {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.Name == "" {
		host, _ := os.Hostname()
		opts.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	c, err := open(ctx, cfg, "gantry worker "+opts.Name)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while connecting
		}
		return err
	}
	defer c.close()
	c.cfg.Logger.Info("worker ready", "name", opts.Name, "concurrency", opts.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < opts.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				batch, err := c.cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
				if err != nil {
					c.cfg.Logger.Debug("fetch", "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(250 * time.Millisecond):
					}
					continue
				}
				for msg := range batch.Messages() {
					c.handle(ctx, msg, run, opts)
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// handle runs one delivered job and settles it.
func (c *conn) handle(ctx context.Context, msg jetstream.Msg, run Runner, opts WorkerOptions) {
	log := c.cfg.Logger.With("subject", msg.Subject())
	var j Job
	if err := json.Unmarshal(msg.Data(), &j); err != nil || j.Run == "" {
		log.Error("malformed job: dropped", "err", err)
		_ = msg.Term()
		return
	}
	key := j.Key()
	if key != keyFromSubject(msg.Subject()) {
		log.Error("job does not match its subject: dropped", "key", key)
		_ = msg.Term()
		return
	}
	deliveries := 1
	if md, err := msg.Metadata(); err == nil {
		deliveries = int(md.NumDelivered)
	}
	// Already recorded (a worker died after storing, before acknowledging).
	if _, err := c.kv.Get(ctx, key); err == nil {
		_ = msg.DoubleAck(ctx)
		if opts.Done != nil {
			opts.Done(key, false)
		}
		return
	}

	// Past its last run: every worker given it died (or lost it).
	if deliveries > c.cfg.MaxDeliver {
		tr := failed(j, fmt.Errorf("%w: delivered %d times, no worker finished it", ErrFailed, deliveries-1))
		c.record(ctx, msg, j, key, tr, deliveries, opts)
		return
	}

	// Keep the job ours while it runs: progress every third of the ack wait.
	hb, stopHB := context.WithCancel(ctx)
	var hbDone sync.WaitGroup
	hbDone.Add(1)
	go func() {
		defer hbDone.Done()
		t := time.NewTicker(c.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-hb.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	tr, err := run(ctx, j)
	stopHB()
	hbDone.Wait()

	if ctx.Err() != nil {
		// Stopping: another worker takes the job at once.
		_ = msg.Nak()
		return
	}
	if err != nil {
		if deliveries < c.cfg.MaxDeliver {
			log.Warn("job could not start: delivered again later", "key", key, "delivery", deliveries, "err", err)
			_ = msg.NakWithDelay(time.Duration(deliveries) * 200 * time.Millisecond)
			return
		}
		tr = failed(j, fmt.Errorf("%w after %d deliveries: %w", ErrFailed, deliveries, err))
	}
	c.record(ctx, msg, j, key, tr, deliveries, opts)
}

// record stores the result, then acknowledges the job.
func (c *conn) record(ctx context.Context, msg jetstream.Msg, j Job, key string, tr *agent.Transcript, deliveries int, opts WorkerOptions) {
	log := c.cfg.Logger.With("subject", msg.Subject())
	rec := Record{EpisodeResult: agent.EpisodeResult{Variant: j.Variant, Game: j.Game, Transcript: tr},
		Run: j.Run, Worker: opts.Name, Deliveries: deliveries}
	first, err := c.store(ctx, key, rec)
	if err != nil {
		// Not stored: not acknowledged; the job comes back.
		log.Error("result not stored", "key", key, "err", err)
		_ = msg.Nak()
		return
	}
	if err := msg.DoubleAck(ctx); err != nil && !errors.Is(err, context.Canceled) {
		// Stored already: a redelivery finds the record and skips the episode.
		log.Warn("ack", "key", key, "err", err)
	}
	if opts.Done != nil {
		opts.Done(key, first)
	}
}

// ErrFailed marks the transcripts of jobs recorded as failed: they could
// not be started, or their workers died, MaxDeliver times.
var ErrFailed = errors.New("job failed")
