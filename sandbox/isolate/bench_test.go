package isolate

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// BenchmarkTrivialAction measures a trivial action on a warm session, in
// process and through a worker, and one tool call through a worker.
func BenchmarkTrivialAction(b *testing.B) {
	in, err := sandbox.New(testTools(), sandbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	iso := newSession(b, nil, Options{}, "serve")
	for _, bc := range []struct {
		name string
		s    interface {
			Exec(context.Context, string) (tool.Result, error)
		}
		code string
	}{
		{"in-process", in, "x = 1 + 1; print(x)"},
		{"worker", iso, "x = 1 + 1; print(x)"},
		{"worker-tool-call", iso, "print(add(1, 2))"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				res, err := bc.s.Exec(ctx, bc.code)
				if err != nil || res.Err != nil {
					b.Fatal(err, res.Observation())
				}
			}
		})
	}
}

// BenchmarkStart measures the start of a worker (New, then Close).
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s := newSession(b, nil, Options{}, "serve")
		s.Close()
	}
}
