// Package testenv lets tests find the external programs they need
// (mosquitto, socat, python3, qemu-system-arm, ...) and decide what to do
// when one is missing.
//
// scripts/test installs every such program and sets GANTRY_TEST_STRICT=1, so
// in the real test run a missing program fails the test instead of skipping
// it: nothing is skipped silently. A developer running plain `go test`
// without the programs installed gets a skip that names what is missing.
//
// It also holds what makes tests hold on a loaded machine: Patience (the
// one bound of every wait), Eventually (a condition no event announces),
// LogWatch (waiting for what the code under test logs), WaitExit (a
// process's end), and DeadEnd (a server that never answers, on a port
// nobody can take).
package testenv

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether missing programs must fail tests.
func Strict() bool { return os.Getenv("GANTRY_TEST_STRICT") == "1" }

// LookPath returns the path of the named program, or skips the test (fails
// it under GANTRY_TEST_STRICT=1) when it is not installed.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p
		}
	}
	Missing(t, name+" is not installed (scripts/test installs it)")
	return ""
}

// Python returns the Python interpreter the tests use: GANTRY_TEST_PYTHON if
// set (scripts/test sets it to the resolved interpreter), else python3.
func Python(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GANTRY_TEST_PYTHON"); p != "" {
		return p
	}
	return LookPath(t, "python3")
}

// Missing skips the test with the reason, or fails it in strict mode.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if Strict() {
		t.Fatalf("required for this test: %s", reason)
	}
	t.Skipf("skipped: %s", reason)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the caller binds it: bind port 0 and
// read the port back wherever possible (net.Listen, mqtt.StartBroker). It
// is for programs that cannot report the port they bound (mosquitto), and
// their caller must try again with another port when the bind fails.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// DeadEnd returns a loopback address (host:port) where a listener accepts
// every connection and closes it at once, until the test ends: a server
// that is there but never answers, with no port that another process could
// take in between.
func DeadEnd(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dead end: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}
