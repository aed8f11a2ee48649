// Package queue spreads an evaluation's episodes over worker processes
// through NATS JetStream (docs/scale-out.md).
//
// The collector (gantry eval --queue) publishes one job per episode to a
// work-queue stream, one subject per episode; workers (gantry worker) pull
// jobs one at a time, run them, store the result in a key-value bucket
// keyed by run and episode, and only then acknowledge the job. A worker
// that dies mid-episode stops extending its ack deadline, so the job is
// delivered again after the ack wait; the result is stored with a create
// that fails when the key exists, so it is recorded once. A job that
// cannot be started on its last allowed delivery, or whose deliveries are
// exhausted by dying workers, is recorded as failed. The collector watches
// the bucket, shows progress, and resumes from what it already holds.
package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gantry-dev/gantry/agent"
)

// Defaults of Config.
const (
	DefaultStream     = "GANTRY_JOBS"
	DefaultBucket     = "GANTRY_RESULTS"
	DefaultConsumer   = "workers"
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 5
	subjectPrefix     = "gantry.jobs."
)

// Config names the NATS objects and sets the delivery rules. The zero
// value with a URL is ready to use.
type Config struct {
	// URL is the NATS server, or several comma-separated (nats://h1:4222,nats://h2:4222).
	URL string
	// Stream, Bucket and Consumer default to GANTRY_JOBS, GANTRY_RESULTS, workers.
	Stream, Bucket, Consumer string
	// Replicas of the stream and bucket; 0: 3 on a cluster, else 1.
	Replicas int
	// AckWait is how long a job may go without a sign of life from its
	// worker before it is delivered again; default 30 s. A worker signals
	// progress every AckWait/3 while an episode runs, however long it takes.
	AckWait time.Duration
	// MaxDeliver is how many times a job is run at most; default 5. A
	// job that cannot start on its last run, or whose workers all died,
	// is recorded as failed: the consumer delivers each job up to
	// MaxDeliver+1 times, and a worker given a job past MaxDeliver
	// records it as failed without running it, so no job is left in the
	// stream undelivered, collector or not.
	MaxDeliver int
	// Options are more connection options (credentials, TLS).
	Options []nats.Option
	// Logger receives connection and delivery events; default none.
	Logger *slog.Logger
}

func (c *Config) fill() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Consumer == "" {
		c.Consumer = DefaultConsumer
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Job is one episode to run: the run it belongs to, the variant and game,
// and the run's settings, which the worker rebuilds the episode from.
type Job struct {
	Run      string          `json:"run"`
	Variant  string          `json:"variant"`
	Game     string          `json:"game"`
	Settings json.RawMessage `json:"settings"`
}

// Key is the job's episode key: the bucket key and the last subject token.
func (j Job) Key() string {
	return j.Run + "." + base64.RawURLEncoding.EncodeToString([]byte(j.Variant+"\x00"+j.Game))
}

// Record is a stored result: the episode and who ran it.
type Record struct {
	agent.EpisodeResult
	Run        string `json:"run"`
	Worker     string `json:"worker,omitempty"`
	Deliveries int    `json:"deliveries"`
}

var runRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ErrBadRun: a run name must be 1-64 letters, digits, - or _.
var ErrBadRun = errors.New("run name must be 1-64 letters, digits, '-' or '_'")

// CheckRun validates a run name.
func CheckRun(run string) error {
	if !runRE.MatchString(run) {
		return fmt.Errorf("queue: run %q: %w", run, ErrBadRun)
	}
	return nil
}

// conn is a connection with the stream, bucket and consumer set up.
type conn struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	kv     jetstream.KeyValue
	cons   jetstream.Consumer
}

// open connects and creates (or updates) the stream, bucket and consumer,
// retrying while the cluster elects its JetStream leaders.
func open(ctx context.Context, cfg Config, name string) (*conn, error) {
	cfg.fill()
	opts := append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { cfg.Logger.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { cfg.Logger.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
	}, cfg.Options...)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("queue: connect to %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("queue: %w", err)
	}
	c := &conn{cfg: cfg, nc: nc, js: js}
	if err := retry(ctx, func(ctx context.Context) error { return c.setup(ctx) }); err != nil {
		nc.Close()
		return nil, fmt.Errorf("queue: set up stream %s and bucket %s on %s: %w", cfg.Stream, cfg.Bucket, cfg.URL, err)
	}
	return c, nil
}

func (c *conn) setup(ctx context.Context) error {
	replicas := c.cfg.Replicas
	if replicas <= 0 {
		replicas = 1
		if len(c.nc.Servers()) >= 3 || len(c.nc.DiscoveredServers()) >= 2 {
			replicas = 3
		}
	}
	// The first to come creates each object; later comers use it as it is
	// (change a setting with the nats CLI), so a worker and a collector
	// started with different settings do not undo each other's.
	var err error
	c.stream, err = c.js.Stream(ctx, c.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		c.stream, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        c.cfg.Stream,
			Description: "gantry evaluation jobs, one subject per episode",
			Subjects:    []string{subjectPrefix + ">"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
			Duplicates:  10 * time.Minute,
		})
	}
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	c.kv, err = c.js.KeyValue(ctx, c.cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		c.kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      c.cfg.Bucket,
			Description: "gantry evaluation results by run and episode",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		})
	}
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	c.cons, err = c.stream.Consumer(ctx, c.cfg.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c.cons, err = c.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       c.cfg.Consumer,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       c.cfg.AckWait,
			MaxDeliver:    c.cfg.MaxDeliver + 1,
			MaxAckPending: -1,
			FilterSubject: subjectPrefix + ">",
		})
	}
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	// The delivery rules in force are the consumer's.
	ci := c.cons.CachedInfo()
	c.cfg.AckWait, c.cfg.MaxDeliver = ci.Config.AckWait, ci.Config.MaxDeliver-1
	return nil
}

func (c *conn) close() { c.nc.Close() }

// retry runs f until it succeeds, ctx ends, or a minute passes: a cluster
// that just lost a node answers "no leader" for a few seconds.
func retry(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		err := f(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// store records r under its key once; it reports whether it was the first.
func (c *conn) store(ctx context.Context, key string, r Record) (bool, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	err = retry(ctx, func(ctx context.Context) error {
		_, err := c.kv.Create(ctx, key, data)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue: store result %s: %w", key, err)
	}
	return true, nil
}

// failed is the transcript of an episode that could not be run.
func failed(j Job, err error) *agent.Transcript {
	return &agent.Transcript{ID: j.Game, StopReason: agent.StopError, Error: err.Error()}
}

func subject(j Job) string { return subjectPrefix + j.Key() }

func keyFromSubject(s string) string { return strings.TrimPrefix(s, subjectPrefix) }

// Info describes the queue's stream.
type Info struct {
	// Leader is the server leading the stream; Replicas its replica count.
	Leader   string
	Replicas int
	// Jobs is how many jobs wait or run; Results how many results are stored.
	Jobs, Results uint64
}

// Inspect sets up the stream and bucket if need be and describes them.
func Inspect(ctx context.Context, cfg Config) (Info, error) {
	c, err := open(ctx, cfg, "gantry queue inspect")
	if err != nil {
		return Info{}, err
	}
	defer c.close()
	var info Info
	err = retry(ctx, func(ctx context.Context) error {
		si, err := c.stream.Info(ctx)
		if err != nil {
			return err
		}
		st, err := c.kv.Status(ctx)
		if err != nil {
			return err
		}
		info = Info{Replicas: si.Config.Replicas, Jobs: si.State.Msgs, Results: st.Values()}
		if si.Cluster != nil {
			info.Leader = si.Cluster.Leader
		}
		return nil
	})
	if err != nil {
		return Info{}, fmt.Errorf("queue: inspect: %w", err)
	}
	return info, nil
}
