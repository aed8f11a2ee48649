package alfworldtask_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/games"
	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/alfworldtask"
	"github.com/gantry-dev/gantry/tool"
)

func starlark(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
	// The time limit is a backstop a busy machine does not reach: no action
	// here is meant to run into it.
	return sandbox.New(reg, sandbox.Options{Timeout: time.Minute})
}

// mintFirst reads the first user message of every episode of a MINT
// results file, by game.
func mintFirst(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Task struct {
				TaskID string `json:"task_id"`
			} `json:"task"`
			State struct {
				History []agent.Message `json:"history"`
			} `json:"state"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if len(line.State.History) == 0 || line.State.History[0].Role != agent.User {
			t.Fatalf("%s: no first user message", line.Task.TaskID)
		}
		out[line.Task.TaskID] = line.State.History[0].Content
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPromptIsMINTs: the first user message of an episode played with
// MINT's configuration is byte for byte the one MINT sent, for every game
// and every recorded model (134 × 3): MINT's instructions, the tools, the
// in-context example of the game's task type, and the task. MINT defines
// its ALFWorld prompt for code actions only.
func TestPromptIsMINTs(t *testing.T) {
	models := []string{"gpt-4-0613", "CodeActAgent-Mistral-7b-v0.1", "gpt-3.5-turbo-0613"}
	first := make([]map[string]string, len(models))
	for i, model := range models {
		first[i] = mintFirst(t, "../../testdata/alfworld/mint/"+model+".jsonl.gz")
		if len(first[i]) != 134 {
			t.Fatalf("%s: %d games, want 134", model, len(first[i]))
		}
	}
	examples := map[string]bool{}
	same := make([]int, len(models))
	for id := range first[0] {
		eg, err := games.Find(id)
		if err != nil {
			t.Fatal(err)
		}
		g, err := eg.Load()
		if err != nil {
			t.Fatal(err)
		}
		te, err := alfworldtask.Start(g, alfworldtask.Options{Example: true})
		if err != nil {
			t.Fatal(err)
		}
		ep, cleanup, err := agent.NewEpisode(context.Background(), id, te, agent.Spec{Config: agent.MINTConfig(), NewRuntime: starlark})
		if err != nil {
			t.Fatal(err)
		}
		cleanup()
		examples[alfworldtask.ExampleName(g.TaskType)] = true
		for i, model := range models {
			want, ok := first[i][id]
			if !ok {
				t.Fatalf("%s: no episode of %s", model, id)
			}
			if ep.Prompt != want {
				t.Errorf("%s (%s): first message differs from MINT's at byte %d:\n%s", id, model, diffAt(ep.Prompt, want), excerpt(ep.Prompt, want))
				continue
			}
			same[i]++
		}
	}
	for i, model := range models {
		t.Logf("%s: %d/%d first messages identical", model, same[i], len(first[i]))
	}
	if len(examples) != 6 {
		t.Errorf("examples shown: %v, want all six", examples)
	}
}

func diffAt(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func excerpt(got, want string) string {
	i := diffAt(got, want)
	lo := max(i-80, 0)
	return "got:  " + strings.ReplaceAll(got[lo:min(i+80, len(got))], "\n", `\n`) + "\nwant: " + strings.ReplaceAll(want[lo:min(i+80, len(want))], "\n", `\n`)
}

// TestExamples: every task type shows its own MINT example (a heat game a
// heat example), and the other formats show none.
func TestExamples(t *testing.T) {
	tests := []struct {
		typ  alfworld.TaskType
		name string
		has  string
	}{
		{alfworld.Put, "put", "put"},
		{alfworld.PutMovable, "put", "put"},
		{alfworld.Clean, "clean", "clean("},
		{alfworld.Heat, "heat", "heat("},
		{alfworld.Cool, "cool", "cool("},
		{alfworld.Examine, "examine", "use("},
		{alfworld.PutTwo, "puttwo", "second"},
		{alfworld.Unknown, "puttwo", "second"},
	}
	for _, tc := range tests {
		if got := alfworldtask.ExampleName(tc.typ); got != tc.name {
			t.Errorf("%v: example %q, want %q", tc.typ, got, tc.name)
		}
		ex := alfworldtask.Example(tc.typ)
		if !strings.HasPrefix(ex, "Task:\n") || !strings.Contains(ex, tc.has) || !strings.HasSuffix(ex, "<solution> done </solution>\n") {
			t.Errorf("%v: example %.60q... lacks %q", tc.typ, ex, tc.has)
		}
	}
	all, err := games.ValidUnseen()
	if err != nil {
		t.Fatal(err)
	}
	g, err := all[0].Load()
	if err != nil {
		t.Fatal(err)
	}
	te, err := alfworldtask.Start(g, alfworldtask.Options{Example: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []task.Format{task.JSON, task.Text} {
		p, err := te.Prompt(f, task.Limits{MaxTurns: 5, MaxProposals: 2})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p, "Assistant:") || !strings.HasSuffix(p, te.Info().Task+"\n") {
			t.Errorf("%s prompt shows an example or lacks the task:\n%s", f, p)
		}
	}
}

// TestExpertAllFormats plays every valid_unseen game with the expert in
// each action format; the expert must win them all.
func TestExpertAllFormats(t *testing.T) {
	all, err := games.ValidUnseen()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []agent.Format{agent.Code, agent.JSON, agent.Text} {
		won := 0
		for _, eg := range all {
			g, err := eg.Load()
			if err != nil {
				t.Fatal(err)
			}
			te, err := alfworldtask.Start(g, alfworldtask.Options{Example: true})
			if err != nil {
				t.Fatal(err)
			}
			ep, cleanup, err := agent.NewEpisode(context.Background(), eg.ID, te, agent.Spec{Config: agent.Config{Format: f, MaxTurns: 30}, NewRuntime: starlark})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := ep.Run(context.Background())
			cleanup()
			if err != nil {
				t.Fatal(err)
			}
			if tr.Success {
				won++
			} else {
				t.Errorf("%s (%s): %s %s", eg.ID, f, tr.StopReason, tr.Error)
			}
		}
		t.Logf("expert, %s format: %d/%d won", f, won, len(all))
	}
}
