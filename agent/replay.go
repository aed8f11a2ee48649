package agent

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Record is one recorded episode of a MINT results file.
type Record struct {
	TaskID   string // the ALFWorld game, "<task>/<trial>"
	TaskType string
	Prompt   string // the task as the model saw it
	Success  bool   // whether the recorded run was won
	// Assistant holds the assistant messages in order; Observations[i] is
	// the user message that answered Assistant[i] ("" when none did).
	Assistant    []string
	Observations []string
	Terminate    string
}

// Default bounds of ReadRecords: a recorded results file is a few MB
// (the three MINT files are ~1 MB each once decompressed).
const (
	DefaultMaxRecordBytes = 256 << 20 // bytes read, after decompression
	DefaultMaxRecordLine  = 16 << 20  // bytes of one line (one episode)
)

// ErrRecordsTooLarge is the cause of a results file refused by a bound of
// RecordLimits (a gzip bomb, a line without end).
var ErrRecordsTooLarge = errors.New("too large")

// RecordLimits bound what ReadRecords reads; zero fields take the defaults.
type RecordLimits struct {
	MaxBytes int64 // bytes read after decompression (DefaultMaxRecordBytes)
	MaxLine  int   // bytes of one line (DefaultMaxRecordLine)
}

func (l RecordLimits) withDefaults() RecordLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxRecordBytes
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxRecordLine
	}
	return l
}

// ReadRecords reads a MINT results.jsonl (optionally gzipped) within the
// default limits.
func ReadRecords(path string) ([]Record, error) {
	return ReadRecordsLimited(path, RecordLimits{})
}

// ReadRecordsLimited reads a MINT results.jsonl, gzipped when its name ends
// in .gz, as a stream: it stops with an error wrapping ErrRecordsTooLarge,
// naming the file, as soon as more than lim.MaxBytes have come out of the
// decompressor or a line is longer than lim.MaxLine, so memory stays
// bounded by the limits whatever the file holds.
func ReadRecordsLimited(path string, lim RecordLimits) ([]Record, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open records: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	recs, err := parseRecords(&boundedReader{r: r, left: lim.MaxBytes, max: lim.MaxBytes}, lim.MaxLine)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// boundedReader passes at most max bytes, then fails with
// ErrRecordsTooLarge (not io.EOF: a cut file must not pass for a whole one).
type boundedReader struct {
	r         io.Reader
	left, max int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Is there more? One byte says.
		var one [1]byte
		n, err := io.ReadFull(b.r, one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %s once decompressed (raise the limit: gantry replay --max-input-mib)", ErrRecordsTooLarge, mib(b.max))
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// mintLine is the part of a MINT result line gantry reads.
type mintLine struct {
	Task struct {
		TaskID   string `json:"task_id"`
		Prompt   string `json:"prompt"`
		Metadata struct {
			TaskType string `json:"task_type"`
		} `json:"metadata"`
	} `json:"task"`
	State struct {
		History []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"history"`
		Success         bool   `json:"success"`
		TerminateReason string `json:"terminate_reason"`
	} `json:"state"`
}

// ParseRecords reads MINT result lines, each at most DefaultMaxRecordLine
// bytes; a malformed line is an error that names it.
func ParseRecords(r io.Reader) ([]Record, error) {
	return parseRecords(r, DefaultMaxRecordLine)
}

func parseRecords(r io.Reader, maxLine int) ([]Record, error) {
	sc := bufio.NewScanner(r)
	// The limit counts the newline; a buffer's capacity is a limit too.
	sc.Buffer(make([]byte, 0, min(64<<10, maxLine+1)), maxLine+1)
	var out []Record
	n := 1
	for ; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m mintLine
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if m.Task.TaskID == "" {
			return nil, fmt.Errorf("line %d: no task.task_id", n)
		}
		rec := Record{TaskID: m.Task.TaskID, TaskType: m.Task.Metadata.TaskType, Prompt: m.Task.Prompt, Success: m.State.Success, Terminate: m.State.TerminateReason}
		h := m.State.History
		for i, msg := range h {
			if msg.Role != "assistant" {
				continue
			}
			rec.Assistant = append(rec.Assistant, msg.Content)
			obs := ""
			if i+1 < len(h) && h[i+1].Role == "user" {
				obs = h[i+1].Content
			}
			rec.Observations = append(rec.Observations, obs)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: %w: longer than %s (raise the limit: gantry replay --max-line-mib)", n, ErrRecordsTooLarge, mib(int64(maxLine)))
		}
		return nil, fmt.Errorf("line %d: %w", n, err)
	}
	return out, nil
}

// ReplayPolicy plays back recorded assistant messages in order.
type ReplayPolicy struct {
	Messages []string
	next     int
}

// ErrReplayExhausted is returned when the loop asks for more turns than
// were recorded.
var ErrReplayExhausted = errors.New("replay: no more recorded turns")

// Next returns the next recorded message.
func (p *ReplayPolicy) Next(ctx context.Context, conv []Message) (Message, Usage, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, Usage{}, err
	}
	if p.next >= len(p.Messages) {
		return Message{}, Usage{}, ErrReplayExhausted
	}
	m := p.Messages[p.next]
	p.next++
	return Message{Role: Assistant, Content: m}, Usage{}, nil
}

// RecordedObservation strips MINT's framing from a recorded user message:
// the "Observation:" header and the budget lines, leaving the text the
// environment and the code produced.
func RecordedObservation(msg string) string {
	s := strings.TrimPrefix(msg, "Observation:\n")
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	for len(lines) > 0 {
		last := lines[len(lines)-1]
		if strings.HasPrefix(last, "You have ") && strings.HasSuffix(last, "chances to propose solution left.") || last == "You should take the last step to propose a solution." {
			lines = lines[:len(lines)-1]
			continue
		}
		break
	}
	return strings.Join(lines, "\n")
}
