package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// leftOutOfEdge are the packages the edge build must not link (the
// server, distributed evaluation, the charts) with the libraries they
// bring.
var leftOutOfEdge = []string{
	"github.com/gantry-dev/gantry/server",
	"github.com/gantry-dev/gantry/queue",
	"github.com/modelcontextprotocol/go-sdk",
	"github.com/prometheus/client_golang",
	"google.golang.org/protobuf",
	"github.com/nats-io/nats.go",
	"gonum.org/v1/plot",
	"codeberg.org/go-fonts",
}

// TestEdgeBuild builds the edge flavour (go build -tags edge), so that it
// cannot rot: its dependencies lack every left-out package (which the
// full build has: the check can fail), its version says "build: edge", and
// gantry serve in it says it is not in the build.
func TestEdgeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	deps := func(tags string) string {
		out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q: %v\n%s", tags, err, out)
		}
		return string(out)
	}
	full, edge := deps(""), deps("edge")
	for _, p := range leftOutOfEdge {
		if !strings.Contains(full, p) {
			t.Errorf("the full build lacks %s (update leftOutOfEdge)", p)
		}
		if strings.Contains(edge, p) {
			t.Errorf("the edge build links %s", p)
		}
	}
	bin := filepath.Join(t.TempDir(), "gantry-edge")
	if out, err := exec.Command("go", "build", "-tags", "edge", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags edge: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nbuild: edge\n") {
		t.Fatalf("gantry version of the edge build: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "serve").CombinedOutput()
	if want := "gantry: gantry serve is not in this build (edge); use the full build\n"; err == nil || string(out) != want {
		t.Fatalf("gantry serve in the edge build: %v, output %q, want %q", err, out, want)
	}
}
