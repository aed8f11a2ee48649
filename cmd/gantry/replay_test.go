package main

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayRefusesBomb: `gantry replay` on a gzip file that expands past
// --max-input-mib stops with an error naming the file and the flag.
func TestReplayRefusesBomb(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	line := []byte(strings.Repeat(" ", 1023) + "\n")
	for i := 0; i < 4<<10; i++ { // 4 MiB
		zw.Write(line)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = runCLI(t, "", "replay", "--out", "", "--max-input-mib", "2", path)
	if err == nil || !strings.Contains(err.Error(), path+": line 2049: too large: more than 2 MiB once decompressed (raise the limit: gantry replay --max-input-mib)") {
		t.Fatalf("got %v", err)
	}
	if _, err := runCLI(t, "", "replay", "--max-input-mib", "0", path); err == nil || !strings.Contains(err.Error(), "--max-input-mib must be") {
		t.Fatalf("got %v", err)
	}
}
