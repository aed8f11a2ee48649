package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want Info
	}{
		{"none", nil, Info{Devel, Devel, Devel, Devel}},
		{"devel main module", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{Devel, Devel, Devel, "go1.26.8"}},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "02ade72"}, {Key: "vcs.time", Value: "2026-12-02T07:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			Info{"v1.2.3", "02ade72", "2026-12-02T07:00:00Z", "go1.26.8"}},
		{"modified tree", &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "02ade72"}, {Key: "vcs.modified", Value: "true"}}},
			Info{Devel, "02ade72+dirty", Devel, Devel}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(tc.bi); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRead: a test binary has build information; every field is set.
func TestRead(t *testing.T) {
	in := Read()
	if in.GoVersion == "" || in.Version == "" || in.Commit == "" || in.Date == "" {
		t.Fatalf("empty field in %+v", in)
	}
	if Version() != in.Version || GoVersion() != in.GoVersion {
		t.Fatalf("helpers disagree with Read: %+v", in)
	}
}

func ExampleVersion() {
	// A binary built without module version information (go run, go test)
	// reports "devel".
	_ = Version()
}
