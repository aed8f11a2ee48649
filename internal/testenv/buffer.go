package testenv

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for writers on other goroutines: a log
// destination for servers, NATS callbacks and simulated devices that a test
// reads while they still run.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
