package tool

import (
	"fmt"
	"testing"
)

func TestByteSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1023, "1023 bytes"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{1 << 20, "1 MiB"},
		{1140048, "1.1 MiB"},
		{2 << 30, "2 GiB"},
		{5 << 40, "5 TiB"},
	}
	for _, tc := range tests {
		if got := ByteSize(tc.n); got != tc.want {
			t.Errorf("ByteSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestCodeSizeError(t *testing.T) {
	tests := []struct {
		size  int64
		limit int
		want  string
	}{
		{1048577, 1 << 20, "the action's code is 1 MiB (1048577 bytes), more than the limit of 1 MiB (1048576 bytes) for one action; send less code per action"},
		{-1, 1000, "the action's code is more than the limit of 1000 bytes (1000 bytes) for one action; send less code per action"},
	}
	for _, tc := range tests {
		e := CodeSizeError(tc.size, tc.limit)
		if e.Type != "ValueError" || e.Message != tc.want || e.Traceback != "ValueError: "+tc.want {
			t.Errorf("CodeSizeError(%d, %d) = %+v", tc.size, tc.limit, e)
		}
	}
}

func ExampleCodeSizeError() {
	fmt.Println(Result{Err: CodeSizeError(3<<20, DefaultMaxCodeSize)}.Observation())
	// Output: ValueError: the action's code is 3 MiB (3145728 bytes), more than the limit of 1 MiB (1048576 bytes) for one action; send less code per action
}
