package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs gantry with args and stdin, and returns stdout and the error.
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestExec(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ok.star")
	if err := os.WriteFile(file, []byte("x = [i * i for i in range(4)]\nprint(f'squares: {x}')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		want     string
		exitCode int
	}{
		{"file", "", []string{"exec", file}, "squares: [0, 1, 4, 9]\n", 0},
		{"stdin", "print('hi')", []string{"exec", "-"}, "hi\n", 0},
		{"no output", "x = 1", []string{"exec", "-"}, "[Executed Successfully with No Output]\n", 0},
		{"error exits 1", "print('a')\n1/0", []string{"exec", "-"}, "a\nTraceback (most recent call last):\n  File \"<action>\", line 2, in <module>\n    1/0\nZeroDivisionError: division by zero\n", 1},
		{"timeout", "while True:\n    pass", []string{"exec", "--timeout", "50ms", "-"}, "TimeoutError", 1},
		{"alfworld tools", "print(goto('sinkbasin 1'))", []string{"exec", "--tools", "alfworld", "-"}, "On the sinkbasin 1, you see", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, tc.stdin, tc.args...)
			code := 0
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exitCode || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tc.exitCode, tc.want)
			}
		})
	}
	if _, err := runCLI(t, "", "exec", "--runtime", "cobol", "-"); err == nil || !strings.Contains(err.Error(), "unknown runtime") {
		t.Fatalf("unknown runtime: %v", err)
	}
	if _, err := runCLI(t, "", "exec", "--tools", "nope", "-"); err == nil || !strings.Contains(err.Error(), "unknown tool set") {
		t.Fatalf("unknown tool set: %v", err)
	}
	if _, err := runCLI(t, "", "exec", filepath.Join(dir, "missing.star")); err == nil || !strings.Contains(err.Error(), "read code") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, "", "version")
	if err != nil || !strings.HasPrefix(out, "gantry ") {
		t.Fatalf("%q %v", out, err)
	}
}

func TestRunAndEval(t *testing.T) {
	out, err := runCLI(t, "", "run")
	if err != nil || !strings.Contains(out, "=== WON: pick_heat_then_place_in_recep-Apple-None-GarbageCan-10/") || !strings.Contains(out, "<execute>") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	out, err = runCLI(t, "", "run", "--format", "text", "--task-type", "examine", "--seed", "3")
	if err != nil || !strings.Contains(out, "=== WON: look_at_obj_in_light") {
		t.Fatalf("run text: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "", "run", "--policy", "nobody"); err == nil || !strings.Contains(err.Error(), "unknown policy") {
		t.Fatalf("bad policy: %v", err)
	}
	dir := t.TempDir()
	out, err = runCLI(t, "", "eval", "--limit", "4", "--compare", "code,text", "--out", dir, "--quiet")
	if err != nil || !strings.Contains(out, "expert/code/starlark: 4/4 won") || !strings.Contains(out, "expert/text/starlark: 4/4 won") {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	for _, f := range []string{"report.json", "report.md", "transcripts.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runCLI(t, "", "replay", "--out", "", "../../testdata/alfworld/mint/gpt-4-0613.jsonl.gz")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "replay: 250/250 observations identical, 134/134 outcomes identical, 113 won") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
}

// countingReader is an input of n zero bytes that counts what was read.
type countingReader struct{ n, read int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	clear(p[:k])
	r.n -= k
	r.read += k
	return int(k), nil
}

// TestExecCodeSizeLimit checks that exec reads no more code than the
// code-size limit (and one byte) from stdin, a device or a file, and
// refuses a larger input with the runtime's error.
func TestExecCodeSizeLimit(t *testing.T) {
	const limit = 1 << 20
	dir := t.TempDir()
	big := filepath.Join(dir, "big.star")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), limit+1), 0o644); err != nil {
		t.Fatal(err)
	}
	atLimit := filepath.Join(dir, "at-limit.star")
	if err := os.WriteFile(atLimit, append([]byte("print('ok')\n#"), bytes.Repeat([]byte("x"), limit-13)...), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stdin  *countingReader
		args   []string
		want   string
		exit   int
		maxRed int64 // most bytes stdin may give
	}{
		{"stdin of 64 MiB", &countingReader{n: 64 << 20}, []string{"exec", "-"}, "ValueError: the action's code is more than the limit of 1 MiB (1048576 bytes) for one action; send less code per action", 1, limit + 1},
		{"endless device", nil, []string{"exec", "--runtime", "python", "/dev/zero"}, "ValueError: the action's code is more than the limit of 1 MiB", 1, 0},
		{"file over the limit", nil, []string{"exec", big}, "ValueError: the action's code is 1 MiB (1048577 bytes), more than the limit of 1 MiB (1048576 bytes) for one action", 1, 0},
		{"file at the limit", nil, []string{"exec", atLimit}, "ok", 0, 0},
		{"stdin at the limit", &countingReader{n: limit}, []string{"exec", "-"}, "[Executed Successfully with No Output]", 0, limit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newRootCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			var in io.Reader = strings.NewReader("")
			if tc.stdin != nil {
				in = tc.stdin
			}
			cmd.SetIn(in)
			cmd.SetArgs(tc.args)
			err := cmd.ExecuteContext(context.Background())
			code := 0
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exit || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, output:\n%.500s\nwant exit %d and %q", code, out.String(), tc.exit, tc.want)
			}
			if tc.stdin != nil && tc.stdin.read > tc.maxRed {
				t.Fatalf("read %d bytes of stdin, want at most %d", tc.stdin.read, tc.maxRed)
			}
		})
	}
}
