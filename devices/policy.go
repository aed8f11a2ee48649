package devices

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-dev/gantry/protocol"
)

// Policy is what the guard allows. It is usually read from YAML:
//
//	dry_run: false
//	audit: gantry-audit.jsonl
//	default:            # devices not listed below
//	  allow: []         # nothing
//	devices:
//	  rover:
//	    allow: ["*"]    # every action ...
//	    deny: [telemetry]
//	    bounds:         # tighter than the device's own
//	      drive: {speed: {min: -0.5, max: 0.5}, ms: {max: 3000}}
//	    rate: 5         # actions per second (0: no limit)
//	    burst: 10
//
// stop and describe are always allowed; reset (which clears a device's
// emergency stop) only when listed by name, never by "*": a person resets
// with `gantry devices reset`.
type Policy struct {
	// DryRun answers actions that are not safe (see ActionDesc.Safe) with
	// what would have been sent, without sending it.
	DryRun bool `yaml:"dry_run"`
	// Audit is the path of the append-only audit log; empty: no log.
	Audit string `yaml:"audit"`
	// Default applies to devices not in Devices.
	Default DevicePolicy `yaml:"default"`
	// Devices are the per-device rules, by device name.
	Devices map[string]DevicePolicy `yaml:"devices"`

	src *policySource // where the policy was read from, for messages
}

// DevicePolicy is what one device may be asked to do.
type DevicePolicy struct {
	// Allow lists the actions allowed; "*" allows every action.
	Allow []string `yaml:"allow"`
	// Deny lists actions refused even when Allow has "*".
	Deny []string `yaml:"deny"`
	// Bounds narrow numeric parameters: action → parameter → range.
	Bounds map[string]map[string]Range `yaml:"bounds"`
	// Rate is the sustained number of actions per second that are not safe
	// (sensors and queries are not limited); 0 means no limit.
	Rate float64 `yaml:"rate"`
	// Burst is how many actions may come at once (default: Rate, at least 1).
	Burst int `yaml:"burst"`
}

// Range bounds a number, inclusive; a nil end is open.
type Range struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// OpenPolicy is the policy when none is given: every device and action
// allowed within the devices' own bounds, at most 20 actions per second per
// device, no audit log.
func OpenPolicy() Policy {
	return Policy{Default: DevicePolicy{Allow: []string{"*"}, Rate: 20, Burst: 20}}
}

// MaxPolicyBytes bounds a policy file: a policy is a page of YAML, and
// anything far larger is a mistake or an attack.
const MaxPolicyBytes = 1 << 20

// maxPolicyNodes bounds the YAML nodes a policy may expand to through
// aliases (a "billion laughs" document is small but huge once expanded).
const maxPolicyNodes = 100_000

// LoadPolicy reads a YAML policy file (at most MaxPolicyBytes). Unknown
// keys, wrong types and more than one document are errors that name the
// file, the line and, for a misspelt key, the nearest valid one.
func LoadPolicy(path string) (Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return Policy{}, fmt.Errorf("read policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return Policy{}, fmt.Errorf("read policy %s: %w", path, err)
	}
	if len(b) > MaxPolicyBytes {
		return Policy{}, (&policySource{file: path}).errorf(0, "larger than %d bytes", MaxPolicyBytes)
	}
	return parsePolicy(b, path)
}

// ParsePolicy decodes a YAML policy and checks it: every key must be one
// the policy knows (the names of devices, actions and parameters are
// checked against each device's description when it appears: see
// Policy.CheckDevice).
func ParsePolicy(b []byte) (Policy, error) { return parsePolicy(b, "") }

func parsePolicy(b []byte, file string) (Policy, error) {
	src := &policySource{file: file, lines: map[string]int{}}
	if len(b) > MaxPolicyBytes {
		return Policy{}, src.errorf(0, "larger than %d bytes", MaxPolicyBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Policy{src: src}, nil // an empty policy
		}
		return Policy{}, src.errorf(0, "%v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return Policy{}, src.errorf(0, "%v", err)
		}
		return Policy{}, src.errorf(line, "more than one YAML document (a second \"---\"?); a policy is one")
	}
	w := &keyWalker{src: src}
	if err := w.top(&doc); err != nil {
		return Policy{}, err
	}
	var p Policy
	if err := doc.Decode(&p); err != nil {
		return Policy{}, src.errorf(0, "%v", err)
	}
	p.src = src
	if err := p.Validate(); err != nil {
		return Policy{}, src.errorf(0, "%w", err)
	}
	return p, nil
}

// Validate checks the policy's ranges and rates.
func (p Policy) Validate() error {
	check := func(who string, d DevicePolicy) error {
		if d.Rate < 0 {
			return fmt.Errorf("%s: rate %v is negative", who, d.Rate)
		}
		if d.Burst < 0 {
			return fmt.Errorf("%s: burst %d is negative", who, d.Burst)
		}
		for _, a := range append(append([]string(nil), d.Allow...), d.Deny...) {
			if a != "*" && !protocol.IsIdent(a) {
				return fmt.Errorf("%s: %q is not an action name", who, a)
			}
		}
		for action, params := range d.Bounds {
			for name, r := range params {
				if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
					return fmt.Errorf("%s: bounds of %s.%s: min %v > max %v", who, action, name, *r.Min, *r.Max)
				}
			}
		}
		return nil
	}
	if err := check("default", p.Default); err != nil {
		return err
	}
	names := make([]string, 0, len(p.Devices))
	for n := range p.Devices {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := check("devices."+n, p.Devices[n]); err != nil {
			return err
		}
	}
	return nil
}

// For returns the rules for device.
func (p Policy) For(device string) DevicePolicy {
	if d, ok := p.Devices[device]; ok {
		return d
	}
	return p.Default
}

// allows reports whether the rules allow action.
func (d DevicePolicy) allows(action string) bool {
	if action == "stop" || action == "describe" {
		return true
	}
	for _, a := range d.Deny {
		if a == action {
			return false
		}
	}
	for _, a := range d.Allow {
		if a == action || a == "*" && action != "reset" {
			return true
		}
	}
	return false
}

// allowedOf lists which of actions the rules allow, for error messages.
func (d DevicePolicy) allowedOf(actions []string) string {
	var ok []string
	for _, a := range actions {
		if d.allows(a) {
			ok = append(ok, a)
		}
	}
	if len(ok) == 0 {
		return "none"
	}
	return strings.Join(ok, ", ")
}
