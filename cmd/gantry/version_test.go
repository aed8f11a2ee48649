package main

import (
	"runtime"
	"strings"
	"testing"
)

// gantry version prints five lines: version, commit, build date, Go
// version with the platform (a test binary has the fallbacks) and the
// build's flavour.
func TestVersionLines(t *testing.T) {
	out, err := runCLI(t, "", "version")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	prefixes := []string{"gantry ", "commit: ", "built: ", "go: ", "build: "}
	if len(lines) != len(prefixes) {
		t.Fatalf("got %d lines: %q", len(lines), out)
	}
	for i, p := range prefixes {
		if !strings.HasPrefix(lines[i], p) || len(lines[i]) == len(p) {
			t.Errorf("line %d: %q, want %q and a value", i+1, lines[i], p)
		}
	}
	if want := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH; lines[3] != "go: "+want {
		t.Errorf("go line %q, want %q", lines[3], "go: "+want)
	}
	if lines[4] != "build: "+buildFlavour || (buildFlavour != "full" && buildFlavour != "edge") {
		t.Errorf("build line %q, want %q (full or edge)", lines[4], "build: "+buildFlavour)
	}
}
