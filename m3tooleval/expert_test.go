package m3tooleval

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox"
)

// playExpert runs the expert's program as the first code action of a fresh
// episode in the given runner, then answers with what it printed.
func playExpert(t *testing.T, e *Episode, run CodeRunner) (Turn, Turn) {
	t.Helper()
	prog, err := ExpertProgram(e.Task)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := e.Step(ctx, ExpertReply(prog, "", 0), run)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.Step(ctx, ExpertReply(prog, first.User, 1), run)
	if err != nil {
		t.Fatal(err)
	}
	return first, second
}

// TestExpertStarlark: the expert solves all 82 tasks in the code format,
// its programs run by the Starlark sandbox, answers checked by CheckAnswer.
func TestExpertStarlark(t *testing.T) {
	solved := 0
	for _, task := range Tasks() {
		e, err := NewEpisode(task, Code)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sandbox.New(e.CodeRegistry(), sandbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		first, second := playExpert(t, e, s)
		s.Close()
		if testing.Verbose() {
			t.Logf("%s: %q", task.Name, first.User)
		}
		if second.Correct && second.Done && e.Turns() == 2 {
			solved++
		} else {
			t.Errorf("%s: observation %q, answer %q not accepted (expected %s)", task.Name, first.User, second.Parsed.Content, Repr(task.Expected))
		}
	}
	if solved != 82 {
		t.Errorf("expert solved %d of 82 tasks in Starlark", solved)
	}
}

// TestExpertPython: the same programs in the Python worker.
func TestExpertPython(t *testing.T) {
	py := testenv.Python(t)
	testenv.LookPath(t, "bwrap")
	solved := 0
	for _, task := range Tasks() {
		e, err := NewEpisode(task, Code)
		if err != nil {
			t.Fatal(err)
		}
		s, err := bridge.New(context.Background(), e.CodeRegistry(), bridge.Options{Python: py})
		if err != nil {
			t.Fatal(err)
		}
		first, second := playExpert(t, e, s)
		s.Close()
		if testing.Verbose() {
			t.Logf("%s: %q", task.Name, first.User)
		}
		if second.Correct && second.Done && e.Turns() == 2 {
			solved++
		} else {
			t.Errorf("%s: observation %q, answer %q not accepted (expected %s)", task.Name, first.User, second.Parsed.Content, Repr(task.Expected))
		}
	}
	if solved != 82 {
		t.Errorf("expert solved %d of 82 tasks in Python", solved)
	}
}
