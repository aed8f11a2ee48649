package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigPrecedence: flags override the environment, which overrides
// the YAML file; bad values and unreadable files are clear errors.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gantry.yaml")
	if err := os.WriteFile(file, []byte("format: text\nturns: 30\ntask_type: clean\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GANTRY_CONFIG", file)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    []string
		wantErr string
	}{
		{"file", nil, nil, []string{"You have 30 chances to interact", "(expert, text, starlark)", "=== WON: pick_clean_then_place_in_recep"}, ""},
		{"env over file", map[string]string{"GANTRY_TURNS": "40"}, nil, []string{"You have 40 chances to interact", "(expert, text, starlark)"}, ""},
		{"flag over env", map[string]string{"GANTRY_TURNS": "40", "GANTRY_FORMAT": "json"}, []string{"--turns", "20", "--format", "code"}, []string{"You have 20 chances to interact", "(expert, code, starlark)"}, ""},
		{"bad env value", map[string]string{"GANTRY_TURNS": "many"}, nil, nil, `config: turns: cannot use "many"`},
		{"missing file", map[string]string{"GANTRY_CONFIG": filepath.Join(dir, "absent.yaml")}, nil, nil, "absent.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			out, err := runCLI(t, "", append([]string{"run"}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
