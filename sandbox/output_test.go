package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/tool"
)

// TestOutputFunc checks that an action's printed output reaches the output
// function of its context, in order, up to tool.MaxStreamed bytes.
func TestOutputFunc(t *testing.T) {
	tests := []struct {
		name, code string
		cut        bool // over tool.MaxStreamed
	}{
		{"prints", "print('a')\nprint('b', end='')\nprint(1, 2, sep='-')", false},
		{"nothing", "x = 1", false},
		{"error after output", "print('before')\n1 / 0", false},
		{"flood", "for i in range(300):\n    print('x' * 8191)", true},
	}
	s, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			calls := 0
			ctx := tool.WithOutput(context.Background(), func(chunk string) { calls++; got.WriteString(chunk) })
			res, err := s.Exec(ctx, tt.code)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !tt.cut && got.String() != res.Stdout:
				t.Fatalf("streamed %q, stdout %q", got.String(), res.Stdout)
			case tt.cut && (got.Len() != tool.MaxStreamed || !res.Truncated || !strings.HasPrefix(got.String(), res.Stdout[:1000])):
				t.Fatalf("streamed %d bytes in %d calls, want %d; truncated %t", got.Len(), calls, tool.MaxStreamed, res.Truncated)
			}
		})
	}
	// Without an output function the output is collected only.
	if res, err := s.Exec(context.Background(), "print('quiet')"); err != nil || res.Stdout != "quiet\n" {
		t.Fatalf("%+v %v", res, err)
	}
}
