package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"gopkg.in/yaml.v3"
)

// fileConfig holds defaults from the environment (GANTRY_<KEY>) and an
// optional YAML file (--config). Flags override both; the environment
// overrides the file.
type fileConfig struct {
	values map[string]any
	err    error
}

// loadConfigFromArgs finds --config in args and reads that file. A missing
// or malformed file is reported when a command runs (see check).
func loadConfigFromArgs(args []string) *fileConfig {
	c := &fileConfig{values: map[string]any{}}
	path := os.Getenv("GANTRY_CONFIG")
	for i, a := range args {
		switch {
		case a == "--config" && i+1 < len(args):
			path = args[i+1]
		case strings.HasPrefix(a, "--config="):
			path = strings.TrimPrefix(a, "--config=")
		}
	}
	if path == "" {
		return c
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.err = fmt.Errorf("config: %w", err)
		return c
	}
	if err := yaml.Unmarshal(data, &c.values); err != nil {
		c.err = fmt.Errorf("config %s: %w", path, err)
	}
	return c
}

// raw returns the value of key from the environment or the file.
func (c *fileConfig) raw(key string) (string, bool) {
	if v, ok := os.LookupEnv("GANTRY_" + strings.ToUpper(key)); ok {
		return v, true
	}
	if v, ok := c.values[key]; ok && v != nil {
		return fmt.Sprint(v), true
	}
	return "", false
}

func (c *fileConfig) str(key, def string) string {
	if v, ok := c.raw(key); ok {
		return v
	}
	return def
}

func (c *fileConfig) int(key string, def int) int {
	if v, ok := c.raw(key); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		c.fail(key, v)
	}
	return def
}

func (c *fileConfig) float(key string, def float64) float64 {
	if v, ok := c.raw(key); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
		c.fail(key, v)
	}
	return def
}

func (c *fileConfig) bool(key string, def bool) bool {
	if v, ok := c.raw(key); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
		c.fail(key, v)
	}
	return def
}

func (c *fileConfig) duration(key string, def time.Duration) time.Duration {
	if v, ok := c.raw(key); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		c.fail(key, v)
	}
	return def
}

func (c *fileConfig) fail(key, v string) {
	if c.err == nil {
		c.err = fmt.Errorf("config: %s: cannot use %q", key, v)
	}
}

func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }
