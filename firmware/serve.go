package firmware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/protocol"
)

// outQueue is how many lines may wait for the writer; events beyond it are
// dropped (events are best effort), replies wait.
const outQueue = 256

// ServeLines speaks the protocol as JSON lines over rw until ctx ends, the
// stream ends (nil error), or reading or writing fails. Replies and events
// share the stream, one line each. The idempotency cache lives as long as
// this call.
//
// To stop a blocked read or write when ctx ends (a write blocks for good
// when nobody reads the other end any more and its buffer is full),
// ServeLines sets a deadline if rw has SetDeadline (net.Conn, *os.File on a
// pty), else closes rw if it is an io.Closer.
func (r *Rover) ServeLines(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if dl, ok := rw.(interface{ SetDeadline(time.Time) error }); ok {
		_ = dl.SetDeadline(time.Time{}) // clear a deadline left by an earlier call
	}
	d := r.NewDispatcher()
	out := make(chan []byte, outQueue)
	var wg sync.WaitGroup
	errc := make(chan error, 2)

	var mu sync.Mutex
	closed := false
	send := func(b []byte, event bool) {
		line := make([]byte, len(b)+1)
		copy(line, b)
		line[len(b)] = '\n'
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		if event {
			select {
			case out <- line:
			default: // writer is behind: drop the event
			}
			return
		}
		select {
		case out <- line:
		case <-ctx.Done():
		}
	}
	unsub := r.Subscribe(func(ev protocol.Event) {
		b, err := json.Marshal(ev)
		if err == nil {
			send(b, true)
		}
	})
	defer unsub()

	wg.Add(2)
	go func() { // writer
		defer wg.Done()
		for {
			select {
			case line := <-out:
				if _, err := rw.Write(line); err != nil {
					if ctx.Err() != nil {
						errc <- nil // the deadline set to stop us
					} else {
						errc <- fmt.Errorf("write: %w", err)
					}
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // reader
		defer wg.Done()
		lr := protocol.NewLineReader(rw)
		for {
			line, err := lr.Next()
			if errors.Is(err, protocol.ErrLineTooLong) {
				send(protocol.LineTooLongReply(), false)
				continue
			}
			if err != nil {
				if errors.Is(err, io.EOF) || ctx.Err() != nil {
					errc <- nil
				} else {
					errc <- fmt.Errorf("read: %w", err)
				}
				cancel()
				return
			}
			d.Handle(append([]byte(nil), line...), func(b []byte) { send(b, false) })
		}
	}()

	<-ctx.Done()
	unblock(rw)
	mu.Lock()
	closed = true
	mu.Unlock()
	wg.Wait()
	var err error
	select {
	case err = <-errc:
	default:
	}
	if err == nil && ctx.Err() != nil {
		// Distinguish our own cancel (stream ended) from the caller's.
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

func unblock(rw io.ReadWriter) {
	if dl, ok := rw.(interface{ SetDeadline(time.Time) error }); ok {
		if err := dl.SetDeadline(time.Now()); err == nil || !errors.Is(err, os.ErrNoDeadline) {
			return
		}
	}
	if c, ok := rw.(io.Closer); ok {
		c.Close()
	}
}
