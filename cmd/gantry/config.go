package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/gantry-dev/gantry/internal/spelling"
)

// configAnnotation marks the commands whose flags can also come from the
// environment (GANTRY_<FLAG>) and from a YAML file (--config or
// GANTRY_CONFIG). The command line overrides the environment, which
// overrides the file.
const configAnnotation = "gantry.config"

// configurable marks cmd as reading the config file and the environment.
func configurable(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[configAnnotation] = "true"
	cmd.Flags().String("config", "", "YAML configuration file, keys named after the flags (flags and GANTRY_<FLAG> override it; see docs/agent.md)")
}

// envFallbacks are further environment variables a flag falls back to,
// after GANTRY_<FLAG> and the config file.
var envFallbacks = map[string]string{"base-url": "OPENAI_BASE_URL"}

// ConfigError is a bad config file or environment value: File and Line
// say where (File is empty for the environment).
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *ConfigError) Error() string {
	switch {
	case e.File == "":
		return fmt.Sprintf("config: %s: %v", e.Key, e.Err)
	case e.Line > 0 && e.Key != "":
		return fmt.Sprintf("config %s:%d: %s: %v", e.File, e.Line, e.Key, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("config %s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("config %s: %v", e.File, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrUnknownKey is the error of a config key that is no flag of any
// configurable command (a misspelling).
var ErrUnknownKey = errors.New("unknown key")

// applyConfig sets each flag of cmd that the command line left unset from
// the environment or the config file. It runs before the command (the
// root's PersistentPreRunE), so building commands reads no files.
func applyConfig(cmd *cobra.Command) error {
	if cmd.Annotations[configAnnotation] == "" {
		return nil
	}
	fl := cmd.Flags()
	path := os.Getenv("GANTRY_CONFIG")
	if f := fl.Lookup("config"); f != nil && f.Changed {
		path = f.Value.String()
	}
	file := map[string]configValue{}
	if path != "" {
		var err error
		if file, err = readConfigFile(path, knownConfigKeys(cmd.Root())); err != nil {
			return err
		}
	}
	var errs []error
	fl.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		set := func(v string) error {
			if err := f.Value.Set(v); err != nil {
				return fmt.Errorf("cannot use %q for --%s: %w", v, f.Name, err)
			}
			return nil
		}
		env := "GANTRY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := set(v); err != nil {
				errs = append(errs, &ConfigError{Key: env, Err: err})
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := set(v.value); err != nil {
				errs = append(errs, &ConfigError{File: path, Line: v.line, Key: v.key, Err: err})
			}
			return
		}
		if env, ok := envFallbacks[f.Name]; ok {
			if v, ok := os.LookupEnv(env); ok && v != "" {
				if err := set(v); err != nil {
					errs = append(errs, &ConfigError{Key: env, Err: err})
				}
			}
		}
	})
	return errors.Join(errs...)
}

// configValue is one key of the config file.
type configValue struct {
	key, value string
	line       int
}

// readConfigFile reads a YAML mapping of flag names (with _ or -) to
// scalar values. A key that is no flag of a configurable command is an
// error naming it and its line.
func readConfigFile(path string, known map[string]bool) (map[string]configValue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	return parseConfig(data, path, known)
}

// parseConfig parses the YAML of the config file path (see readConfigFile).
func parseConfig(data []byte, path string, known map[string]bool) (map[string]configValue, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	out := map[string]configValue{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: path, Line: m.Line, Err: errors.New("want a mapping of flag names to values")}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := strings.ReplaceAll(k.Value, "_", "-")
		if !known[name] {
			err := fmt.Errorf("%w %q", ErrUnknownKey, k.Value)
			if s := closest(name, known); s != "" {
				err = fmt.Errorf("%w (did you mean %s?)", err, strings.ReplaceAll(s, "-", "_"))
			}
			return nil, &ConfigError{File: path, Line: k.Line, Err: err}
		}
		if prev, dup := out[name]; dup {
			return nil, &ConfigError{File: path, Line: k.Line, Key: k.Value, Err: fmt.Errorf("set twice (first on line %d)", prev.line)}
		}
		if v.Kind != yaml.ScalarNode {
			return nil, &ConfigError{File: path, Line: v.Line, Key: k.Value, Err: errors.New("want a single value")}
		}
		out[name] = configValue{key: k.Value, value: v.Value, line: k.Line}
	}
	return out, nil
}

// knownConfigKeys are the flags of every configurable command: a file
// shared by run and eval may hold keys only one of them has.
func knownConfigKeys(root *cobra.Command) map[string]bool {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[configAnnotation] != "" {
			c.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	delete(known, "config")
	delete(known, "help")
	return known
}

// closest is the known key nearest to name by edit distance, when it is
// near enough to be a likely misspelling.
func closest(name string, known map[string]bool) string {
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	return spelling.Nearest(name, keys, spelling.Options{Near: func(name, _ string, d int) bool {
		return d < len(name)/3+2
	}})
}

func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }
