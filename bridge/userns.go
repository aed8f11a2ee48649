package bridge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// capSysResource is CAP_SYS_RESOURCE (linux/capability.h).
const capSysResource = 24

// ErrUserns is returned (wrapped) when gantry, running as root, cannot make
// the user namespace the worker runs in.
var ErrUserns = errors.New("bridge: cannot make the sandbox's user namespace")

// newSandboxUserns makes the user namespace a worker joins when gantry runs
// as root, and returns a descriptor of it (/proc/PID/ns/user).
//
// bubblewrap's own user namespace maps the sandbox's user to the user that
// runs bubblewrap: for root, to root, so code would run as the real root,
// own root's files and be exempt from RLIMIT_NPROC. This one maps
//
//	65534 (nobody) -> 65534 outside: the sandbox's user
//	1 -> 0 (root) outside
//
// The sandbox's user is nobody outside as well. Root is mapped, as an
// ordinary user 1, so that bubblewrap, which joins the namespace as root
// with every capability in it, can reach the interpreter's directories
// when they lie under a directory only root may enter (a pyenv under
// /root); the worker gets no capability (--cap-drop ALL, no_new_privs,
// mounts nosuid), so it cannot become user 1. No user is 0 in it.
//
// A short-lived helper holds the namespace while gantry opens it; it sets
// the namespace's max_user_namespaces to 0 first (with CAP_SYS_RESOURCE in
// the namespace only), so that code cannot make a user namespace of its
// own inside (bubblewrap checks it: --assert-userns-disabled).
func newSandboxUserns(ctx context.Context) (*os.File, error) {
	helper := exec.CommandContext(ctx, "/bin/sh", "-c", "echo 0 >/proc/sys/user/max_user_namespaces && echo ready && read _")
	helper.Env = []string{"PATH=/usr/bin:/bin"}
	stdin, err := helper.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserns, err)
	}
	stdout, err := helper.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserns, err)
	}
	var stderr strings.Builder
	helper.Stderr = &stderr
	ids := []syscall.SysProcIDMap{{ContainerID: 65534, HostID: 65534, Size: 1}, {ContainerID: 1, HostID: 0, Size: 1}}
	helper.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: ids,
		GidMappings: ids,
		Credential:  &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: true},
		AmbientCaps: []uintptr{capSysResource},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := helper.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserns, err)
	}
	defer func() {
		stdin.Close()
		helper.Wait()
	}()
	line, err := bufio.NewReader(io.LimitReader(stdout, 64)).ReadString('\n')
	if err != nil || line != "ready\n" {
		return nil, fmt.Errorf("%w: the helper failed (%v): %s", ErrUserns, err, strings.TrimSpace(stderr.String()))
	}
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", helper.Process.Pid))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserns, err)
	}
	return ns, nil
}
