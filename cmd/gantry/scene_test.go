package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
)

func runScene(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"scene"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestSceneCmdWritesGames(t *testing.T) {
	dir := t.TempDir()
	out, err := runScene(t, "--out", dir, "--n", "4", "--seed", "9", "--task", "clean")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), out)
	}
	for _, l := range lines {
		path, task, _ := strings.Cut(l, "\t")
		if !strings.HasPrefix(path, filepath.Join(dir, "json_2.1.1", "generated", "pick_clean_then_place_in_recep-")) {
			t.Errorf("path %s", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var gf map[string]any
		if err := json.Unmarshal(data, &gf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(gf["grammar"].(string), task) {
			t.Errorf("%s: grammar lacks task %q", path, task)
		}
	}
	// The engine loads the directory as alfworld's data.
	paths, err := alfworld.LoadDir(dir)
	if err != nil || len(paths) != 4 {
		t.Fatalf("LoadDir: %d games, %v", len(paths), err)
	}
	for _, p := range paths {
		g, err := alfworld.LoadGameFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if g.TaskType != alfworld.Clean {
			t.Errorf("%s: task type %s", p, g.TaskType)
		}
	}
	// Same seeds, same files.
	dir2 := t.TempDir()
	if _, err := runScene(t, "--out", dir2, "--n", "4", "--seed", "9", "--task", "clean"); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		path, _, _ := strings.Cut(l, "\t")
		a, _ := os.ReadFile(path)
		b, err := os.ReadFile(strings.Replace(path, dir, dir2, 1))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs (%v)", path, err)
		}
	}
}

func TestSceneCmdBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", t.TempDir(), "--task", "juggle"}, "unknown task type"},
		{[]string{"--out", t.TempDir(), "--room", "garage"}, "unknown room"},
		{[]string{"--out", t.TempDir(), "--n", "0"}, "at least 1"},
		{[]string{"--n", "1"}, "--out is required"},
		{[]string{"--out", t.TempDir(), "--task", "heat", "--room", "bedroom"}, "not posed"},
	} {
		_, err := runScene(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
