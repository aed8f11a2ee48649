//go:build !edge

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// errUnixInUse refuses a --unix path where something else already is.
var errUnixInUse = errors.New("the path exists and is not a stale socket")

// listenUnix listens on a Unix socket at path, readable and writable by
// this user only (the API has no other access control without tokens).
// A stale socket left by a gantry that died is replaced; anything else at
// the path (a file, or a socket a live server answers on) is refused.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("--unix %s: %w", path, errUnixInUse)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("--unix %s: %w (a server answers on it)", path, errUnixInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("--unix %s: remove the stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("--unix %s: %w", path, err)
	}
	return ln, nil
}
