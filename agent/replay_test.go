package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
	"github.com/gantry-dev/gantry/tool"
)

// startEmbedded starts an episode of an embedded valid_unseen game with
// MINT's options.
func startEmbedded(_ context.Context, id string) (task.Episode, error) {
	eg, err := games.Find(id)
	if err != nil {
		return nil, err
	}
	g, err := eg.Load()
	if err != nil {
		return nil, err
	}
	return alfworldtask.Start(g, alfworldtask.Options{})
}

// TestReplayMINT replays the three recorded files through the Starlark
// runtime: every observation and every outcome must be identical to the
// recording, and the wins must be the published figures.
func TestReplayMINT(t *testing.T) {
	files := mintFiles
	if raceEnabled {
		files = mintFiles[:1] // 134 episodes; 402 take two minutes under -race
	}
	replayAll(t, files, &ReplayCheck{Runtime: "starlark", NewRuntime: mintStarlark, Start: startEmbedded, Workers: 2})
}

// mintStarlark starts a Starlark session with MINT's error display.
func mintStarlark(ctx context.Context, reg *tool.Registry) (Runtime, error) {
	// The time limit is a backstop a busy machine does not reach: no action
	// here is meant to run into it.
	return sandbox.New(reg, sandbox.Options{Timeout: time.Minute, Errors: sandbox.ErrorsIPython})
}

// replayAll replays the recorded files with check and fails on any
// difference from the recordings or from the published wins.
func replayAll(t *testing.T, files []string, check *ReplayCheck) {
	t.Helper()
	published := map[string]int{"gpt-4-0613": 113, "CodeActAgent-Mistral-7b-v0.1": 110, "gpt-3.5-turbo-0613": 56}
	var reps []*ReplayReport
	for _, name := range files {
		recs, err := ReadRecords("../testdata/alfworld/mint/" + name + ".jsonl.gz")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := check.Run(context.Background(), name, recs)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
		t.Logf("%s (%s): %d/%d observations identical, %d/%d outcomes identical, %d won (goal met %d)", name, check.Runtime, rep.Identical, rep.Observations, rep.SameOutcome, rep.Episodes, rep.Won, rep.GoalMet)
		if rep.Identical != rep.Observations || rep.SameOutcome != rep.Episodes || rep.Won != published[name] || rep.Episodes != 134 {
			var md bytes.Buffer
			WriteReplayMarkdown(&md, []*ReplayReport{rep})
			t.Errorf("%s differs from the recording:\n%s", name, md.String())
		}
	}
	if len(files) != len(mintFiles) {
		return
	}
	if got := Summary(reps); got != "replay: 895/895 observations identical, 402/402 outcomes identical, 279 won" {
		t.Errorf("summary: %s", got)
	}
}

// TestReplayDetectsDifferences: a changed recording is reported as a
// mismatch with its diff, and a changed outcome as an outcome difference.
func TestReplayDetectsDifferences(t *testing.T) {
	recs, err := ReadRecords("../testdata/alfworld/mint/gpt-4-0613.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[0]
	rec.Observations = append([]string(nil), rec.Observations...)
	rec.Observations[0] = strings.Replace(rec.Observations[0], "peppershaker", "saltshaker", 1)
	rec.Success = !rec.Success
	check := &ReplayCheck{Runtime: "starlark", NewRuntime: starlark, Start: startEmbedded}
	rep, err := check.Run(context.Background(), "edited", []Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].Turn != 1 || len(rep.OutcomeDifferences) != 1 {
		t.Fatalf("mismatches %+v, outcome differences %v", rep.Mismatches, rep.OutcomeDifferences)
	}
	var md bytes.Buffer
	if err := WriteReplayMarkdown(&md, []*ReplayReport{rep}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "- On the cabinet 1, you see a mug 2, and a saltshaker 2.") || !strings.Contains(md.String(), "+ On the cabinet 1, you see a mug 2, and a peppershaker 2.") {
		t.Fatalf("diff missing:\n%s", md.String())
	}
}

func TestParseRecordsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"{not json}\n", "line 1"},
		{`{"task": {}, "state": {}}` + "\n", "no task.task_id"},
	} {
		if _, err := ParseRecords(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestEvalResume runs an evaluation of generated games, interrupts nothing
// but runs it twice: the second run must reuse every finished episode.
func TestEvalResume(t *testing.T) {
	dir := t.TempDir()
	jobs := genJobs(12)
	variant := func(f Format) Variant {
		return Variant{Name: string(f), Spec: Spec{Config: Config{Format: f, MaxTurns: 30}, NewRuntime: starlark, PolicyName: "expert", Runtime: "starlark"}}
	}
	variants := []Variant{variant(Code), variant(Text)}
	path := filepath.Join(dir, "transcripts.jsonl")
	calls := 0
	rep, err := Eval(context.Background(), jobs, variants, EvalOptions{Workers: 2, Transcripts: path, Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rep.Variants {
		if v.Episodes != 12 || v.Won != 12 {
			t.Fatalf("%s: %d/%d won", v.Name, v.Won, v.Episodes)
		}
	}
	data, _ := os.ReadFile(path)
	if n := bytes.Count(data, []byte("\n")); n != 24 {
		t.Fatalf("%d transcript lines, want 24", n)
	}
	// A torn last line (an interrupted write) and a second run.
	os.WriteFile(path, append(data, []byte(`{"variant":"code","game":"gen/x","transcr`)...), 0o644)
	ran := 0
	rep2, err := Eval(context.Background(), jobs, variants, EvalOptions{Workers: 2, Transcripts: path, Progress: func(done, total int) { ran = done }})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if bytes.Count(after, []byte("\n")) != 25 || ran != 24 {
		t.Fatalf("resume ran episodes again: %d lines, progress %d", bytes.Count(after, []byte("\n")), ran)
	}
	a, _ := json.Marshal(rep.Variants[0].Stats.Won)
	b, _ := json.Marshal(rep2.Variants[0].Stats.Won)
	if string(a) != string(b) {
		t.Fatalf("reports differ: %s vs %s", a, b)
	}
	var md bytes.Buffer
	if err := rep2.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| code | expert | code | starlark | 12 | 12 | 0 | 0 | 100.0% |") {
		t.Fatalf("markdown:\n%s", md.String())
	}
}

// TestReplayMINTPython replays the three files through the Python bridge
// (an isolated worker per episode): every observation and outcome must be
// identical to the recording. Under the race detector, where 402 isolated
// workers take minutes on two cores, it replays one file (134 episodes),
// another than TestReplayMINT's; without -race both replay all three.
func TestReplayMINTPython(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 402 Python workers")
	}
	py, err := bridge.ResolvePython(testenv.Python(t))
	if err != nil {
		t.Fatal(err)
	}
	testenv.LookPath(t, "bwrap")
	files := mintFiles
	if raceEnabled {
		files = mintFiles[1:2] // another file than TestReplayMINT's under -race
	}
	replayAll(t, files, &ReplayCheck{Runtime: "python", Start: startEmbedded, Workers: 2,
		NewRuntime: func(ctx context.Context, reg *tool.Registry) (Runtime, error) {
			return bridge.New(ctx, reg, bridge.Options{Python: py, Errors: bridge.ErrorsIPython})
		}})
}

// TestReplayParseModes: a recorded fenced python block is not code under
// MINT's parser ("I don't understand your input.") and is run under the
// lenient one, as the harness of some recorded models ran it.
func TestReplayParseModes(t *testing.T) {
	recs, err := ReadRecords("../testdata/alfworld/mint/gpt-4-0613.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[0]
	rec.Assistant = []string{"<thought>look</thought>\n```python\nprint(look())\n```"}
	rec.Observations = []string{"Observation:\n" + invalidActionText(Code) + "\nYou have 4 steps left and 2 chances to propose solution left.\n"}
	for _, tc := range []struct {
		mode      ParseMode
		identical int
	}{{"", 1}, {ParseMINT, 1}, {ParseLenient, 0}} {
		check := &ReplayCheck{Runtime: "starlark", NewRuntime: mintStarlark, Start: startEmbedded, Parse: tc.mode}
		rep, err := check.Run(context.Background(), "fenced", []Record{rec})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Observations != 1 || rep.Identical != tc.identical {
			t.Errorf("parse %q: %d/%d identical, want %d (%+v)", tc.mode, rep.Identical, rep.Observations, tc.identical, rep.Mismatches)
		}
	}
}

// TestReplayMINTErrors replays real episodes whose observations show
// IPython's error display (testdata/alfworld/mint-errors) in both
// runtimes: every observation must be identical, tracebacks included.
func TestReplayMINTErrors(t *testing.T) {
	recs, err := ReadRecords("../testdata/alfworld/mint-errors/ipython-errors.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	tracebacks := 0
	for _, r := range recs {
		for _, o := range r.Observations {
			if strings.Contains(o, "Traceback (most recent call last)") && strings.Contains(o, "Cell In[") {
				tracebacks++
			}
		}
	}
	if len(recs) != 46 || tracebacks != 61 {
		t.Fatalf("%d episodes, %d IPython tracebacks; the file holds 46 and 61", len(recs), tracebacks)
	}
	checks := []*ReplayCheck{{Runtime: "starlark", NewRuntime: mintStarlark, Start: startEmbedded, Workers: 2}}
	if !testing.Short() && !raceEnabled {
		py, err := bridge.ResolvePython(testenv.Python(t))
		if err != nil {
			t.Fatal(err)
		}
		checks = append(checks, &ReplayCheck{Runtime: "python", Start: startEmbedded, Workers: 2,
			NewRuntime: func(ctx context.Context, reg *tool.Registry) (Runtime, error) {
				return bridge.New(ctx, reg, bridge.Options{Python: py, NoIsolation: true, Errors: bridge.ErrorsIPython})
			}})
	}
	for _, check := range checks {
		rep, err := check.Run(context.Background(), "ipython-errors", recs)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d/%d observations identical, %d/%d outcomes identical", check.Runtime, rep.Identical, rep.Observations, rep.SameOutcome, rep.Episodes)
		for _, m := range rep.Mismatches {
			t.Errorf("%s: %s turn %d:\n%s", check.Runtime, m.Game, m.Turn, lineDiff(m.Want, m.Got))
		}
		for _, o := range rep.OutcomeDifferences {
			t.Errorf("%s: %s", check.Runtime, o)
		}
	}
}
