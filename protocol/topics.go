package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DefaultPrefix is the MQTT topic prefix devices and gateways use unless
// told otherwise.
const DefaultPrefix = "gantry"

// The last level of each of a device's MQTT topics (docs/protocol.md,
// section 7): the gateway publishes requests on req; the device publishes
// replies on res, events on evt, and its retained description and status
// on desc and status.
const (
	TopicReq    = "req"
	TopicRes    = "res"
	TopicEvt    = "evt"
	TopicDesc   = "desc"
	TopicStatus = "status"
)

// Topics returns the MQTT topics of a device under prefix (DefaultPrefix
// when empty).
func Topics(prefix, device string) (req, res, evt, desc, status string) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	base := prefix + "/" + device + "/"
	return base + TopicReq, base + TopicRes, base + TopicEvt, base + TopicDesc, base + TopicStatus
}

// The payloads of the retained status topic.
var (
	// StatusOnline says the device is connected and subscribed: requests
	// reach it.
	StatusOnline = []byte(`{"state":"online"}`)
	// StatusOffline is a device's goodbye and its last will.
	StatusOffline = []byte(`{"state":"offline"}`)
)

// ParseStatus reads a status payload, {"state":"online"} or
// {"state":"offline"}; other fields are ignored.
func ParseStatus(p []byte) (online bool, err error) {
	var s struct {
		State *string `json:"state"`
	}
	if err := json.Unmarshal(p, &s); err != nil {
		return false, fmt.Errorf("status %s: %w", quoteShort(p), err)
	}
	if s.State == nil {
		return false, fmt.Errorf(`status %s: no "state" (want {"state":"online"} or {"state":"offline"})`, quoteShort(p))
	}
	switch *s.State {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, fmt.Errorf(`status %s: state %q is neither "online" nor "offline"`, quoteShort(p), *s.State)
}

func quoteShort(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q...", b[:80])
	}
	return fmt.Sprintf("%q", b)
}

// SplitTopic splits a gateway-bound topic "<prefix>/<device>/<kind>" into
// the device's name and the kind (TopicRes, TopicEvt, TopicDesc,
// TopicStatus); ok is false for any other topic (a request topic included)
// or a name that is not an identifier.
func SplitTopic(prefix, topic string) (name, kind string, ok bool) {
	rest, found := strings.CutPrefix(topic, prefix)
	if !found || len(rest) == 0 || rest[0] != '/' {
		return "", "", false
	}
	name, kind, found = strings.Cut(rest[1:], "/")
	if !found || !IsIdent(name) {
		return "", "", false
	}
	switch kind {
	case TopicRes, TopicEvt, TopicDesc, TopicStatus:
		return name, kind, true
	}
	return "", "", false
}

// CheckPrefix accepts a topic prefix of one or more non-empty levels with
// no wildcards.
func CheckPrefix(p string) error {
	if strings.ContainsAny(p, "+#\x00") {
		return fmt.Errorf("topic prefix %q: wildcards (+ #) and NUL are not allowed", p)
	}
	for _, level := range strings.Split(p, "/") {
		if level == "" {
			return fmt.Errorf("topic prefix %q: empty level (a leading, trailing or double /)", p)
		}
	}
	if strings.HasPrefix(p, "$") {
		return fmt.Errorf("topic prefix %q: topics starting with $ are the broker's", p)
	}
	return nil
}
