// Package lm3s6965 holds the C firmware for the LM3S6965 board and the Go
// tests that build it and run it under QEMU.
package lm3s6965

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/firmware/conformance"
	"github.com/gantry-dev/gantry/internal/testenv"
	"golang.org/x/term"
)

// build runs make into a temporary directory and returns the ELF path.
func build(t testing.TB) string {
	testenv.LookPath(t, "arm-none-eabi-gcc")
	testenv.LookPath(t, "make")
	out := t.TempDir()
	cmd := exec.Command("make", "-C", "fw", "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, b)
	}
	return filepath.Join(out, "rover.elf")
}

// boot starts QEMU with the firmware and returns the pty path of UART0.
func boot(t testing.TB, elf string) string {
	qemu := testenv.LookPath(t, "qemu-system-arm")
	cmd := exec.Command(qemu, "-M", "lm3s6965evb", "-display", "none", "-monitor", "none", "-serial", "pty", "-kernel", elf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	re := regexp.MustCompile(`/dev/pts/\d+`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if p := re.FindString(sc.Text()); p != "" {
				found <- p
			}
		}
	}()
	select {
	case p := <-found:
		return p
	case <-time.After(testenv.Patience):
		t.Fatal("qemu did not report its pty")
	}
	return ""
}

func open(t testing.TB, path string) *os.File {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	// Raw mode through SyscallConn: f.Fd() would make reads blocking, and
	// Close could then not interrupt them.
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rawErr error
	if err := rc.Control(func(fd uintptr) { _, rawErr = term.MakeRaw(int(fd)) }); err != nil || rawErr != nil {
		t.Fatalf("raw %s: %v %v", path, err, rawErr)
	}
	return f
}

func TestQEMUConformance(t *testing.T) {
	path := boot(t, build(t))
	conformance.Run(t, func(t *testing.T) io.ReadWriteCloser { return open(t, path) })
}

func TestQEMUIdlesWithWFI(t *testing.T) {
	elf := build(t)
	path := boot(t, elf)
	f := open(t, path)
	defer f.Close()
	f.WriteString(`{"id":1,"action":"ping"}` + "\n")
	if line, err := bufio.NewReader(f).ReadString('\n'); err != nil || !strings.Contains(line, `"ok":true`) {
		t.Fatalf("ping: %q %v", line, err)
	}
	// CPU time of QEMU per second of an idle window: WFI keeps it far
	// below a core. The window is what is measured, not a wait for
	// something to happen; on a loaded machine QEMU gets less CPU, never
	// more, and the share is taken of the time that actually passed.
	pid := qemuPID(t, elf)
	before, start := cpuTicks(t, pid), time.Now()
	<-time.After(time.Second)
	used := cpuTicks(t, pid) - before // clock ticks, 100 per second
	share := float64(used) / time.Since(start).Seconds()
	if share > 30 {
		t.Errorf("idle firmware used %.0f%% of a core", share)
	}
}

func qemuPID(t testing.TB, elf string) string {
	out, err := exec.Command("pgrep", "-f", elf).Output()
	if err != nil {
		t.Fatalf("pgrep: %v", err)
	}
	return strings.Fields(string(out))[0]
}

func cpuTicks(t testing.TB, pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var u, s int
	for _, c := range f[11] {
		u = u*10 + int(c-'0')
	}
	for _, c := range f[12] {
		s = s*10 + int(c-'0')
	}
	return u + s
}

// BenchmarkQEMURoundTrip measures a ping line round trip to the C firmware
// under QEMU over its pty.
func BenchmarkQEMURoundTrip(b *testing.B) {
	path := boot(b, build(b))
	f := open(b, path)
	defer f.Close()
	br := bufio.NewReader(f)
	for i := 0; i < b.N+1; i++ {
		if i == 1 {
			b.ResetTimer()
		}
		if _, err := fmt.Fprintf(f, "{\"id\":%d,\"action\":\"ping\"}\n", 1000000+i); err != nil {
			b.Fatal(err)
		}
		if _, err := br.ReadString('\n'); err != nil {
			b.Fatal(err)
		}
	}
}
