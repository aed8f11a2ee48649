// Package buildinfo reports what gantry was built from, as recorded by the
// Go toolchain in the binary (runtime/debug.ReadBuildInfo): the module
// version, the VCS commit and its time, and the Go version. Values the
// build did not record read "devel".
package buildinfo

import (
	"runtime/debug"
)

// Devel is the value of anything the build did not record.
const Devel = "devel"

// Info is what a build recorded.
type Info struct {
	Version   string // module version (v1.2.3, a pseudo-version) or "devel"
	Commit    string // VCS revision, "+dirty" appended when modified, or "devel"
	Date      string // VCS commit time (RFC 3339) or "devel"
	GoVersion string // the Go toolchain (go1.26.8) or "devel"
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return fromBuildInfo(bi)
}

// Version is the module version of the running binary, or "devel".
func Version() string { return Read().Version }

// Commit is the VCS revision the binary was built from, or "devel".
func Commit() string { return Read().Commit }

// Date is the time of the commit the binary was built from, or "devel".
func Date() string { return Read().Date }

// GoVersion is the Go toolchain that built the binary, or "devel".
func GoVersion() string { return Read().GoVersion }

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: Devel, Commit: Devel, Date: Devel, GoVersion: Devel}
	if bi == nil {
		return in
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		in.Version = v
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				in.Commit = s.Value
			}
		case "vcs.time":
			if s.Value != "" {
				in.Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && in.Commit != Devel {
		in.Commit += "+dirty"
	}
	return in
}
