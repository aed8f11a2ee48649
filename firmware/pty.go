package firmware

import (
	"fmt"
	"os"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// PTY is a pseudo-terminal pair for serving the firmware as a serial
// device: the firmware reads and writes Master; a gateway opens Path (the
// terminal side) as its serial port. The terminal side is kept open and in
// raw mode, so the gateway can close and reopen Path without the firmware
// seeing an end of stream.
type PTY struct {
	Master *os.File
	Path   string
	tty    *os.File
}

// OpenPTY creates a pseudo-terminal pair in raw mode (no echo, no line
// editing, no CR/LF translation).
func OpenPTY() (*PTY, error) {
	m, t, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	if _, err := term.MakeRaw(int(t.Fd())); err != nil {
		m.Close()
		t.Close()
		return nil, fmt.Errorf("raw mode on %s: %w", t.Name(), err)
	}
	// Re-open the master through the runtime poller so reads honour
	// deadlines and Close (creack/pty hands back a blocking file).
	fd, err := syscall.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("dup pty master: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		t.Close()
		return nil, fmt.Errorf("non-blocking pty master: %w", err)
	}
	return &PTY{Master: os.NewFile(uintptr(fd), "/dev/ptmx"), Path: t.Name(), tty: t}, nil
}

// Close closes both sides.
func (p *PTY) Close() error {
	err := p.Master.Close()
	if e := p.tty.Close(); err == nil {
		err = e
	}
	return err
}
