package queue_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gantry-dev/gantry/internal/natstest"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/queue"
)

// TestQueueSecured runs a distributed evaluation on a 3-node cluster
// secured as deploy/nats/secure/accounts.conf says (included as it is),
// over TLS (tls:// URLs): the collector and the workers log in as their
// users, and a worker is held to the job stream and the results.
func TestQueueSecured(t *testing.T) {
	accounts, err := filepath.Abs(filepath.Join("..", "deploy", "nats", "secure", "accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts, pass := natstest.Secured(t, accounts, "gateway", "rover", "arm", "gateway", "worker", "collector")
	cl := natstest.StartCluster(t, 3, opts)
	tc := opts.TLS.ClientConfig()
	login := func(user string) queue.Config {
		return queue.Config{URL: cl.ClientURLs(), Options: []nats.Option{nats.UserInfo(user, pass[user]), nats.Secure(tc)}}
	}
	if !strings.HasPrefix(cl.ClientURLs(), "tls://") {
		t.Fatalf("cluster URLs %s: want tls://", cl.ClientURLs())
	}

	startWorkers(t, login("worker"), 2, fakeRun)
	js := jobs("secured", 12)
	checkOnce(t, js, collect(t, context.Background(), login("collector"), js, queue.CollectOptions{}))

	t.Run("refused", func(t *testing.T) {
		n := cl.Nodes[0]
		cases := []struct {
			name string
			url  string
			opts []nats.Option
			want string
		}{
			{"no TLS", "nats://" + n.Client, []nats.Option{nats.UserInfo("worker", pass["worker"])}, "tls"},
			{"untrusted server certificate", n.ClientURL(), []nats.Option{nats.UserInfo("worker", pass["worker"])}, "certificate"},
			{"no credentials", n.ClientURL(), []nats.Option{nats.Secure(tc)}, "authorization violation"},
			{"wrong password", n.ClientURL(), []nats.Option{nats.UserInfo("worker", "guess"), nats.Secure(tc)}, "authorization violation"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				nc, err := nats.Connect(c.url, append(c.opts, nats.Timeout(10*time.Second))...)
				if err == nil {
					nc.Close()
					t.Fatal("connected")
				}
				if !strings.Contains(strings.ToLower(err.Error()), c.want) {
					t.Fatalf("got %v, want an error about %q", err, c.want)
				}
			})
		}
	})

	// A worker may not queue jobs, nor touch the stream's administration,
	// nor reach a device: the server answers each publish with a
	// permissions violation (and drops it).
	t.Run("worker-permissions", func(t *testing.T) {
		violations := make(chan error, 16)
		nc, err := nats.Connect(cl.ClientURLs(), nats.UserInfo("worker", pass["worker"]), nats.Secure(tc),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		for _, subject := range []string{
			"gantry.jobs.secured.forged",             // queue a job
			"$JS.API.STREAM.DELETE.GANTRY_JOBS",      // delete the job stream
			"$JS.API.STREAM.PURGE.KV_GANTRY_RESULTS", // purge the results
			"gantry.rover.req",                       // command a device (another account anyway)
		} {
			t.Run(subject, func(t *testing.T) {
				if err := nc.Publish(subject, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
				err := next(t, violations)
				if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
					t.Fatalf("got %v, want a permissions violation for %s", err, subject)
				}
			})
		}
		sub, err := nc.SubscribeSync("gantry.>")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := next(t, violations); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "Subscription") {
			t.Fatalf("subscribing to gantry.>: %v, want a permissions violation", err)
		}
	})
}

// next is the next asynchronous error of the connection; a publish the
// server let through brings none, and the test fails after a patience.
func next(t *testing.T, errs <-chan error) error {
	t.Helper()
	select {
	case err := <-errs:
		return err
	case <-time.After(testenv.Patience):
		t.Fatal("no error from the server: the operation was allowed")
		return nil
	}
}
