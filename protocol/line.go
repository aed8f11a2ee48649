package protocol

import (
	"bytes"
	"errors"
	"io"
)

// ErrLineTooLong is returned by LineReader.Next for a line longer than
// MaxLine bytes; the line has been discarded up to its newline.
var ErrLineTooLong = errors.New("line too long")

// LineReader splits a byte stream into protocol lines. It strips the
// newline and one '\r' before it, skips blank lines, discards over-long
// lines (reporting ErrLineTooLong once per such line) and buffers partial
// lines until their newline arrives.
type LineReader struct {
	r       io.Reader
	max     int
	buf     []byte // unconsumed bytes; buf[:start] already returned
	start   int
	discard bool // inside an over-long line, dropping bytes until '\n'
	chunk   []byte
}

// NewLineReader returns a LineReader over r with the protocol's MaxLine.
func NewLineReader(r io.Reader) *LineReader { return NewLineReaderSize(r, MaxLine) }

// NewLineReaderSize returns a LineReader whose lines may hold at most max
// bytes including the newline.
func NewLineReaderSize(r io.Reader, max int) *LineReader {
	return &LineReader{r: r, max: max, chunk: make([]byte, 1024)}
}

// Next returns the next non-blank line without its line ending. The slice
// is valid until the next call. At the end of the stream it returns io.EOF
// (an unterminated last line is dropped: it never completed).
func (l *LineReader) Next() ([]byte, error) {
	for {
		line, ok, tooLong := l.scan()
		if tooLong {
			return nil, ErrLineTooLong
		}
		if ok {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return line, nil
		}
		n, err := l.r.Read(l.chunk)
		if n > 0 {
			l.feed(l.chunk[:n])
		}
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				continue // drain what came with EOF first
			}
			return nil, err
		}
	}
}

// feed appends input, dropping it while inside an over-long line.
func (l *LineReader) feed(p []byte) {
	if l.start > 0 && l.start == len(l.buf) {
		l.buf, l.start = l.buf[:0], 0
	} else if l.start > len(l.buf)/2 {
		n := copy(l.buf, l.buf[l.start:])
		l.buf, l.start = l.buf[:n], 0
	}
	l.buf = append(l.buf, p...)
}

// scan looks for a complete line in the buffer.
func (l *LineReader) scan() (line []byte, ok, tooLong bool) {
	pending := l.buf[l.start:]
	i := bytes.IndexByte(pending, '\n')
	if l.discard {
		if i < 0 {
			l.buf, l.start = l.buf[:0], 0
			return nil, false, false
		}
		l.start += i + 1
		l.discard = false
		return nil, false, true
	}
	if i < 0 {
		if len(pending) >= l.max { // no room left for the newline
			l.buf, l.start = l.buf[:0], 0
			l.discard = true
		}
		return nil, false, false
	}
	if i+1 > l.max {
		l.start += i + 1
		return nil, false, true
	}
	line = pending[:i]
	l.start += i + 1
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true, false
}
