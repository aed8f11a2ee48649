package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigPrecedence: flags override the environment, which overrides
// the YAML file; bad values, unknown keys and unreadable files are errors
// naming the key and where it was set.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gantry.yaml")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("gantry.yaml", "format: text\nturns: 30\ntask_type: clean\ncompare: code,json # an eval key is fine in run\n")
	misspelt := write("misspelt.yaml", "format: text\ntunrs: 30\n")
	badValue := write("bad.yaml", "# budgets\nturns: many\n")
	twice := write("twice.yaml", "turns: 3\nturns: 4\n")
	hyphen := write("hyphen.yaml", "task-type: pick_heat_then_place_in_recep\nformat: text\n")
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
		{"--config flag", nil, []string{"--config", hyphen}, []string{"=== WON: pick_heat_then_place_in_recep", "(expert, text, starlark)"}, ""},
		{"bad env value", map[string]string{"GANTRY_TURNS": "many"}, nil, nil, `config: GANTRY_TURNS: cannot use "many" for --turns`},
		{"misspelt key", nil, []string{"--config", misspelt}, nil, "config " + misspelt + `:2: unknown key "tunrs" (did you mean turns?)`},
		{"bad file value", nil, []string{"--config", badValue}, nil, "config " + badValue + `:2: turns: cannot use "many" for --turns`},
		{"key twice", nil, []string{"--config", twice}, nil, "config " + twice + ":2: turns: set twice (first on line 1)"},
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
				var ce *ConfigError
				if tc.name != "missing file" && !errors.As(err, &ce) {
					t.Fatalf("%v is no *ConfigError", err)
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
	// The misspelling is an ErrUnknownKey.
	_, err := runCLI(t, "", "run", "--config", misspelt)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("got %v, want ErrUnknownKey", err)
	}
}

// FuzzParseConfig: any file parses to known keys or fails with a
// *ConfigError naming the file.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("format: text\nturns: 30\n"))
	f.Add([]byte("tunrs: 3\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("turns: [1, 2]\nturns: 3\n"))
	known := knownConfigKeys(newRootCmd())
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := parseConfig(data, "f.yaml", known)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.File != "f.yaml" {
				t.Fatalf("%v is no *ConfigError of f.yaml", err)
			}
			return
		}
		for k := range vals {
			if !known[k] {
				t.Fatalf("unknown key %q accepted", k)
			}
		}
	})
}
