package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

// A test binary carries no version, commit or date: the fallbacks show.
func TestFallbacks(t *testing.T) {
	tests := []struct {
		name, got string
		ok        func(string) bool
	}{
		{"Version", Version(), func(s string) bool { return s == "devel" || strings.HasPrefix(s, "v") }},
		{"Commit", Commit(), func(s string) bool { return s == "unknown" || len(s) >= 7 }},
		{"Date", Date(), func(s string) bool { return s == "unknown" || strings.Contains(s, "T") }},
		{"GoVersion", GoVersion(), func(s string) bool { return s == runtime.Version() }},
	}
	for _, tt := range tests {
		if tt.got == "" || !tt.ok(tt.got) {
			t.Errorf("%s() = %q", tt.name, tt.got)
		}
	}
}

// The linker's values win.
func TestLinkerValues(t *testing.T) {
	old := [3]string{version, commit, date}
	t.Cleanup(func() { version, commit, date = old[0], old[1], old[2] })
	version, commit, date = "v1.2.0", "0123abcd", "2026-12-02T08:00:00Z"
	if Version() != "v1.2.0" || Commit() != "0123abcd" || Date() != "2026-12-02T08:00:00Z" {
		t.Errorf("got %s %s %s", Version(), Commit(), Date())
	}
}
