package devices

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/repr"
)

// Outcomes of an audit record. Every attempt to call a device action, from
// any caller, ends in exactly one record whose outcome is not OutcomeSent;
// an action that is not safe also has an OutcomeSent record, with the same
// Attempt, written before it goes.
const (
	OutcomeSent    = "sent"    // the request is about to go to the device (not an end)
	OutcomeOK      = "ok"      // the device replied ok
	OutcomeError   = "error"   // an error reply, a lost or offline device, a cancelled call
	OutcomeTimeout = "timeout" // no reply in time; the action may or may not have run
	OutcomeRefused = "refused" // the guard refused (policy, bounds, rate, emergency stop); nothing was sent
	OutcomeInvalid = "invalid" // the arguments were refused before the guard (types, NaN, range, extra); nothing was sent
	OutcomeUnknown = "unknown" // no such device, action or tool (a misspelt or forged call); nothing was sent
	OutcomeDryRun  = "dry_run" // dry-run mode; nothing was sent
)

// MaxAuditArgs bounds the JSON of a record's arguments; larger arguments
// are kept as their first MaxAuditArgs bytes in ArgsTruncated.
const MaxAuditArgs = 4096

// maxAuditError bounds a record's error text.
const maxAuditError = 1024

// AuditRecord is one line of the audit log: who (session, and a hash of
// the code that asked), what (device, action, arguments), and what came of
// it. Every attempt has one record with its outcome; one that reaches a
// device has a "sent" record before it goes, with the same Attempt.
type AuditRecord struct {
	Time    time.Time `json:"time"`
	Attempt int64     `json:"attempt"`
	Session string    `json:"session,omitempty"`
	Device  string    `json:"device"`
	Action  string    `json:"action"`
	// Args are the arguments as given: numbers JSON readers cannot hold are
	// written as strings ("nan", "inf", "-inf", the digits of an integer
	// beyond 64 bits).
	Args          map[string]any  `json:"args,omitempty"`
	ArgsTruncated string          `json:"args_truncated,omitempty"`
	Outcome       string          `json:"outcome"`
	Result        json.RawMessage `json:"result,omitempty"`
	Error         string          `json:"error,omitempty"`
	CodeSHA256    string          `json:"code_sha256,omitempty"`
	DurationMS    float64         `json:"duration_ms,omitempty"`
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
	rec.Args = auditable(rec.Args).(map[string]any)
	rec.Device, rec.Action = shortName(rec.Device), shortName(rec.Action)
	if h, cut := repr.Head(rec.Error, maxAuditError, repr.Bytes); cut {
		rec.Error = h + repr.CountMark(len(rec.Error))
	}
	if rec.Args != nil {
		if b, err := json.Marshal(rec.Args); err != nil || len(b) > MaxAuditArgs {
			if err != nil {
				b = []byte(fmt.Sprint(rec.Args))
			}
			h, _ := repr.Head(string(b), MaxAuditArgs, repr.Bytes)
			rec.Args, rec.ArgsTruncated = nil, h+repr.CountMark(len(b))
		}
	}
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

// auditable copies v, writing numbers JSON or its readers cannot hold
// (NaN, ±Inf, integers beyond 64 bits) as strings and values of other types
// as their text, so that every record can be written and read.
func auditable(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int64, int32:
		return v
	case uint64:
		if x > math.MaxInt64 {
			return strconv.FormatUint(x, 10)
		}
		return v
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return v
		}
		if _, err := x.Float64(); err == nil && strings.ContainsAny(string(x), "eE.") {
			return v // a float within range
		}
		return string(x) // an integer beyond 64 bits, a float beyond float64: text every reader can read
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return repr.Float(x) // "nan", "inf", "-inf"
		}
		return x
	case float32:
		return auditable(float64(x))
	case *big.Int:
		if x == nil {
			return nil
		}
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = auditable(e)
		}
		return out
	case []string:
		return x
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = auditable(e)
		}
		return out
	}
	return fmt.Sprintf("%v", v)
}

// shortName bounds a device or action name from a caller (a forged call
// can name anything, at any length).
func shortName(s string) string {
	if len(s) <= 128 {
		return s
	}
	h, _ := repr.Head(s, 100, repr.Bytes)
	return h + repr.CountMark(len(s))
}
