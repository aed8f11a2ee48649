package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/tool"
)

// TestContextErrorsFromTools: a tool that gives up because the action's
// context ended (it returns the context's error) is reported as the
// interpreter reports the end of the action, whether that end is a
// cancellation or the time limit, not as a bare Go error.
func TestContextErrorsFromTools(t *testing.T) {
	tests := []struct {
		name    string
		cancel  bool // the tool cancels the caller's context; else it waits for the deadline
		errType string
	}{
		{"cancelled", true, "KeyboardInterrupt"},
		{"time limit", false, "TimeoutError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reg := tool.NewRegistry()
			reg.MustRegister(tool.Tool{Name: "give_up", Doc: "Wait for the end of the action.",
				Fn: func(actx context.Context, _ tool.Args) (any, error) {
					if tc.cancel {
						cancel()
					}
					<-actx.Done()
					return nil, actx.Err()
				}})
			s, err := New(reg, Options{Timeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res, err := s.Exec(ctx, "give_up()")
			if err != nil {
				t.Fatal(err)
			}
			if res.Err == nil || res.Err.Type != tc.errType {
				t.Fatalf("observation: %s", res.Observation())
			}
		})
	}
}
