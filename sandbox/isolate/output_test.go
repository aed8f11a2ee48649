package isolate

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/tool"
)

// TestOutputFunc checks that an isolated action's printed output reaches
// the output function of its context through stdout frames, in order, up
// to tool.MaxStreamed bytes, and interleaved with tool calls.
func TestOutputFunc(t *testing.T) {
	tests := []struct {
		name, code string
		cut        bool
	}{
		{"prints and calls", "print('a')\nprint(echo('b'))\nprint(1, 2, sep='-')", false},
		{"nothing", "x = 1", false},
		{"unicode", "print('é' * 100000)", false},
		{"flood", "for i in range(300):\n    print('x' * 8191)", true},
	}
	s := newSession(t, nil, Options{}, "serve")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			ctx := tool.WithOutput(context.Background(), func(chunk string) { got.WriteString(chunk) })
			res, err := s.Exec(ctx, tt.code)
			if err != nil || res.Err != nil {
				t.Fatalf("%v %+v", err, res.Err)
			}
			switch {
			case !tt.cut && !res.Truncated && got.String() != res.Stdout:
				t.Fatalf("streamed %.200q, stdout %.200q", got.String(), res.Stdout)
			case !tt.cut && res.Truncated && !strings.HasPrefix(got.String(), res.Stdout[:1000]):
				t.Fatalf("streamed %.200q, stdout %.200q", got.String(), res.Stdout)
			case tt.cut && (got.Len() != tool.MaxStreamed || !res.Truncated):
				t.Fatalf("streamed %d bytes, want %d; truncated %t", got.Len(), tool.MaxStreamed, res.Truncated)
			}
		})
	}
}
