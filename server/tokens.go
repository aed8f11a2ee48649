package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-dev/gantry/devices"
)

// Token is one client's bearer token and what it may do.
type Token struct {
	// Name identifies the client in logs and metrics; the token itself is
	// never logged.
	Name string `yaml:"name"`
	// Token is the secret as sent in "Authorization: Bearer <token>", or
	// SHA256 its hex SHA-256, so that the file need not hold the secret.
	Token  string `yaml:"token"`
	SHA256 string `yaml:"sha256"`
	// Envs and Runtimes list the environment kinds and runtimes the token
	// may use; empty means all.
	Envs     []string `yaml:"envs"`
	Runtimes []string `yaml:"runtimes"`
	// MaxSessions bounds the sessions the token may hold at once (0: the
	// server's limit only).
	MaxSessions int `yaml:"max_sessions"`
	// Devices lists the devices the token's sessions may use, by name or
	// glob ("arm-*", "*"); empty means none.
	Devices []string `yaml:"devices"`
	// DevicePolicy is the token's own guard policy (the layout of a
	// --policy file, without audit), applied after the server's.
	DevicePolicy yaml.Node `yaml:"device_policy"`
	// DeviceReset lets the token release an emergency stop
	// (POST /v1/devices/reset).
	DeviceReset bool `yaml:"device_reset"`

	guard *devices.Guard // of DevicePolicy; nil without one
}

// allows reports whether the token may use the runtime and environment kind.
func (t *Token) allows(runtime, env string) error {
	if len(t.Runtimes) > 0 && !slices.Contains(t.Runtimes, runtime) {
		return fmt.Errorf("token %q may not use runtime %q (allowed: %s)", t.Name, runtime, strings.Join(t.Runtimes, ", "))
	}
	if len(t.Envs) > 0 && !slices.Contains(t.Envs, env) {
		return fmt.Errorf("token %q may not use environment %q (allowed: %s)", t.Name, env, strings.Join(t.Envs, ", "))
	}
	return nil
}

// Tokens is a set of tokens looked up by the SHA-256 of the secret.
type Tokens struct {
	byHash map[[sha256.Size]byte]*Token
}

// tokenFile is the layout of a tokens file.
type tokenFile struct {
	Tokens []*Token `yaml:"tokens"`
}

// ErrTokenFile is wrapped by every error of ParseTokens.
var ErrTokenFile = errors.New("tokens file")

// minTokenLen is the shortest secret accepted: 16 bytes.
const minTokenLen = 16

// LoadTokens reads a tokens file (YAML, or JSON, which YAML includes).
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	t, err := ParseTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTokens parses the text of a tokens file:
//
//	tokens:
//	  - name: alice
//	    token: 8c1f0e0d6c2b4a4f9b1e   # at least 16 characters
//	    runtimes: [starlark, python]
//	    envs: [alfworld]
//	    max_sessions: 64
//	    devices: [rover, "arm-*"]   # none when absent
//	    device_policy:              # optional, after the server's --policy
//	      default: {allow: [distance, get], rate: 2}
//	    device_reset: false         # may release an emergency stop
//	  - name: ci
//	    sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//
// Names must be unique and every entry needs exactly one of token and
// sha256. Unknown fields are errors, so that a misspelt limit is not ignored.
func ParseTokens(data []byte) (*Tokens, error) {
	var f tokenFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrTokenFile, err)
	}
	if len(f.Tokens) == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrTokenFile)
	}
	ts := &Tokens{byHash: make(map[[sha256.Size]byte]*Token, len(f.Tokens))}
	names := make(map[string]bool)
	for i, t := range f.Tokens {
		if t == nil || t.Name == "" {
			return nil, fmt.Errorf("%w: entry %d has no name", ErrTokenFile, i+1)
		}
		if names[t.Name] {
			return nil, fmt.Errorf("%w: name %q appears twice", ErrTokenFile, t.Name)
		}
		names[t.Name] = true
		var h [sha256.Size]byte
		switch {
		case t.Token != "" && t.SHA256 != "":
			return nil, fmt.Errorf("%w: %q has both token and sha256", ErrTokenFile, t.Name)
		case t.Token != "":
			if len(t.Token) < minTokenLen {
				return nil, fmt.Errorf("%w: the token of %q is shorter than %d characters", ErrTokenFile, t.Name, minTokenLen)
			}
			h = sha256.Sum256([]byte(t.Token))
			t.Token = "" // keep no secret in memory longer than needed
		case t.SHA256 != "":
			b, err := hex.DecodeString(t.SHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("%w: the sha256 of %q is not 64 hex digits", ErrTokenFile, t.Name)
			}
			copy(h[:], b)
		default:
			return nil, fmt.Errorf("%w: %q has neither token nor sha256", ErrTokenFile, t.Name)
		}
		if t.MaxSessions < 0 {
			return nil, fmt.Errorf("%w: max_sessions of %q is negative", ErrTokenFile, t.Name)
		}
		if err := t.parseDevices(); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrTokenFile, t.Name, err)
		}
		if _, dup := ts.byHash[h]; dup {
			return nil, fmt.Errorf("%w: %q has the same secret as another entry", ErrTokenFile, t.Name)
		}
		ts.byHash[h] = t
	}
	return ts, nil
}

// lookup returns the token whose secret is secret.
func (ts *Tokens) lookup(secret string) (*Token, bool) {
	t, ok := ts.byHash[sha256.Sum256([]byte(secret))]
	return t, ok
}

// Len is the number of tokens.
func (ts *Tokens) Len() int { return len(ts.byHash) }
