package main

import (
	"strings"
	"testing"
)

// TestErrorsFlag: gantry exec shows errors as asked.
func TestErrorsFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"python by default", []string{"exec", "-"}, "a\nTraceback (most recent call last):\n  File \"<action>\", line 2, in <module>\n    1/0\nZeroDivisionError: division by zero\n"},
		{"ipython", []string{"exec", "--errors", "ipython", "-"}, "a\n" + strings.Repeat("-", 75) + "\nZeroDivisionError                         Traceback (most recent call last)\nCell In[1], line 2\n      1 print('a')\n----> 2 1/0\n\nZeroDivisionError: division by zero\n"},
		{"ipython isolated", []string{"exec", "--isolate", "--errors", "ipython", "-"}, "a\n" + strings.Repeat("-", 75) + "\nZeroDivisionError                         Traceback (most recent call last)\nCell In[1], line 2\n      1 print('a')\n----> 2 1/0\n\nZeroDivisionError: division by zero\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, "print('a')\n1/0", tc.args...)
			if err == nil {
				t.Fatal("an error exited 0")
			}
			if out != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
		})
	}
	_, err := runCLI(t, "1", "exec", "--errors", "jupyter", "-")
	if err == nil || !strings.Contains(err.Error(), `--errors: unknown error display "jupyter" (choose ipython or python)`) {
		t.Errorf("got %v", err)
	}
}

// TestMINTDefaults: run and eval show errors as MINT did and have no stuck
// rule unless asked; replay compares with MINT's display.
func TestMINTDefaults(t *testing.T) {
	for _, name := range []string{"run", "eval", "replay"} {
		cmd, _, err := newRootCmd().Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		if f := cmd.Flags().Lookup("errors"); f == nil || f.DefValue != "ipython" {
			t.Errorf("%s --errors: %+v", name, f)
		}
		if name == "replay" {
			continue
		}
		if f := cmd.Flags().Lookup("stuck"); f == nil || f.DefValue != "0" {
			t.Errorf("%s --stuck: %+v", name, f)
		}
	}
}
