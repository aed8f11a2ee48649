// Package buildinfo says which gantry is running: its version, the commit
// it was built from, the build date and the Go version.
//
// The values come from the binary's build information (runtime/debug):
// the main module's version, and the commit (vcs.revision, with
// "+modified" when the tree had uncommitted changes) and commit time
// (vcs.time) that go build records in a git checkout. scripts/release
// sets them explicitly at link time:
//
//	go build -ldflags "-X github.com/gantry-dev/gantry/internal/buildinfo.version=v1.2.0 \
//	    -X github.com/gantry-dev/gantry/internal/buildinfo.commit=0123abcd \
//	    -X github.com/gantry-dev/gantry/internal/buildinfo.date=2026-12-02T08:00:00Z" ./cmd/gantry
//
// What neither tells is "devel" (the version) or "unknown".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker (-X); empty otherwise. They are never written at run
// time.
var (
	version string
	commit  string
	date    string
)

// Version is the release version ("v1.2.0"), the module version go build
// derived from the repository, or "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Commit is the commit the binary was built from, "+modified" appended
// when the tree had uncommitted changes, or "unknown".
func Commit() string {
	if commit != "" {
		return commit
	}
	rev, modified := setting("vcs.revision"), setting("vcs.modified") == "true"
	switch {
	case rev == "":
		return "unknown"
	case modified:
		return rev + "+modified"
	}
	return rev
}

// Date is the build date set by the release (RFC 3339, UTC), else the
// commit's time as go build recorded it, or "unknown".
func Date() string {
	if date != "" {
		return date
	}
	if t := setting("vcs.time"); t != "" {
		return t
	}
	return "unknown"
}

// GoVersion is the Go release that built the binary ("go1.26.8").
func GoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.GoVersion != "" {
		return bi.GoVersion
	}
	return runtime.Version()
}

// setting returns a build setting recorded in the binary, or "".
func setting(key string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
