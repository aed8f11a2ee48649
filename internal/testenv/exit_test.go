package testenv

import (
	"os/exec"
	"testing"
	"time"
)

func TestWaitExit(t *testing.T) {
	cmd := exec.Command("sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Not ended yet: the safety net runs out first.
	if ended, err := WaitExit(pid, 10*time.Millisecond); err != nil || ended {
		t.Fatalf("ended %v, err %v while the process runs", ended, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Killed but not reaped (a zombie): ended.
	if ended, err := WaitExit(pid, time.Minute); err != nil || !ended {
		t.Fatalf("ended %v, err %v after the kill", ended, err)
	}
	cmd.Wait()
	// Reaped: the pid is gone, which counts as ended.
	if ended, err := WaitExit(pid, time.Minute); err != nil || !ended {
		t.Fatalf("ended %v, err %v after the reap", ended, err)
	}
}
