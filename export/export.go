// Package export turns eval transcripts into chat-format training data, as
// CodeActInstruct did with its trajectories: by default only episodes that
// succeeded, the first user message (instructions, tool descriptions,
// example, task) and any system message kept as they were, every
// observation a user turn, every reply of the model an assistant turn, the
// conversation ending with the model's last reply. A filter keeps only
// episodes in which the model hit an error and then recovered, which the
// CodeAct paper kept on purpose.
//
// Two output formats, one JSON object per line:
//
//	openai:   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
//	sharegpt: {"id": "...", "conversations": [{"from": "system"|"human"|"gpt", "value": "..."}, ...]}
package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gantry-dev/gantry/agent"
)

// Format is an output format.
type Format string

// The output formats.
const (
	OpenAI   Format = "openai"   // OpenAI fine-tuning: {"messages": [{"role", "content"}]}
	ShareGPT Format = "sharegpt" // {"id", "conversations": [{"from", "value"}]}
)

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case OpenAI, ShareGPT:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown export format %q (openai or sharegpt)", s)
}

// Options choose what is exported and how.
type Options struct {
	Format Format
	// All keeps lost episodes too (never errored or cancelled ones, whose
	// conversation the model did not finish).
	All bool
	// RequireRecovery keeps only episodes in which a turn failed (the code
	// raised an error, the tool call failed, or the reply held no action)
	// and a later turn ran without error.
	RequireRecovery bool
}

// Counts are an export's figures for one environment.
type Counts struct {
	Read        int `json:"read"`
	Errored     int `json:"errored"`      // ended by an error or cancelled: never exported
	Lost        int `json:"lost"`         // not successful (dropped unless All)
	NoRecovery  int `json:"no_recovery"`  // no error followed by a recovery (dropped with RequireRecovery)
	NoAssistant int `json:"no_assistant"` // no reply of the model to export
	Written     int `json:"written"`
}

// Summary counts an export per environment.
type Summary struct {
	Files int                `json:"files"`
	ByEnv map[string]*Counts `json:"by_env"`
}

// Total adds up the environments.
func (s *Summary) Total() Counts {
	var t Counts
	for _, c := range s.ByEnv {
		t.Read += c.Read
		t.Errored += c.Errored
		t.Lost += c.Lost
		t.NoRecovery += c.NoRecovery
		t.NoAssistant += c.NoAssistant
		t.Written += c.Written
	}
	return t
}

// WriteTable prints the counts, one row per environment and a total, and
// says which counts were dropped.
func (s *Summary) WriteTable(w io.Writer, opts Options) error {
	envs := make([]string, 0, len(s.ByEnv))
	for e := range s.ByEnv {
		envs = append(envs, e)
	}
	sort.Strings(envs)
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %6s %8s %6s %12s %13s %8s\n", "environment", "read", "errored", "lost", "no-recovery", "no-assistant", "written")
	row := func(name string, c Counts) {
		fmt.Fprintf(&b, "%-12s %6d %8d %6d %12d %13d %8d\n", name, c.Read, c.Errored, c.Lost, c.NoRecovery, c.NoAssistant, c.Written)
	}
	for _, e := range envs {
		row(e, *s.ByEnv[e])
	}
	if len(envs) != 1 {
		row("total", s.Total())
	}
	dropped := []string{"errored"}
	if !opts.All {
		dropped = append(dropped, "lost")
	}
	if opts.RequireRecovery {
		dropped = append(dropped, "no-recovery")
	}
	dropped = append(dropped, "no-assistant")
	fmt.Fprintf(&b, "dropped: %s (an episode is counted under each filter it fails, up to the one that drops it)\n", strings.Join(dropped, ", "))
	_, err := io.WriteString(w, b.String())
	return err
}

// Files resolves runs to transcript files: a directory stands for every
// transcripts.jsonl under it (an eval run folder), a file for itself (an
// eval transcripts file, or the --transcript file of gantry run).
func Files(runs []string) ([]string, error) {
	var out []string
	for _, r := range runs {
		st, err := os.Stat(r)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if !st.IsDir() {
			out = append(out, r)
			continue
		}
		n := len(out)
		err = filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == "transcripts.jsonl" {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if len(out) == n {
			return nil, fmt.Errorf("export: %s holds no transcripts.jsonl (is it an eval run folder?)", r)
		}
	}
	return out, nil
}

// Episode is one episode read from a transcripts file.
type Episode struct {
	Env        string
	Variant    string
	Game       string
	Transcript *agent.Transcript
}

// line is what a transcripts line may hold: an eval result (variant, game,
// transcript) or a bare transcript (gantry run --transcript); an "env"
// field names the environment where one is recorded.
type line struct {
	Variant    string          `json:"variant"`
	Game       string          `json:"game"`
	Env        string          `json:"env"`
	Transcript json.RawMessage `json:"transcript"`
	Messages   json.RawMessage `json:"messages"`
}

// ReadFile reads the episodes of a transcripts file. A line that is not
// JSON (torn by an interrupted write) is skipped, as eval's resume does.
func ReadFile(path string) ([]Episode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	var out []Episode
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		ep, err := ParseLine(sc.Bytes())
		if errors.Is(err, errNotJSON) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("export: %s:%d: %w", path, n, err)
		}
		out = append(out, ep)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("export: %s: %w", path, err)
	}
	return out, nil
}

// errNotJSON is a line that is not JSON: torn by an interrupted write.
var errNotJSON = errors.New("not JSON")

// ParseLine reads one line of a transcripts file: an eval result (variant,
// game, transcript) or a bare transcript (gantry run --transcript).
func ParseLine(data []byte) (Episode, error) {
	var l line
	if err := json.Unmarshal(data, &l); err != nil {
		return Episode{}, errNotJSON
	}
	raw := l.Transcript
	if raw == nil {
		if l.Messages == nil {
			return Episode{}, errors.New("neither an eval result nor a transcript")
		}
		raw = data
	}
	var tr agent.Transcript
	if err := json.Unmarshal(raw, &tr); err != nil {
		return Episode{}, fmt.Errorf("transcript: %w", err)
	}
	var inner struct {
		Env string `json:"env"`
	}
	_ = json.Unmarshal(raw, &inner)
	env := l.Env
	if env == "" {
		env = inner.Env
	}
	if env == "" {
		env = guessEnv(&tr)
	}
	game := l.Game
	if game == "" {
		game = tr.ID
	}
	return Episode{Env: env, Variant: l.Variant, Game: game, Transcript: &tr}, nil
}

// guessEnv names the environment of a transcript that does not record it.
func guessEnv(tr *agent.Transcript) string {
	switch {
	case strings.HasPrefix(tr.TaskType, "rover"):
		return "rover"
	case tr.TaskType != "":
		return "alfworld"
	}
	return "unknown"
}

// failed reports whether a turn went wrong in a way the model could fix:
// its code raised an error, its tool call failed, or its reply held no
// action.
func failed(t agent.Turn) bool {
	return t.Action.Kind == agent.ActNone || t.Result != nil && t.Result.Err != nil
}

// Recovered reports whether the model hit an error and then recovered: a
// turn failed and a later one ran without error (an action that raised
// nothing, or a proposed solution).
func Recovered(tr *agent.Transcript) bool {
	seenFailure := false
	for _, t := range tr.Turns {
		if t.Error != "" {
			return false
		}
		switch {
		case failed(t):
			seenFailure = true
		case seenFailure && (t.Action.Kind == agent.ActSolution || t.Action.Kind == agent.ActExecute && t.Result != nil):
			return true
		}
	}
	return false
}

// Conversation is the episode's conversation as training data: the
// messages up to the model's last reply (the observation after it, which
// the model never answered, is left out). Nil when the model never replied.
func Conversation(tr *agent.Transcript) []agent.Message {
	last := -1
	for i, m := range tr.Messages {
		if m.Role == agent.Assistant {
			last = i
		}
	}
	if last < 0 {
		return nil
	}
	return tr.Messages[:last+1]
}

// Writer writes episodes in one format and counts them.
type Writer struct {
	w       io.Writer
	opts    Options
	summary Summary
}

// NewWriter returns a writer of training data to w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	if opts.Format == "" {
		opts.Format = OpenAI
	}
	if _, err := ParseFormat(string(opts.Format)); err != nil {
		return nil, err
	}
	return &Writer{w: w, opts: opts, summary: Summary{ByEnv: map[string]*Counts{}}}, nil
}

// Summary returns the counts so far.
func (x *Writer) Summary() *Summary { return &x.summary }

// Write filters one episode and writes it when it passes.
func (x *Writer) Write(ep Episode) error {
	c := x.summary.ByEnv[ep.Env]
	if c == nil {
		c = &Counts{}
		x.summary.ByEnv[ep.Env] = c
	}
	c.Read++
	tr := ep.Transcript
	if tr.StopReason == agent.StopError || tr.StopReason == agent.StopCancelled || tr.Error != "" {
		c.Errored++
		return nil
	}
	if !tr.Success {
		c.Lost++
		if !x.opts.All {
			return nil
		}
	}
	if !Recovered(tr) {
		c.NoRecovery++
		if x.opts.RequireRecovery {
			return nil
		}
	}
	conv := Conversation(tr)
	if conv == nil {
		c.NoAssistant++
		return nil
	}
	var rec any
	switch x.opts.Format {
	case OpenAI:
		rec = openAIRecord{Messages: conv}
	case ShareGPT:
		r := shareGPTRecord{ID: recordID(ep)}
		for _, m := range conv {
			r.Conversations = append(r.Conversations, shareGPTTurn{From: shareGPTRole(m.Role), Value: m.Content})
		}
		rec = r
	}
	// Written as is: no \u003c for every < of <execute>.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := x.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	c.Written++
	return nil
}

// recordID names an exported episode: its variant and game.
func recordID(ep Episode) string {
	if ep.Variant == "" {
		return ep.Game
	}
	return ep.Variant + "/" + ep.Game
}

type openAIRecord struct {
	Messages []agent.Message `json:"messages"`
}

type shareGPTRecord struct {
	ID            string         `json:"id"`
	Conversations []shareGPTTurn `json:"conversations"`
}

type shareGPTTurn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

func shareGPTRole(r agent.Role) string {
	switch r {
	case agent.User:
		return "human"
	case agent.Assistant:
		return "gpt"
	}
	return string(r)
}

// ErrNoEpisodes is returned by Run when no file holds an episode.
var ErrNoEpisodes = errors.New("export: no episodes in the transcripts")

// Run exports the episodes of files to w.
func Run(w io.Writer, files []string, opts Options) (*Summary, error) {
	x, err := NewWriter(w, opts)
	if err != nil {
		return nil, err
	}
	read := 0
	for _, f := range files {
		eps, err := ReadFile(f)
		if err != nil {
			return x.Summary(), err
		}
		read += len(eps)
		for _, ep := range eps {
			if err := x.Write(ep); err != nil {
				return x.Summary(), err
			}
		}
	}
	x.summary.Files = len(files)
	if read == 0 {
		return x.Summary(), ErrNoEpisodes
	}
	return x.Summary(), nil
}
