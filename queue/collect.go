package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gantry-dev/gantry/agent"
)

// CollectOptions configure Collect.
type CollectOptions struct {
	// Progress is called with the count of recorded episodes and the
	// total, once at the start and after each new record.
	Progress func(done, total int)
	// Published, when set, is called once the missing jobs are queued,
	// with how many were published and how many were already queued.
	Published func(published, queued int)
}

// Collect queues every job that has neither a result nor a queued
// message, and waits until each has a result. It resumes: results already
// in the bucket count, jobs already in the stream are not queued again.
// It returns the records in the order of jobs. Jobs must share one run.
func Collect(ctx context.Context, cfg Config, jobs []Job, opts CollectOptions) ([]Record, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	run := jobs[0].Run
	if err := CheckRun(run); err != nil {
		return nil, err
	}
	want := map[string]int{}
	for i, j := range jobs {
		if j.Run != run {
			return nil, fmt.Errorf("queue: collect: jobs of two runs (%s, %s)", run, j.Run)
		}
		if _, dup := want[j.Key()]; dup {
			return nil, fmt.Errorf("queue: collect: episode %s/%s twice", j.Variant, j.Game)
		}
		want[j.Key()] = i
	}
	c, err := open(ctx, cfg, "gantry eval "+run)
	if err != nil {
		return nil, err
	}
	defer c.close()

	// A job the server gave up on (its last delivery, which a worker
	// records as failed, was lost too): record it as failed here.
	advisories := make(chan *nats.Msg, 64)
	sub, err := c.nc.ChanSubscribe(fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.%s.%s", c.cfg.Stream, c.cfg.Consumer), advisories)
	if err != nil {
		return nil, fmt.Errorf("queue: subscribe to advisories: %w", err)
	}
	defer sub.Unsubscribe()

	// What is queued, before what is recorded: a job acknowledged in
	// between was recorded before its acknowledgement, so it shows in the
	// records; the other way round it would show in neither, and be
	// queued again.
	var info *jetstream.StreamInfo
	err = retry(ctx, func(ctx context.Context) error {
		var err error
		info, err = c.stream.Info(ctx, jetstream.WithSubjectFilter(subjectPrefix+run+".>"))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: stream info: %w", err)
	}
	w, err := c.kv.Watch(ctx, run+".>")
	if err != nil {
		return nil, fmt.Errorf("queue: watch results: %w", err)
	}
	defer w.Stop()
	recs := make([]*Record, len(jobs))
	n := 0
	add := func(e jetstream.KeyValueEntry) error {
		i, ok := want[e.Key()]
		if !ok || recs[i] != nil {
			return nil
		}
		var r Record
		if err := json.Unmarshal(e.Value(), &r); err != nil || r.Transcript == nil {
			return fmt.Errorf("queue: result %s: malformed record: %v", e.Key(), err)
		}
		recs[i] = &r
		n++
		if opts.Progress != nil {
			opts.Progress(n, len(jobs))
		}
		return nil
	}
	// The results already stored, up to the watcher's nil marker.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if err := add(e); err != nil {
			return nil, err
		}
	}
	if opts.Progress != nil {
		opts.Progress(n, len(jobs))
	}
	published, queued, err := c.publishMissing(ctx, info, jobs, recs)
	if err != nil {
		return nil, err
	}
	if opts.Published != nil {
		opts.Published(published, queued)
	}
	for n < len(jobs) {
		select {
		case <-ctx.Done():
			return done(recs), context.Cause(ctx)
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return done(recs), context.Cause(ctx)
				}
				return done(recs), errors.New("queue: the results watcher stopped")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			if err := add(e); err != nil {
				return done(recs), err
			}
		case m := <-advisories:
			c.giveUp(ctx, m, want, run)
		}
	}
	return done(recs), nil
}

// publishMissing queues the jobs that have no record and no message in
// the stream. The message id makes a quick second publish a no-op.
func (c *conn) publishMissing(ctx context.Context, info *jetstream.StreamInfo, jobs []Job, recs []*Record) (published, queued int, err error) {
	for i, j := range jobs {
		if recs[i] != nil {
			continue
		}
		if info.State.Subjects[subject(j)] > 0 {
			queued++
			continue
		}
		data, err := json.Marshal(j)
		if err != nil {
			return published, queued, err
		}
		err = retry(ctx, func(ctx context.Context) error {
			_, err := c.js.Publish(ctx, subject(j), data, jetstream.WithMsgID(j.Key()))
			return err
		})
		if err != nil {
			return published, queued, fmt.Errorf("queue: publish %s: %w", j.Key(), err)
		}
		published++
	}
	return published, queued, nil
}

// giveUp records as failed the job of a max-deliveries advisory and
// removes it from the stream.
func (c *conn) giveUp(ctx context.Context, m *nats.Msg, want map[string]int, run string) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries int    `json:"deliveries"`
	}
	if err := json.Unmarshal(m.Data, &adv); err != nil || adv.StreamSeq == 0 {
		return
	}
	raw, err := c.stream.GetMsg(ctx, adv.StreamSeq)
	if err != nil {
		return // settled meanwhile (the last worker recorded it)
	}
	key := keyFromSubject(raw.Subject)
	if _, ok := want[key]; !ok || !strings.HasPrefix(key, run+".") {
		return // another run's job: its collector records it
	}
	var j Job
	if err := json.Unmarshal(raw.Data, &j); err != nil {
		return
	}
	rec := Record{EpisodeResult: agent.EpisodeResult{Variant: j.Variant, Game: j.Game,
		Transcript: failed(j, fmt.Errorf("%w: delivered %d times, no worker finished it", ErrFailed, adv.Deliveries-1))},
		Run: run, Deliveries: adv.Deliveries}
	if _, err := c.store(ctx, key, rec); err != nil {
		c.cfg.Logger.Error("record failed job", "key", key, "err", err)
		return
	}
	_ = c.stream.DeleteMsg(ctx, adv.StreamSeq)
}

func done(recs []*Record) []Record {
	var out []Record
	for _, r := range recs {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// Results turns records into the episode results agent.NewReport takes.
func Results(recs []Record) []agent.EpisodeResult {
	out := make([]agent.EpisodeResult, len(recs))
	for i, r := range recs {
		out[i] = r.EpisodeResult
	}
	return out
}
