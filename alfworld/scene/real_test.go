package scene

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite tables.json and golden files")

// realGame is one of the 134 valid_unseen games from the repository's testdata.
type realGame struct {
	Path      string // json_2.1.1/valid_unseen/<task>/<trial>
	FloorPlan int
	File      GameFile
	Problem   *Problem
}

var (
	realOnce  sync.Once
	realGames []realGame
	realErr   error
)

var floorPlanRe = regexp.MustCompile(`-(\d+)/trial_`)

func loadReal(t testing.TB) []realGame {
	t.Helper()
	realOnce.Do(func() {
		realGames, realErr = readRealGames(filepath.Join("..", "..", "testdata", "alfworld", "valid_unseen.tar.gz"))
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realGames
}

func readRealGames(path string) ([]realGame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var out []realGame
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(h.Name, "/game.tw-pddl") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		var gf GameFile
		if err := json.Unmarshal(data, &gf); err != nil {
			return nil, err
		}
		p, err := ReadProblem(gf.Problem)
		if err != nil {
			return nil, err
		}
		dir := strings.TrimSuffix(h.Name, "/game.tw-pddl")
		m := floorPlanRe.FindStringSubmatch(dir)
		fp, _ := strconv.Atoi(m[1])
		out = append(out, realGame{Path: dir, FloorPlan: fp, File: gf, Problem: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func realSources(t testing.TB) []SourceGame {
	var src []SourceGame
	for _, g := range loadReal(t) {
		src = append(src, SourceGame{FloorPlan: g.FloorPlan, Problem: g.Problem})
	}
	return src
}

// TestTables checks that the embedded tables are what the real games yield.
func TestTables(t *testing.T) {
	got, err := Derive(realSources(t))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile("tables.json", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if string(data) != string(tablesJSON) && !*update {
		t.Fatalf("tables.json is stale: run go test ./alfworld/scene -run TestTables -update")
	}
	// The domain most real files carry, and the grammar with {task}.
	domains := map[string]int{}
	grammars := map[string]int{}
	for _, g := range loadReal(t) {
		domains[g.File.Domain]++
		task := taskRe.FindStringSubmatch(g.File.Grammar)
		if task == nil {
			t.Fatalf("%s: grammar has no task sentence", g.Path)
		}
		grammars[strings.Replace(g.File.Grammar, task[1], "{task}", 1)]++
	}
	if len(grammars) != 1 {
		t.Fatalf("real grammars differ beyond the task sentence: %d variants", len(grammars))
	}
	for name, m := range map[string]map[string]int{"domain.pddl": domains, "grammar.twl2": grammars} {
		best, n := "", 0
		for k, v := range m {
			if v > n {
				best, n = k, v
			}
		}
		if *update {
			if err := os.WriteFile(name, []byte(best), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(have) != best {
			t.Errorf("%s is stale: run go test ./alfworld/scene -run TestTables -update", name)
		}
	}
}

var taskRe = regexp.MustCompile(`"task": \[\s*\{\s*"rhs": "(Your task is to: [^"]*)"`)

// TestGoalTemplates checks that every real goal is its task type's template
// filled with the task's types.
func TestGoalTemplates(t *testing.T) {
	tb := DefaultTables()
	for _, g := range loadReal(t) {
		task, err := TaskOfGoal(g.Problem.Goal)
		if err != nil {
			t.Fatalf("%s: %v", g.Path, err)
		}
		want, err := tb.GoalText(task)
		if err != nil {
			t.Fatal(err)
		}
		if want != g.Problem.Goal {
			t.Errorf("%s: goal differs from the %s template", g.Path, task.Kind)
		}
		if !strings.Contains(g.Path, "/"+string(task.Kind)+"-") {
			t.Errorf("%s: goal read as %s", g.Path, task.Kind)
		}
	}
}
