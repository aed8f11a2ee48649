package devices

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-dev/gantry/firmware"
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

// LoadPolicy reads a YAML policy file; unknown keys are an error.
func LoadPolicy(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("read policy: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy decodes a YAML policy and checks it.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && err.Error() != "EOF" {
		return Policy{}, fmt.Errorf("decode: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
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
			if a != "*" && !firmware.IsIdent(a) {
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
