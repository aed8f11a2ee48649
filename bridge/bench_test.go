package bridge

import (
	"context"
	"os/exec"
	"testing"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// BenchmarkTrivialAction is the round trip of `x = 1 + 1; print(x)` on a
// warm, isolated worker.
func BenchmarkTrivialAction(b *testing.B) {
	py, err := ResolvePython(testenv.Python(b))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(context.Background(), nil, Options{Python: py, NoIsolation: !hasBwrap()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Exec(ctx, "pass"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Exec(ctx, "x = 1 + 1; print(x)"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToolCall is an action that calls a Go tool from Python.
func BenchmarkToolCall(b *testing.B) {
	py, err := ResolvePython(testenv.Python(b))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(context.Background(), tools(), Options{Python: py, NoIsolation: !hasBwrap()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	s.Exec(ctx, "pass")
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Exec(ctx, "greet('x')"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdStart starts an isolated worker and runs its first action.
func BenchmarkColdStart(b *testing.B) {
	py, err := ResolvePython(testenv.Python(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		s, err := New(ctx, nil, Options{Python: py, NoIsolation: !hasBwrap()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Exec(ctx, "x = 1"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkPythonPerAction is the alternative of starting `python3 -c` for
// every action.
func BenchmarkPythonPerAction(b *testing.B) {
	py, err := ResolvePython(testenv.Python(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := exec.Command(py, "-c", "x = 1 + 1; print(x)").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
