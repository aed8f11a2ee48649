package alfworld

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/alfdata"
)

func loadAll(t testing.TB) map[string]*Game {
	t.Helper()
	out := map[string]*Game{}
	for key, data := range alfdata.Games(t) {
		g, err := ParseGameFile(data)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if tt, err := ParseTaskType(strings.Split(key, "/")[0]); err == nil {
			if tt != g.TaskType {
				t.Errorf("%s: task type from text %v, from folder %v", key, g.TaskType, tt)
			}
			g.TaskType = tt
		}
		out[key] = g
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type mintRecord struct {
	Task struct {
		TaskID string `json:"task_id"`
		Prompt string `json:"prompt"`
	} `json:"task"`
	State struct {
		History []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"history"`
		Success bool `json:"success"`
	} `json:"state"`
}

func loadMINT(t testing.TB) map[string][]mintRecord {
	t.Helper()
	files, err := filepath.Glob(alfdata.Path(t, "testdata/alfworld/mint/*.jsonl.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no MINT records: %v", err)
	}
	out := map[string][]mintRecord{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r mintRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out[r.Task.TaskID] = append(out[r.Task.TaskID], r)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// reactIntro is the opening as ReAct and MINT show it: the welcome
// banner dropped and the paragraphs joined by single newlines.
func reactIntro(obs string) string {
	parts := strings.Split(obs, "\n\n")
	return strings.Join(parts[1:], "\n")
}

// TestOpeningMatchesMINT checks the opening observation of all 134 games
// against the prompts of MINT's real episodes.
func TestOpeningMatchesMINT(t *testing.T) {
	games := loadAll(t)
	if len(games) != 134 {
		t.Fatalf("%d games, want 134", len(games))
	}
	mint := loadMINT(t)
	checked := 0
	for _, key := range sortedKeys(games) {
		obs := NewEnv(games[key], Options{}).Reset()
		if !strings.HasPrefix(obs, "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, you see a ") {
			t.Errorf("%s: opening %q", key, obs)
		}
		recs := mint[key]
		if len(recs) == 0 {
			t.Errorf("%s: no MINT record", key)
			continue
		}
		for _, r := range recs {
			want := strings.TrimPrefix(r.Task.Prompt, "Interact with a household to solve a task. \n")
			if got := reactIntro(obs); got != want {
				t.Errorf("%s: opening\n got %q\nwant %q", key, got, want)
			}
			checked++
		}
	}
	if checked != 402 {
		t.Errorf("checked %d MINT prompts, want 402", checked)
	}
}

var callRE = regexp.MustCompile(`^(\w+)\((.*)\)$`)
var argRE = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)

// mintCommand maps a MINT tool call (old or new names) to the text
// command MINT's tool issues.
func mintCommand(name string, args []string) (string, bool) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch name {
	case "goto":
		return "go to " + arg(0), true
	case "take", "take_from":
		return "take " + arg(0) + " from " + arg(1), true
	case "put":
		return "put " + arg(0) + " in/on " + arg(1), true
	case "open", "open_receptacle":
		return "open " + arg(0), true
	case "close", "close_receptacle":
		return "close " + arg(0), true
	case "toggle":
		return "toggle " + arg(0), true
	case "use":
		return "use " + arg(0), true
	case "clean", "heat", "cool":
		return name + " " + arg(0) + " with " + arg(1), true
	case "look":
		return "look", true
	}
	return "", false
}

// stripArrive removes "You arrive at loc N. " as MINT's tools do.
func stripArrive(obs string) string {
	if strings.HasPrefix(obs, "You arrive at loc ") {
		if i := strings.Index(obs, ". "); i >= 0 {
			return obs[i+2:]
		}
	}
	return obs
}

type trajStep struct {
	cmd, obs string
}

// parseTraj reads a gt_traj.txt: Assistant blocks of one call per line,
// each followed by an Observation block of one line per call.
func parseTraj(t *testing.T, text string) []trajStep {
	t.Helper()
	var steps []trajStep
	blocks := strings.Split(text, "Assistant:\n")
	for _, b := range blocks[1:] {
		code, rest, ok := strings.Cut(b, "</execute>")
		if !ok {
			t.Fatalf("no </execute> in %q", b)
		}
		code = strings.TrimPrefix(strings.TrimSpace(code), "<execute>")
		_, obsText, ok := strings.Cut(rest, "Observation:\n")
		if !ok {
			t.Fatalf("no Observation in %q", rest)
		}
		obsLines := strings.Split(strings.TrimRight(obsText, "\n"), "\n")
		var calls []string
		for _, line := range strings.Split(strings.TrimSpace(code), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				calls = append(calls, line)
			}
		}
		if len(obsLines) < len(calls) {
			t.Fatalf("%d calls, %d observations in %q", len(calls), len(obsLines), b)
		}
		for i, c := range calls {
			m := callRE.FindStringSubmatch(c)
			if m == nil {
				t.Fatalf("cannot read call %q", c)
			}
			var args []string
			for _, a := range argRE.FindAllStringSubmatch(m[2], -1) {
				args = append(args, a[1])
			}
			cmd, ok := mintCommand(m[1], args)
			if !ok {
				t.Fatalf("unknown tool %q", m[1])
			}
			steps = append(steps, trajStep{cmd: cmd, obs: obsLines[i]})
		}
	}
	return steps
}

// TestExpertTrajectories replays every gt_traj.txt and compares each
// observation; every game must be won at the end.
func TestExpertTrajectories(t *testing.T) {
	games := loadAll(t)
	trajs := alfdata.Trajectories(t)
	total, same := 0, 0
	for _, key := range sortedKeys(trajs) {
		g := games[key]
		if g == nil {
			t.Fatalf("%s: trajectory without game", key)
		}
		steps := parseTraj(t, string(trajs[key]))
		env := NewEnv(g, Options{MaxSteps: -1})
		env.Reset()
		prev := ""
		for i, st := range steps {
			obs, _, _ := env.Step(st.cmd)
			got := stripArrive(obs)
			total++
			if got == st.obs {
				same++
			} else if key == "pick_two_obj_and_place-KeyChain-None-Safe-219/trial_T20190909_012027_782483" && st.cmd == "go to shelf 3" && prev == "go to shelf 2" {
				// The reference engine answers "Nothing happens." here
				// too: both shelves are at one location.
				if got != NothingHappens {
					t.Errorf("%s step %d %q: got %q, want %q", key, i, st.cmd, got, NothingHappens)
				}
			} else {
				t.Errorf("%s step %d %q:\n got %q\nwant %q", key, i, st.cmd, got, st.obs)
			}
			prev = st.cmd
		}
		if !env.Won() {
			t.Errorf("%s: not won after the expert trajectory", key)
		}
	}
	t.Logf("%d of %d observations identical", same, total)
}
