package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/report"
)

func readReport(t *testing.T, dir string) agent.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep agent.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestEvalErroredEpisodes: with the model server failing, episodes are
// errored (not lost), said on the terminal and in the report, and the
// exit status is 3; once it answers, the same command plays only them.
func TestEvalErroredEpisodes(t *testing.T) {
	noKeys(t)
	m, url := newFakeModel(t)
	m.set(500)
	out := t.TempDir()
	args := []string{"eval", "--policy", "openai", "--model", "m", "--base-url", url, "--generate", "3", "--turns", "1",
		"--retries", "0", "--workers", "1", "--out", out}
	text, err := runCLI(t, "", args...)
	if code := exitCode(err); code != exitModel || !strings.Contains(err.Error(), "3 episodes errored") {
		t.Fatalf("exit status %d (%v), want %d\n%s", code, err, exitModel, text)
	}
	if n := strings.Count(text, "errored: openai:m/code/starlark generated/"); n != 3 {
		t.Fatalf("%d errored episodes shown:\n%s", n, text)
	}
	if !strings.Contains(text, "0/0 won (0.0%), 3 errored") {
		t.Fatalf("summary:\n%s", text)
	}
	rep := readReport(t, out)
	if v := rep.Variants[0]; v.Errored != 3 || v.Lost != 0 || v.Episodes != 0 || v.Run == nil || v.Run.Model != "m" {
		t.Fatalf("report: %+v", v)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "| 0 | 0 | 0 | 3 |") || !strings.Contains(string(md), "errored: generated/1: policy:") {
		t.Fatalf("report.md:\n%s", md)
	}
	m.set(0)
	before := m.requests()
	text, err = runCLI(t, "", args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if n := m.requests() - before; n != 3 {
		t.Fatalf("%d requests on resume, want 3", n)
	}
	if v := readReport(t, out).Variants[0]; v.Errored != 0 || v.Lost != 3 {
		t.Fatalf("report after resume: %+v", v.Stats)
	}
	// Nothing is left: a third run sends nothing.
	before = m.requests()
	if _, err := runCLI(t, "", args...); err != nil || m.requests() != before {
		t.Fatalf("third run: %v, %d requests", err, m.requests()-before)
	}
}

// TestEvalRefusesOtherSettings: resuming into a folder with another
// temperature and turn limit is refused before any request, naming them
// (whatever the model); another model with the same settings is another
// variant of the folder.
func TestEvalRefusesOtherSettings(t *testing.T) {
	noKeys(t)
	m, url := newFakeModel(t)
	out := t.TempDir()
	base := []string{"eval", "--policy", "openai", "--base-url", url, "--generate", "2", "--workers", "1", "--out", out}
	if text, err := runCLI(t, "", append(base, "--model", "alf", "--turns", "1")...); exitCode(err) != exitOK {
		t.Fatalf("%v\n%s", err, text)
	}
	before := m.requests()
	for _, model := range []string{"roverX", "alf"} {
		_, err := runCLI(t, "", append(base, "--model", model, "--temperature", "0.9", "--turns", "3")...)
		if err == nil {
			t.Fatalf("%s: resume with other settings accepted", model)
		}
		for _, w := range []string{"temperature: 0 recorded, 0.9 now", "turns: 1 recorded, 3 now", out} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q: %v", w, err)
			}
		}
	}
	if m.requests() != before {
		t.Fatalf("%d requests sent", m.requests()-before)
	}
	if text, err := runCLI(t, "", append(base, "--model", "roverX", "--turns", "1")...); err != nil {
		t.Fatalf("another model, same settings: %v\n%s", err, text)
	}
	if rep := readReport(t, out); len(rep.Variants) != 2 {
		t.Fatalf("report: %+v", rep.Variants)
	}
}

// TestEvalFolderKeepsEveryVariant: a run with another format into the
// same folder adds to report.md instead of replacing it.
func TestEvalFolderKeepsEveryVariant(t *testing.T) {
	out := t.TempDir()
	for _, f := range []string{"code", "text"} {
		if text, err := runCLI(t, "", "eval", "--generate", "2", "--format", f, "--workers", "1", "--out", out); err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, w := range []string{"| expert/code/starlark | expert | code |", "| expert/text/starlark | expert | text |"} {
		if !strings.Contains(string(md), w) {
			t.Fatalf("report.md lacks %q:\n%s", w, md)
		}
	}
}

// TestEvalCompareModels: --compare model=a,b plays every game with both
// models in one run.
func TestEvalCompareModels(t *testing.T) {
	noKeys(t)
	m, url := newFakeModel(t)
	out := t.TempDir()
	text, err := runCLI(t, "", "eval", "--policy", "openai", "--base-url", url, "--compare", "model=a,b,a", "--generate", "2", "--turns", "1",
		"--workers", "1", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if m.names["a"] != 2 || m.names["b"] != 2 {
		t.Fatalf("requests per model: %v", m.names)
	}
	rep := readReport(t, out)
	var names []string
	for _, v := range rep.Variants {
		names = append(names, v.Name+"="+v.Run.Model)
	}
	if !slices.Equal(names, []string{"openai:a/code/starlark=a", "openai:b/code/starlark=b"}) {
		t.Fatalf("variants: %v", names)
	}
}

// TestCompareVariants: --compare varies one axis, each value once.
func TestCompareVariants(t *testing.T) {
	base := episodeFlags{policy: "expert", format: "code", rt: runtimeOptions{Name: "starlark"}}
	tests := []struct {
		compare string
		want    []string
		err     string
	}{
		{"", []string{"expert/code/starlark"}, ""},
		{"code,json,text", []string{"expert/code/starlark", "expert/json/starlark", "expert/text/starlark"}, ""},
		{"code,code, json", []string{"expert/code/starlark", "expert/json/starlark"}, ""},
		{"starlark,python", []string{"expert/code/starlark", "expert/code/python"}, ""},
		{"format=text,json", []string{"expert/text/starlark", "expert/json/starlark"}, ""},
		{"model=a,b", []string{"expert/code/starlark", "expert/code/starlark"}, ""}, // names carry models under openai only
		{"code,starlark", nil, "mixes a format and a runtime"},
		{"format=starlark", nil, `"starlark" is not a format`},
		{"gpt-4o", nil, "--compare model=gpt-4o"},
		{"colour=red", nil, `no axis "colour"`},
		{",", nil, "no values"},
	}
	for _, tc := range tests {
		t.Run(tc.compare, func(t *testing.T) {
			got, err := compareVariants(base, tc.compare)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range got {
				names = append(names, f.variantName())
			}
			if !slices.Equal(names, tc.want) {
				t.Fatalf("got %v, want %v", names, tc.want)
			}
		})
	}
}

// TestTaskTypeSpellings: both spellings select games; gantry prints the
// short one.
func TestTaskTypeSpellings(t *testing.T) {
	for _, tt := range []string{"heat", "pick_heat_then_place_in_recep"} {
		out := t.TempDir()
		text, err := runCLI(t, "", "eval", "--generate", "1", "--task-type", tt, "--format", "text", "--out", out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tt, err, text)
		}
		rep := readReport(t, out)
		if _, ok := rep.Variants[0].ByTaskType["heat"]; !ok || len(rep.Variants[0].ByTaskType) != 1 {
			t.Fatalf("%s: by task type %v", tt, rep.Variants[0].ByTaskType)
		}
		if text, err := runCLI(t, "", "run", "--task-type", tt, "--format", "text"); err != nil || !strings.Contains(text, "WON: pick_heat_then_place_in_recep") {
			t.Fatalf("run --task-type %s: %v\n%.300s", tt, err, text)
		}
	}
	_, err := runCLI(t, "", "run", "--task-type", "boil")
	if err == nil || !strings.Contains(err.Error(), "put, clean, heat, cool, examine, puttwo") {
		t.Fatalf("got %v", err)
	}
}

// TestReportCommand: gantry report writes report.md with both charts
// embedded, and the charts.
func TestReportCommand(t *testing.T) {
	if !report.ChartsBuilt {
		t.Skip("the edge build draws no charts (TestEdgeReport)")
	}
	out := t.TempDir()
	text, err := runCLI(t, "", "report", "../../report/testdata/code", "../../report/testdata/json", "--out", out, "--charts", "png")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "json − code: +0.0 points [-43.6, +43.6], paired on 6 games") {
		t.Fatalf("output:\n%s", text)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, w := range []string{"![winrate](winrate.png)", "![turns](turns.png)", "| json | openai |"} {
		if !strings.Contains(string(md), w) {
			t.Fatalf("report.md lacks %q:\n%s", w, md)
		}
	}
	for _, f := range []string{"winrate.png", "turns.png", "report.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if _, err := runCLI(t, "", "report", "--out", out, filepath.Join(out, "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("got %v", err)
	}
}

// TestEvalInterrupted: after an interruption the progress line and the
// exit message say how many episodes were written, and the status is 130.
func TestEvalInterrupted(t *testing.T) {
	noKeys(t)
	m, url := newFakeModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.onChat = func(n int, r *http.Request) {
		if n == 2 { // the second episode is under way: interrupt it
			cancel()
			<-r.Context().Done()
		}
	}
	out := t.TempDir()
	cmd := newRootCmd()
	var buf bytes.Buffer
	cmd.SetOut(&buf)
	cmd.SetErr(&buf)
	cmd.SetArgs([]string{"eval", "--policy", "openai", "--model", "m", "--base-url", url, "--generate", "3", "--turns", "1", "--workers", "1", "--out", out})
	err := cmd.ExecuteContext(ctx)
	if code := exitCode(err); code != exitInterrupted || !strings.Contains(err.Error(), "interrupted: 1 of 3 episodes recorded") {
		t.Fatalf("exit status %d (%v)\n%s", code, err, buf.String())
	}
	if !strings.Contains(buf.String(), "episodes: 1/3 (interrupted)") {
		t.Fatalf("progress:\n%s", buf.String())
	}
	data, _ := os.ReadFile(filepath.Join(out, "transcripts.jsonl"))
	if n := bytes.Count(data, []byte("\n")); n != 1 {
		t.Fatalf("%d episodes written", n)
	}
}
