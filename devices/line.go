package devices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gantry-dev/gantry/protocol"
)

// LineLink is a Link over a byte stream (a serial port, a pty, a pipe,
// TCP): one message per line (docs/protocol.md, section 6). Over-long and
// undecodable lines are dropped and counted by the device; a half line is
// kept until its newline arrives.
type LineLink struct {
	rw   io.ReadWriteCloser
	in   Inbox
	wmu  sync.Mutex
	done chan struct{}
	err  error // why reading ended; valid after done is closed

	closeOnce sync.Once
	closing   chan struct{}
}

// NewLineLink reports in as Online and starts reading rw's lines into it.
// When reading fails (the port unplugged, the stream ended) the link
// reports Offline with the reason and Done is closed.
func NewLineLink(rw io.ReadWriteCloser, in Inbox) *LineLink {
	l := &LineLink{rw: rw, in: in, done: make(chan struct{}), closing: make(chan struct{})}
	in.SetState(Online, nil)
	go l.read()
	return l
}

func (l *LineLink) read() {
	defer close(l.done)
	lr := protocol.NewLineReader(l.rw)
	for {
		line, err := lr.Next()
		if errors.Is(err, protocol.ErrLineTooLong) {
			l.in.Receive([]byte("line too long")) // counted as garbage
			continue
		}
		if err != nil {
			select {
			case <-l.closing:
				err = ErrClosed
			default:
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
			}
			l.err = err
			l.in.SetState(Offline, fmt.Errorf("link lost: %w", err))
			return
		}
		l.in.Receive(line)
	}
}

// Send writes msg and a newline.
func (l *LineLink) Send(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-l.done:
		return fmt.Errorf("link lost: %w", l.err)
	default:
	}
	buf := make([]byte, len(msg)+1)
	copy(buf, msg)
	buf[len(msg)] = '\n'
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if _, err := l.rw.Write(buf); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Done is closed when reading has ended; Err then says why.
func (l *LineLink) Done() <-chan struct{} { return l.done }

// Err returns why reading ended (nil while it goes on).
func (l *LineLink) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// Close closes the stream and waits for the reader to end.
func (l *LineLink) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		err = l.rw.Close()
	})
	<-l.done
	return err
}
