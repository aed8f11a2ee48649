package mqtt

import (
	"encoding/json"
	"fmt"
)

// parseStatus reads a status payload, {"state":"online"} or
// {"state":"offline"}; other fields are ignored.
func parseStatus(p []byte) (online bool, err error) {
	var s struct {
		State *string `json:"state"`
	}
	if err := json.Unmarshal(p, &s); err != nil {
		return false, fmt.Errorf("status %s: %w", shorten(p), err)
	}
	if s.State == nil {
		return false, fmt.Errorf(`status %s: no "state" (want {"state":"online"} or {"state":"offline"})`, shorten(p))
	}
	switch *s.State {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, fmt.Errorf(`status %s: state %q is neither "online" nor "offline"`, shorten(p), *s.State)
}

func shorten(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q...", b[:80])
	}
	return fmt.Sprintf("%q", b)
}
