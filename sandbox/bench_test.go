package sandbox

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// BenchmarkTrivialAction measures the per-action overhead on a warm session.
func BenchmarkTrivialAction(b *testing.B) {
	s := newSession(b, Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Exec(ctx, "x = 1 + 1; print(x)"); err != nil {
			b.Fatal(err)
		}
	}
}

// loopCode is a loop-heavy action: string building, dict updates and
// arithmetic, the shape of code models write to scan observations.
const loopCode = `counts = {}
total = 0
for i in range(300000):
    key = "k" + str(i % 97)
    counts[key] = counts.get(key, 0) + 1
    if i % 3 == 0:
        total += i * 2
    else:
        total -= 1
print(total, len(counts))`

// BenchmarkLoopVsCPython runs loopCode here and in CPython in the same run
// and reports the ratio of the two times (cpython-ratio).
func BenchmarkLoopVsCPython(b *testing.B) {
	py := testenv.Python(b)
	s := newSession(b, Options{MaxSteps: 1 << 40, Timeout: time.Minute})
	ctx := context.Background()
	// CPython's own timing of the same code, excluding interpreter start.
	script := "import time\nt=time.perf_counter()\n" + "exec(compile(" + strconv.Quote(loopCode) + ", '<a>', 'exec'))\n" + "print(time.perf_counter()-t)"
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	pySecs, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		res, err := s.Exec(ctx, loopCode)
		if err != nil || res.Err != nil {
			b.Fatal(err, res.Err)
		}
		if strings.TrimSpace(res.Stdout) != lines[0] {
			b.Fatalf("output differs from CPython: %q vs %q", res.Stdout, lines[0])
		}
	}
	per := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(pySecs*1e3, "cpython-ms")
	b.ReportMetric(per/pySecs, "cpython-ratio")
}
