package bridge

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/tool"
)

// TestOutputFunc checks that the worker's output reaches the output
// function of the action's context as it is printed, in order (before each
// tool call), up to tool.MaxStreamed bytes; and that output the code
// writes to fd 2 or through a subprocess is there too.
func TestOutputFunc(t *testing.T) {
	tests := []struct {
		name, code string
		cut        bool
	}{
		{"prints and calls", "print('a')\nprint(greet('b'))\nimport sys\nsys.stderr.write('err\\n')\nprint(1, 2, sep='-')", false},
		{"nothing", "x = 1", false},
		{"unicode", "print('é' * 5000)", false},
		{"flood", "import sys\nfor i in range(300):\n    sys.stdout.write('x' * 8191 + '\\n')", true},
	}
	s := newSession(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got strings.Builder
			)
			ctx := tool.WithOutput(context.Background(), func(chunk string) {
				mu.Lock()
				defer mu.Unlock()
				got.WriteString(chunk)
			})
			res, err := s.Exec(ctx, tt.code)
			if err != nil || res.Err != nil {
				t.Fatalf("%v %+v", err, res.Err)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case !tt.cut && got.String() != res.Stdout:
				t.Fatalf("streamed %.300q, stdout %.300q", got.String(), res.Stdout)
			case tt.cut && (got.Len() != tool.MaxStreamed || !res.Truncated):
				t.Fatalf("streamed %d bytes, want %d; truncated %t", got.Len(), tool.MaxStreamed, res.Truncated)
			}
		})
	}
}

// TestOutputBeforeToolCall checks that what the code printed before a
// tool call has reached the output function when the tool runs.
func TestOutputBeforeToolCall(t *testing.T) {
	var (
		mu     sync.Mutex
		got    strings.Builder
		atCall []string
	)
	reg := tool.NewRegistry()
	reg.MustRegister(tool.Tool{Name: "mark", Doc: "Note the output so far.", Returns: tool.String,
		Fn: func(context.Context, tool.Args) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			atCall = append(atCall, got.String())
			return "ok", nil
		}})
	testenv.LookPath(t, "bwrap")
	s, err := New(context.Background(), reg, Options{Python: testenv.Python(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := tool.WithOutput(context.Background(), func(chunk string) {
		mu.Lock()
		defer mu.Unlock()
		got.WriteString(chunk)
	})
	res, err := s.Exec(ctx, "print('one')\nmark()\nprint('two')\nmark()")
	if err != nil || res.Err != nil {
		t.Fatalf("%v %+v", err, res.Err)
	}
	if len(atCall) != 2 || atCall[0] != "one\n" || atCall[1] != "one\ntwo\n" {
		t.Fatalf("output seen by the tool calls: %q", atCall)
	}
}
