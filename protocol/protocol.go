// Package protocol is the gantry/1 device protocol (docs/protocol.md), the
// part both sides share: the gateway (package devices and its transports)
// and every device (the reference firmware in package firmware, or a
// device written in Go against it).
//
// It holds the message types (Request, Reply, Event, Error), the
// self-description a device publishes (Description and its parts), the
// line codec (LineReader), request parsing and argument validation
// (ParseRequest, ValidateArgs), the MQTT topics and status payloads
// (Topics, ParseStatus) and identifiers (IsIdent). It imports nothing but
// the standard library and gantry's internal argument checker, as a
// microcontroller-class build could: no transport, no gateway.
package protocol

import (
	"encoding/json"
	"fmt"
)

// Version is the protocol version string devices report in their description.
const Version = "gantry/1"

// MaxLine is the longest line, newline included, either side may send.
const MaxLine = 4096

// CacheSize is how many replies a device remembers for idempotency.
const CacheSize = 64

// Error codes of the protocol.
const (
	CodeBadRequest    = "bad_request"
	CodeLineTooLong   = "line_too_long"
	CodeUnknownAction = "unknown_action"
	CodeInvalidArgs   = "invalid_args"
	CodeOutOfRange    = "out_of_range"
	CodeBusy          = "busy"
	CodeStopped       = "stopped"
	CodeTimeout       = "timeout"
	CodeInternal      = "internal"
)

// Error is a protocol error: a code from the list above and a message for
// people. A device sends it in an error reply; the gateway returns it,
// wrapped with the device and action, for a device's error reply (match it
// with errors.As).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Request is one parsed request line.
type Request struct {
	ID     int64          `json:"id"`
	Action string         `json:"action"`
	Args   map[string]any `json:"args,omitempty"`
}

// Reply is a device's answer to one request. ID is nil when the request's id
// could not be read.
type Reply struct {
	ID     *int64 `json:"id"`
	OK     bool   `json:"ok"`
	Result any    `json:"result,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// MarshalJSON always writes "result" on success (null included) and never on
// failure.
func (r Reply) MarshalJSON() ([]byte, error) {
	if r.OK {
		return json.Marshal(struct {
			ID     *int64 `json:"id"`
			OK     bool   `json:"ok"`
			Result any    `json:"result"`
		}{r.ID, true, r.Result})
	}
	return json.Marshal(struct {
		ID    *int64 `json:"id"`
		OK    bool   `json:"ok"`
		Error *Error `json:"error"`
	}{r.ID, false, r.Error})
}

// Event is an unsolicited message from a device. TS is the device clock in
// milliseconds.
type Event struct {
	Event string `json:"event"`
	TS    int64  `json:"ts"`
	Data  any    `json:"data"`
}

// Description is the result of the describe action: a small W3C WoT Thing
// Description.
type Description struct {
	Protocol    string                 `json:"protocol"`
	Name        string                 `json:"name"`
	Title       string                 `json:"title,omitempty"`
	Description string                 `json:"description,omitempty"`
	Actions     map[string]ActionDesc  `json:"actions"`
	Properties  map[string]PropertyDoc `json:"properties,omitempty"`
	Events      map[string]EventDesc   `json:"events,omitempty"`
}

// ActionDesc describes one action: its parameters and what it returns.
type ActionDesc struct {
	Description string           `json:"description,omitempty"`
	Params      map[string]Param `json:"params,omitempty"`
	Returns     *Schema          `json:"returns,omitempty"`
	// Safe marks an action that only reads (a sensor, a query): it changes
	// nothing in the device or the world (W3C WoT's "safe"). A gateway lets
	// safe actions through in dry-run mode and while an emergency stop holds.
	Safe bool `json:"safe,omitempty"`
}

// Param is the schema of one action parameter.
type Param struct {
	Type        string   `json:"type"`
	Unit        string   `json:"unit,omitempty"`
	Minimum     *float64 `json:"minimum,omitempty"`
	Maximum     *float64 `json:"maximum,omitempty"`
	Enum        []any    `json:"enum,omitempty"`
	Default     any      `json:"default,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Schema is a loose type description of a value (a result or event data).
type Schema struct {
	Type        string `json:"type"`
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description,omitempty"`
}

// PropertyDoc describes one property readable with the get action.
type PropertyDoc struct {
	Type        string `json:"type"`
	Unit        string `json:"unit,omitempty"`
	ReadOnly    bool   `json:"readOnly"`
	Description string `json:"description,omitempty"`
}

// EventDesc describes one kind of event.
type EventDesc struct {
	Description string  `json:"description,omitempty"`
	Data        *Schema `json:"data,omitempty"`
}

// ParamTypes are the parameter types a description may use.
var paramTypes = map[string]bool{"string": true, "number": true, "integer": true, "boolean": true, "array": true, "object": true}

// IsIdent reports whether s is a protocol identifier [A-Za-z_][A-Za-z0-9_]*.
func IsIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Validate checks a description against the protocol's rules and returns
// the first problem found.
func (d *Description) Validate() error {
	if d.Protocol != Version {
		return fmt.Errorf("protocol is %q, want %q", d.Protocol, Version)
	}
	if !IsIdent(d.Name) {
		return fmt.Errorf("device name %q is not an identifier", d.Name)
	}
	if len(d.Actions) == 0 {
		return fmt.Errorf("no actions")
	}
	for _, b := range []string{"describe", "ping", "get", "stop", "reset"} {
		if _, ok := d.Actions[b]; !ok {
			return fmt.Errorf("built-in action %q missing", b)
		}
	}
	for name, a := range d.Actions {
		if !IsIdent(name) {
			return fmt.Errorf("action name %q is not an identifier", name)
		}
		for pn, p := range a.Params {
			if !IsIdent(pn) {
				return fmt.Errorf("action %s: param name %q is not an identifier", name, pn)
			}
			if !paramTypes[p.Type] {
				return fmt.Errorf("action %s: param %s: type %q is not one of string number integer boolean array object", name, pn, p.Type)
			}
			if p.Minimum != nil && p.Maximum != nil && *p.Minimum > *p.Maximum {
				return fmt.Errorf("action %s: param %s: minimum %v > maximum %v", name, pn, *p.Minimum, *p.Maximum)
			}
		}
	}
	for name, p := range d.Properties {
		if !IsIdent(name) {
			return fmt.Errorf("property name %q is not an identifier", name)
		}
		if !paramTypes[p.Type] {
			return fmt.Errorf("property %s: type %q is not valid", name, p.Type)
		}
	}
	for name := range d.Events {
		if !IsIdent(name) {
			return fmt.Errorf("event name %q is not an identifier", name)
		}
	}
	return nil
}
