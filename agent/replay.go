package agent

import (
	"bufio"
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

// ReadRecords reads a MINT results.jsonl (optionally gzipped).
func ReadRecords(path string) ([]Record, error) {
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
		r = gz
	}
	recs, err := ParseRecords(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
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

// ParseRecords reads MINT result lines; a malformed line is an error that
// names it.
func ParseRecords(r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []Record
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var m mintLine
		if err := json.Unmarshal([]byte(line), &m); err != nil {
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
		return nil, err
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
