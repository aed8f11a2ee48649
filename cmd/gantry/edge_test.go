//go:build edge

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEdgeLeftOut: each part the edge build leaves out says so when used,
// naming the build, and does nothing else.
func TestEdgeLeftOut(t *testing.T) {
	out := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"serve", []string{"serve"}, "gantry serve is not in this build (edge); use the full build"},
		{"serve with flags", []string{"serve", "--addr", "0.0.0.0:8080"}, "gantry serve is not in this build (edge)"},
		{"mcp", []string{"mcp"}, "gantry mcp is not in this build (edge); use the full build"},
		{"worker", []string{"worker", "--queue", "nats://127.0.0.1:4222"}, "gantry worker is not in this build (edge)"},
		{"eval --queue", []string{"eval", "--queue", "nats://127.0.0.1:4222", "--out", out}, "gantry eval --queue is not in this build (edge); use the full build"},
		{"report --charts", []string{"report", "../../report/testdata/code", "--out", out, "--charts", "png"}, "charts are not in this build (edge); use the full build"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLI(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("a refused command wrote %d files in its output directory", len(entries))
	}
	if _, err := runCLI(t, "", "serve"); !errors.Is(err, errNotInBuild) {
		t.Fatalf("got %v, want errNotInBuild", err)
	}
}

// TestEdgeReport: gantry report in the edge build prints the comparison
// and writes report.md (tables, no charts) and report.json.
func TestEdgeReport(t *testing.T) {
	out := t.TempDir()
	text, err := runCLI(t, "", "report", "../../report/testdata/code", "../../report/testdata/json", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, w := range []string{"json − code: +0.0 points [-43.6, +43.6], paired on 6 games", "charts are not in this build (edge)"} {
		if !strings.Contains(text, w) {
			t.Fatalf("output lacks %q:\n%s", w, text)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "| json | openai |") || strings.Contains(string(md), "![") {
		t.Fatalf("report.md, want the tables and no charts:\n%s", md)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "report.json report.md" {
		t.Fatalf("files %q, want report.json and report.md", names)
	}
}
