package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalRover evaluates the device task in batch: every episode gets its
// own simulated rover at a start drawn from its seed, the expert wins them
// all, and the report groups them under the rover task type.
func TestEvalRover(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "", "eval", "--env", "rover", "--generate", "3", "--sim-speed", "50", "--workers", "2", "--quiet", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "expert/code/starlark: 3/3 won (100.0%)") {
		t.Errorf("output:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "transcripts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	starts := map[string]bool{}
	for _, l := range lines {
		var r struct {
			Game       string `json:"game"`
			Transcript struct {
				TaskType string `json:"task_type"`
				Success  bool   `json:"success"`
				Turns    []struct {
					Observation string `json:"observation"`
				} `json:"turns"`
			} `json:"transcript"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Transcript.TaskType != "rover_approach" || !r.Transcript.Success || len(r.Transcript.Turns) == 0 {
			t.Errorf("%s: %+v", r.Game, r.Transcript)
			continue
		}
		first, _, _ := strings.Cut(r.Transcript.Turns[0].Observation, "\n")
		starts[first] = true
	}
	if len(lines) != 3 || len(starts) != 3 {
		t.Errorf("%d episodes from %d distinct starts, want 3 from 3: %v", len(lines), len(starts), starts)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "| rover_approach | 3/3 (100.0%) |") {
		t.Errorf("report.md (%v):\n%s", err, md)
	}
	if _, err := runCLI(t, "", "eval", "--env", "moon", "--out", dir); err == nil || !strings.Contains(err.Error(), `unknown --env "moon"`) {
		t.Errorf("unknown env: %v", err)
	}
}
