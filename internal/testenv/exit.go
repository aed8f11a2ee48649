package testenv

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// WaitExit waits until the process pid has ended (exited or been killed;
// a zombie counts as ended), whoever its parent is, and reports whether it
// did within limit. It waits on the kernel's exit notification (a pidfd
// becomes readable when its process ends), not by polling; limit is only a
// safety net against a hung test. A pid that no longer exists has ended.
func WaitExit(pid int, limit time.Duration) (bool, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(limit)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return false, nil
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
}
