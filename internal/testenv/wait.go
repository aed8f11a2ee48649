package testenv

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Patience bounds every wait of a test for something to happen: long
// enough for a loaded 2-core machine, so that only a hang fails a test.
// Tests never fail for being slow.
const Patience = 60 * time.Second

// Eventually waits until cond holds, checking it at every tick, for what
// no event announces (a counter, a port free again). It fails the test
// after Patience.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(Patience)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("after %v: %s", Patience, what)
		}
	}
}

// LogWatch keeps the messages of the log records of the code under test,
// so that a test can wait for what it logs (a rejected message, a failed
// attempt) instead of sleeping.
type LogWatch struct {
	mu      sync.Mutex
	msgs    []string
	changed chan struct{}
}

// NewLogWatch returns a watch and a logger feeding it; records also go to
// next when it is not nil.
func NewLogWatch(next slog.Handler) (*LogWatch, *slog.Logger) {
	w := &LogWatch{changed: make(chan struct{})}
	if next == nil {
		next = slog.DiscardHandler
	}
	return w, slog.New(watchHandler{w, next})
}

// Count returns how many records so far have a message starting with prefix.
func (w *LogWatch) Count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, _ := w.countLocked(prefix)
	return n
}

func (w *LogWatch) countLocked(prefix string) (int, chan struct{}) {
	n := 0
	for _, m := range w.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n, w.changed
}

// Wait waits until n records with a message starting with prefix were
// logged; it fails the test after Patience.
func (w *LogWatch) Wait(t testing.TB, prefix string, n int) {
	t.Helper()
	deadline := time.NewTimer(Patience)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		got, ch := w.countLocked(prefix)
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("after %v: %d of %d log records %q", Patience, got, n, prefix)
		}
	}
}

type watchHandler struct {
	w    *LogWatch
	next slog.Handler
}

func (h watchHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h watchHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	h.w.msgs = append(h.w.msgs, r.Message)
	close(h.w.changed)
	h.w.changed = make(chan struct{})
	h.w.mu.Unlock()
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h watchHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return watchHandler{h.w, h.next.WithAttrs(a)}
}

func (h watchHandler) WithGroup(name string) slog.Handler {
	return watchHandler{h.w, h.next.WithGroup(name)}
}
