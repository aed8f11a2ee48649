package devices

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Outcomes of an audit record.
const (
	OutcomeSent    = "sent"    // the request is about to go to the device
	OutcomeOK      = "ok"      // the device replied ok
	OutcomeError   = "error"   // an error reply, a timeout, a lost device
	OutcomeRefused = "refused" // the guard refused; nothing was sent
	OutcomeDryRun  = "dry_run" // dry-run mode; nothing was sent
)

// AuditRecord is one line of the audit log: who (session, and a hash of
// the code that asked), what (device, action, arguments), and what came of
// it. Every call that reaches a device has a "sent" record before it goes
// and an outcome after.
type AuditRecord struct {
	Time       time.Time       `json:"time"`
	Session    string          `json:"session,omitempty"`
	Device     string          `json:"device"`
	Action     string          `json:"action"`
	Args       map[string]any  `json:"args,omitempty"`
	Outcome    string          `json:"outcome"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	CodeSHA256 string          `json:"code_sha256,omitempty"`
	DurationMS float64         `json:"duration_ms,omitempty"`
}

// CodeHash returns the hex SHA-256 of a code action ("" for no code).
func CodeHash(code string) string {
	if code == "" {
		return ""
	}
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}

// Audit appends records to a log, one JSON object per line, each written
// with a single write.
type Audit struct {
	mu  sync.Mutex
	w   io.Writer
	c   io.Closer
	err error // the first write error; the audit refuses after it
}

// NewAudit writes records to w.
func NewAudit(w io.Writer) *Audit { return &Audit{w: w} }

// OpenAudit opens (creating if needed) an append-only audit log file.
func OpenAudit(path string) (*Audit, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return &Audit{w: f, c: f}, nil
}

// Write appends rec. After a failed write every later write fails too, so
// that the guard refuses to act without a record.
func (a *Audit) Write(rec AuditRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("audit: encode: %w", err)
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if _, err := a.w.Write(b); err != nil {
		a.err = fmt.Errorf("audit log: %w", err)
		return a.err
	}
	return nil
}

// Close closes the log file, if Audit opened one.
func (a *Audit) Close() error {
	if a.c == nil {
		return nil
	}
	return a.c.Close()
}
