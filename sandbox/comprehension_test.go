package sandbox

import (
	"context"
	"testing"
)

// TestComprehensionFramesPython: the plain display shows the
// comprehension's frame as CPython 3.11 does.
func TestComprehensionFramesPython(t *testing.T) {
	s := newSession(t, Options{})
	res, err := s.Exec(context.Background(), "xs = [1, 0]\nd = {\n    x: 1 / x\n    for x in xs\n}")
	if err != nil {
		t.Fatal(err)
	}
	want := "Traceback (most recent call last):\n" +
		"  File \"<action>\", line 2, in <module>\n    d = {\n" +
		"  File \"<action>\", line 3, in <dictcomp>\n    x: 1 / x\n" +
		"ZeroDivisionError: division by zero"
	if res.Err == nil || res.Err.Traceback != want {
		t.Errorf("got:\n%v\nwant:\n%s", res.Err, want)
	}
}
