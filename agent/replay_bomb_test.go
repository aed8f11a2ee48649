package agent

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

// gzipBomb writes a gzip file of copies members, each the compression of
// chunk repeated reps times: concatenated members are one valid gzip
// stream of copies*reps*len(chunk) bytes, a few KB on disk.
func gzipBomb(t *testing.T, chunk string, reps, copies int) string {
	t.Helper()
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	block := []byte(strings.Repeat(chunk, reps))
	if _, err := zw.Write(block); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < copies; i++ {
		if _, err := f.Write(member.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// allocated returns the bytes the Go heap has allocated so far, in all:
// what a call allocates bounds what it can hold at its peak.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestReplayBoundsGzipBomb: a small gzip file that expands to 1 GiB (of
// short blank lines, or of one endless line) is refused with an error
// naming the file and the limit, after reading no more than the limit,
// with the heap it allocates bounded by the line limit, not by the file.
func TestReplayBoundsGzipBomb(t *testing.T) {
	tests := []struct {
		name       string
		chunk      string
		want       string
		maxAlloc   uint64
		wantOnDisk int64 // the bomb stays small
	}{
		// 1 GiB of lines of spaces: over the 256 MiB default.
		{"decompressed size", strings.Repeat(" ", 1023) + "\n", "more than 256 MiB once decompressed", 32 << 20, 8 << 20},
		// 1 GiB without a newline: over the 16 MiB line limit.
		{"line length", "aaaaaaaaaaaaaaa{", "line 1: too large: longer than 16 MiB", 96 << 20, 8 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := gzipBomb(t, tc.chunk, (8<<20)/len(tc.chunk), 128) // 8 MiB × 128 = 1 GiB
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > tc.wantOnDisk {
				t.Fatalf("bomb is %d bytes on disk", st.Size())
			}
			runtime.GC()
			before := allocated()
			_, err = ReadRecords(path)
			used := allocated() - before
			if err == nil || !errors.Is(err, ErrRecordsTooLarge) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("got %v, want an error naming %s and containing %q", err, path, tc.want)
			}
			t.Logf("%s: %d bytes on disk; %v; allocated %.1f MiB", tc.name, st.Size(), err, float64(used)/(1<<20))
			if used > tc.maxAlloc {
				t.Errorf("reading the bomb allocated %d MiB, want at most %d MiB", used>>20, tc.maxAlloc>>20)
			}
		})
	}
}

// TestReplayLimitsCanBeRaised: the limits are options; a file within them
// reads, and the exact boundary holds.
func TestReplayLimitsCanBeRaised(t *testing.T) {
	line := `{"task": {"task_id": "t/1"}, "state": {"history": [{"role": "assistant", "content": "hi"}]}}` + "\n"
	path := gzipBomb(t, line, 1, 3)
	if recs, err := ReadRecordsLimited(path, RecordLimits{MaxBytes: int64(3 * len(line))}); err != nil || len(recs) != 3 {
		t.Fatalf("exactly at the limit: %d records, %v", len(recs), err)
	}
	if _, err := ReadRecordsLimited(path, RecordLimits{MaxBytes: int64(3*len(line) - 1)}); !errors.Is(err, ErrRecordsTooLarge) {
		t.Fatalf("one byte over: %v", err)
	}
	if _, err := ReadRecordsLimited(path, RecordLimits{MaxLine: len(line) - 2}); !errors.Is(err, ErrRecordsTooLarge) || !strings.Contains(err.Error(), "line 1:") {
		t.Fatalf("line over: %v", err)
	}
	if recs, err := ReadRecordsLimited(path, RecordLimits{MaxLine: len(line) - 1}); err != nil || len(recs) != 3 {
		t.Fatalf("line exactly at the limit: %v", err)
	}
}
