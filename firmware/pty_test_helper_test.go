package firmware

import (
	"os"
	"syscall"
)

// openRaw opens a pty's terminal side as a client would (non-blocking, so
// deadlines work).
func openRaw(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
}
