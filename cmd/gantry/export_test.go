package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// schemaCheck reads an export with Python's json module and checks the
// schema docs/export.md gives, line by line; it prints the line count.
const schemaCheck = `
import json, sys
path, fmt = sys.argv[1], sys.argv[2]
key, role, text, roles = ("messages", "role", "content", ("system", "user", "assistant")) if fmt == "openai" else ("conversations", "from", "value", ("system", "human", "gpt"))
top = {"messages"} if fmt == "openai" else {"id", "conversations"}
n = 0
with open(path, encoding="utf-8") as f:
    for i, line in enumerate(f, 1):
        rec = json.loads(line)
        assert isinstance(rec, dict) and set(rec) == top, (i, sorted(rec))
        if fmt == "sharegpt":
            assert isinstance(rec["id"], str) and rec["id"], i
        turns = rec[key]
        assert isinstance(turns, list) and turns, i
        for t in turns:
            assert set(t) == {role, text} and isinstance(t[text], str), (i, t)
        seq = [t[role] for t in turns]
        if seq[0] == roles[0]:
            seq = seq[1:]
        assert seq and len(seq) % 2 == 0, (i, seq)
        for j, r in enumerate(seq):
            assert r == roles[1 + j % 2], (i, j, seq)
        n += 1
print(n)
`

func testPython(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GANTRY_TEST_PYTHON"); p != "" {
		return p
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("GANTRY_TEST_STRICT") != "" {
			t.Fatal("python3 not found")
		}
		t.Skip("python3 not found")
	}
	return p
}

// TestExportCLI exports a replayed eval run in both formats and reads the
// files with Python's json, checking the documented schema.
func TestExportCLI(t *testing.T) {
	py := testPython(t)
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	out, err := runCLI(t, "", "eval", "--policy", "replay", "--replay", "../../testdata/alfworld/mint/gpt-4-0613.jsonl.gz",
		"--limit", "8", "--turns", "5", "--out", run, "--quiet")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		format string
		args   []string
	}{
		{"openai", nil},
		{"sharegpt", []string{"--format", "sharegpt"}},
		{"openai", []string{"--all"}},
		{"sharegpt", []string{"--require-recovery", "--all"}},
	} {
		file := filepath.Join(dir, "out.jsonl")
		out, err := runCLI(t, "", append([]string{"export", run, "--out", file}, tc.args...)...)
		if err != nil {
			t.Fatalf("export %q: %v\n%s", tc.args, err, out)
		}
		if !strings.Contains(out, "environment    read  errored") || !strings.Contains(out, "\nalfworld          8 ") {
			t.Errorf("export %q: no counts per environment:\n%s", tc.args, out)
		}
		py, err := exec.Command(py, "-c", schemaCheck, file, tc.format).CombinedOutput()
		if err != nil {
			t.Fatalf("export %q: python: %v\n%s", tc.args, err, py)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(py)))
		if want := " of 8 episodes written to " + file; !strings.Contains(out, strconv.Itoa(n)+want) {
			t.Errorf("export %q: python read %d records; gantry said:\n%s", tc.args, n, out)
		}
		if len(tc.args) == 0 && n == 0 {
			t.Errorf("no won episode exported")
		}
	}
	if _, err := runCLI(t, "", "export", run); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: %v", err)
	}
	if _, err := runCLI(t, "", "export", run, "--out", filepath.Join(dir, "x.jsonl"), "--format", "alpaca"); err == nil || !strings.Contains(err.Error(), "openai or sharegpt") {
		t.Errorf("bad format: %v", err)
	}
}
