package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/scene"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
)

// genJobs are n generated games.
func genJobs(n int) []Job {
	gen := scene.Default()
	var jobs []Job
	for seed := int64(1); seed <= int64(n); seed++ {
		s := seed
		jobs = append(jobs, Job{ID: "gen/" + string(rune('a'+s)), Start: func(context.Context) (task.Episode, error) {
			sc, err := gen.Generate(s, scene.Options{})
			if err != nil {
				return nil, err
			}
			data, err := gen.MarshalGameFile(sc)
			if err != nil {
				return nil, err
			}
			g, err := alfworld.ParseGameFile(data)
			if err != nil {
				return nil, err
			}
			g.TaskType, _ = alfworld.ParseTaskType(sc.TaskDir())
			return alfworldtask.Start(g, alfworldtask.Options{})
		}})
	}
	return jobs
}

// expertText is a variant playing the expert in the text format (no runtime).
func expertText(name string, id RunIdentity) Variant {
	return Variant{Name: name, Identity: id, Spec: Spec{Config: Config{Format: Text, MaxTurns: 30}, PolicyName: "expert", Runtime: "starlark",
		NewPolicy: func(te task.Episode) (Policy, error) { return te.Expert(Text) }}}
}

// failingPolicy fails every call, as a model behind a dead server does.
type failingPolicy struct{}

func (failingPolicy) Next(context.Context, []Message) (Message, Usage, error) {
	return Message{}, Usage{}, errors.New("chat completion: dial tcp 127.0.0.1:9: connect: connection refused")
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}

// TestEvalRefusesAnotherRun: resuming into a transcripts file whose
// variant was played with another identity is refused, naming every
// difference, and nothing is appended.
func TestEvalRefusesAnotherRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transcripts.jsonl")
	jobs := genJobs(2)
	first := RunIdentity{Model: "alf", Temperature: 0, MaxTurns: 30, PromptHash: "0123456789ab"}
	if _, err := Eval(context.Background(), jobs, []Variant{expertText("v", first)}, EvalOptions{Transcripts: path}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   RunIdentity
		want []string
	}{
		{"model, temperature and turns", RunIdentity{Model: "roverX", Temperature: 0.9, MaxTurns: 3},
			[]string{`model: "alf" recorded, "roverX" now`, "temperature: 0 recorded, 0.9 now", "turns: 30 recorded, 3 now"}},
		{"leniency option", RunIdentity{Model: "alf", MaxTurns: 30, Options: map[string]string{"stuck": "3"}},
			[]string{`stuck: none recorded, "3" now`}},
		{"version", RunIdentity{Model: "alf", MaxTurns: 30, Version: "v9.9.9"}, []string{`gantry version: "devel" recorded, "v9.9.9" now`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countLines(t, path)
			_, err := Eval(context.Background(), jobs, []Variant{expertText("v", tc.id)}, EvalOptions{Transcripts: path})
			var ie *IdentityError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *IdentityError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if n := countLines(t, path); n != before {
				t.Fatalf("%d lines appended", n-before)
			}
		})
	}
	// Another variant (named by another model) with other settings.
	other := expertText("w", RunIdentity{Model: "roverX", MaxTurns: 3})
	if _, err := Eval(context.Background(), jobs, []Variant{other}, EvalOptions{Transcripts: path}); err == nil || !strings.Contains(err.Error(), "turns: 30 recorded, 3 now") {
		t.Fatalf("another variant with other settings: %v", err)
	}
	// The same identity resumes (nothing to play).
	rep, err := Eval(context.Background(), jobs, []Variant{expertText("v", first)}, EvalOptions{Transcripts: path})
	if err != nil || rep.Variants[0].Won != 2 {
		t.Fatalf("resume: %v %+v", err, rep)
	}
	if rep.Variants[0].Run == nil || rep.Variants[0].Run.Model != "alf" || rep.Variants[0].Run.PromptHash != first.PromptHash {
		t.Fatalf("report lacks the identity: %+v", rep.Variants[0].Run)
	}
}

// TestEvalErroredEpisodes: episodes a failing model ends are errored, not
// lost; a resumed run plays them again and keeps the finished ones.
func TestEvalErroredEpisodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transcripts.jsonl")
	jobs := genJobs(4)
	down := expertText("v", RunIdentity{})
	down.PolicyFor = func(id string) PolicyFactory {
		if id == jobs[0].ID {
			return down.Spec.NewPolicy // the server answered the first game
		}
		return func(task.Episode) (Policy, error) { return failingPolicy{}, nil }
	}
	var shown []string
	rep, err := Eval(context.Background(), jobs, []Variant{down}, EvalOptions{Transcripts: path, OnResult: func(r EpisodeResult) {
		if r.Errored() {
			shown = append(shown, r.Game)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Variants[0]
	if v.Episodes != 1 || v.Won != 1 || v.Lost != 0 || v.Errored != 3 || v.SuccessRate != 1 || rep.Errored() != 3 || len(shown) != 3 {
		t.Fatalf("got %+v (errored shown: %v)", v.Stats, shown)
	}
	if len(v.Errors) != 3 || !strings.Contains(v.Errors[0], "connection refused") {
		t.Fatalf("errors: %q", v.Errors)
	}
	// The server is back: only the three errored episodes run.
	var ran atomic.Int32
	up := expertText("v", RunIdentity{})
	up.PolicyFor = func(id string) PolicyFactory {
		ran.Add(1)
		return up.Spec.NewPolicy
	}
	rep, err = Eval(context.Background(), jobs, []Variant{up}, EvalOptions{Transcripts: path})
	if err != nil {
		t.Fatal(err)
	}
	v = rep.Variants[0]
	if ran.Load() != 3 || v.Episodes != 4 || v.Won != 4 || v.Errored != 0 || rep.Errored() != 0 {
		t.Fatalf("ran %d; got %+v", ran.Load(), v.Stats)
	}
	if n := countLines(t, path); n != 7 {
		t.Fatalf("%d lines, want 7 (4 + 3 played again)", n)
	}
}

// TestEvalReportCoversFolder: a second variant run into the same file
// adds to the report instead of replacing it.
func TestEvalReportCoversFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transcripts.jsonl")
	jobs := genJobs(2)
	if _, err := Eval(context.Background(), jobs, []Variant{expertText("a", RunIdentity{})}, EvalOptions{Transcripts: path}); err != nil {
		t.Fatal(err)
	}
	// b stands for a model policy: its server and temperature are its own.
	b := expertText("b", RunIdentity{Model: "other", BaseURL: "http://127.0.0.1:1/v1", Temperature: 0.7})
	rep, err := Eval(context.Background(), jobs[:1], []Variant{b}, EvalOptions{Transcripts: path})
	if err != nil {
		t.Fatal(err)
	}
	// Both again, as a --compare of the two resumes.
	if _, err := Eval(context.Background(), jobs[:1], []Variant{expertText("a", RunIdentity{}), b}, EvalOptions{Transcripts: path}); err != nil {
		t.Fatal(err)
	}
	if len(rep.Variants) != 2 || rep.Variants[0].Name != "a" || rep.Variants[0].Episodes != 2 || rep.Variants[1].Name != "b" || rep.Variants[1].Episodes != 1 {
		t.Fatalf("report: %+v", rep.Variants)
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| a | expert | text | starlark | 2 | 2 | 0 | 0 | 100.0% |", "| b | other |"} {
		if !strings.Contains(md.String(), w) {
			t.Fatalf("markdown lacks %q:\n%s", w, md.String())
		}
	}
}

// blockingPolicy waits for the episode's context to end.
type blockingPolicy struct{ started chan<- struct{} }

func (p blockingPolicy) Next(ctx context.Context, _ []Message) (Message, Usage, error) {
	p.started <- struct{}{}
	<-ctx.Done()
	return Message{}, Usage{}, ctx.Err()
}

// TestEvalInterruptProgress: after cancellation, the progress count is
// the number of episodes written, not of episodes started.
func TestEvalInterruptProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transcripts.jsonl")
	jobs := genJobs(3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 4)
	v := expertText("v", RunIdentity{})
	v.PolicyFor = func(id string) PolicyFactory {
		if id == jobs[0].ID {
			return func(te task.Episode) (Policy, error) {
				<-started // the second episode is under way
				return te.Expert(Text)
			}
		}
		return func(task.Episode) (Policy, error) { return blockingPolicy{started}, nil }
	}
	last := -1
	_, err := Eval(ctx, jobs, []Variant{v}, EvalOptions{Workers: 2, Transcripts: path,
		OnResult: func(EpisodeResult) { cancel() },
		Progress: func(done, total int) { last = done }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := countLines(t, path); n != 1 || last != 1 {
		t.Fatalf("%d lines written, progress says %d", n, last)
	}
}

// TestReportMarkdownGolden: the eval report of report's test runs.
func TestReportMarkdownGolden(t *testing.T) {
	var results []EpisodeResult
	for _, run := range []string{"code", "json"} {
		r, err := ReadResults(filepath.Join("..", "report", "testdata", run, "transcripts.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r...)
	}
	var md bytes.Buffer
	if err := NewReport(results).WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.md")
	if os.Getenv("GANTRY_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, md.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md.Bytes(), want) {
		t.Fatalf("report.md differs from %s (GANTRY_UPDATE_GOLDEN=1 rewrites it):\n%s", golden, md.String())
	}
}
