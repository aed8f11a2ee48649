package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/agent"
)

// exchange is one model call seen by the recording proxy.
type exchange struct {
	Request  map[string]any
	Status   int
	Response []byte
}

// recordingProxy forwards every request to the model server and keeps the
// request and the answer.
type recordingProxy struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	calls []*exchange
}

func newRecordingProxy(target *url.URL) *recordingProxy {
	rp := &recordingProxy{}
	rp.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.URL.Path = r.In.URL.Path },
		ModifyResponse: func(resp *http.Response) error {
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(data))
			if x, ok := resp.Request.Context().Value(exchangeKey{}).(*exchange); ok {
				rp.mu.Lock()
				x.Status, x.Response = resp.StatusCode, data
				rp.mu.Unlock()
			}
			return nil
		},
	}
	return rp
}

type exchangeKey struct{}

func (rp *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x := &exchange{}
	if err := json.Unmarshal(data, &x.Request); err != nil {
		x.Request = map[string]any{"unparsable": string(data)}
	}
	rp.mu.Lock()
	rp.calls = append(rp.calls, x)
	rp.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(data))
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	rp.proxy.ServeHTTP(w, r)
}

func envInt(t *testing.T, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}

// TestLiveModel drives gantry eval with a real model (Qwen2.5-Coder-0.5B-
// Instruct served by scripts/local-model, or the server at
// GANTRY_LIVE_MODEL_URL) in the code and json formats, through a proxy that
// records every call, and checks what must hold whatever the model says:
// every request carries MINT's parameters, every reply is parsed into an
// action or reported invalid, no episode ends in an error, the transcripts
// and the report are complete. It never asserts a win rate. Slow (minutes
// per model call on a busy CPU): run with GANTRY_LIVE_MODEL=1, which
// scripts/test --live-model sets. GANTRY_LIVE_MODEL_GAMES and
// GANTRY_LIVE_MODEL_TURNS size it (default 3 and 3); the figures go to the
// log and, when GANTRY_LIVE_MODEL_FIGURES names a file, to that file.
func TestLiveModel(t *testing.T) {
	if os.Getenv("GANTRY_LIVE_MODEL") != "1" {
		t.Skip("a real model on the CPU takes minutes per call: set GANTRY_LIVE_MODEL=1 (scripts/test --live-model)")
	}
	games := envInt(t, "GANTRY_LIVE_MODEL_GAMES", 3)
	turns := envInt(t, "GANTRY_LIVE_MODEL_TURNS", 3)
	base := os.Getenv("GANTRY_LIVE_MODEL_URL")
	if base == "" {
		out, err := exec.Command("../../scripts/local-model", "start").Output()
		if err != nil {
			t.Fatalf("scripts/local-model: %v", err)
		}
		base = strings.TrimSpace(string(out))
	}
	target, err := url.Parse(strings.TrimSuffix(strings.TrimRight(base, "/"), "/v1"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gantry")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rp := newRecordingProxy(target)
	srv := httptest.NewServer(rp)
	defer srv.Close()

	var figures strings.Builder
	fmt.Fprintf(&figures, "| format | games | turns | won | replies | parsed | invalid | prompt tok/s | gen tok/s | wall time |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, format := range []string{"code", "json"} {
		out := filepath.Join(dir, format)
		rp.mu.Lock()
		first := len(rp.calls)
		rp.mu.Unlock()
		start := time.Now()
		cmd := exec.Command(bin, "eval", "--policy", "openai", "--base-url", srv.URL+"/v1", "--model", "qwen2.5-coder-0.5b-instruct",
			"--format", format, "--limit", strconv.Itoa(games), "--turns", strconv.Itoa(turns), "--workers", "1", "--out", out, "--quiet")
		cmd.Env = append(os.Environ(), "OPENAI_API_KEY=", "GANTRY_API_KEY=")
		stdout, err := cmd.CombinedOutput()
		wall := time.Since(start)
		if err != nil {
			t.Fatalf("%s: gantry eval: %v\n%s", format, err, stdout)
		}
		rp.mu.Lock()
		calls := append([]*exchange(nil), rp.calls[first:]...)
		rp.mu.Unlock()

		// Every request carries MINT's parameters.
		mint := []any{}
		for _, s := range agent.MINTStop() {
			mint = append(mint, s)
		}
		for i, c := range calls {
			req := c.Request
			if temp, ok := req["temperature"].(float64); !ok || temp != 0 {
				t.Errorf("%s call %d: temperature %#v, want 0 sent", format, i, req["temperature"])
			}
			if req["max_tokens"] != float64(agent.MINTMaxTokens) || !reflect.DeepEqual(req["stop"], mint) || req["model"] != "qwen2.5-coder-0.5b-instruct" {
				t.Errorf("%s call %d: max_tokens %v, stop %q, model %v", format, i, req["max_tokens"], req["stop"], req["model"])
			}
			if _, ok := req["stream"]; ok {
				t.Errorf("%s call %d: eval streams", format, i)
			}
			if c.Status != http.StatusOK {
				t.Errorf("%s call %d: status %d: %s", format, i, c.Status, c.Response)
			}
		}

		// Transcripts complete, no episode errors, every reply parsed or reported invalid.
		results := readResultsFile(t, filepath.Join(out, "transcripts.jsonl"))
		if len(results) != games {
			t.Fatalf("%s: %d transcripts, want %d", format, len(results), games)
		}
		f, err := agent.ParseFormat(format)
		if err != nil {
			t.Fatal(err)
		}
		won, replies, parsed, invalid := 0, 0, 0, 0
		for _, r := range results {
			tr := r.Transcript
			if tr.StopReason == agent.StopError || tr.StopReason == agent.StopCancelled || tr.Error != "" {
				t.Errorf("%s %s: stop %s, error %q", format, r.Game, tr.StopReason, tr.Error)
			}
			if len(tr.Turns) == 0 || len(tr.Turns) > turns {
				t.Errorf("%s %s: %d turns", format, r.Game, len(tr.Turns))
			}
			if tr.Success {
				won++
			}
			for _, turn := range tr.Turns {
				if turn.Error != "" {
					continue // the call failed: no reply (reported above)
				}
				replies++
				again := agent.ParseAction(turn.Assistant, f)
				if again.Kind != turn.Action.Kind {
					t.Errorf("%s %s turn %d: parsed as %s now, %s in the transcript", format, r.Game, turn.Index, again.Kind, turn.Action.Kind)
				}
				switch turn.Action.Kind {
				case agent.ActExecute, agent.ActSolution:
					parsed++
					t.Logf("%s %s turn %d: %s %q -> %q", format, r.Game, turn.Index, turn.Action.Kind, excerpt(turn.Assistant, 600), excerpt(turn.Observation, 300))
				case agent.ActNone:
					invalid++
					if !strings.HasPrefix(turn.Observation, "I don't understand your input.") {
						t.Errorf("%s %s turn %d: an invalid reply answered with %q", format, r.Game, turn.Index, turn.Observation)
					}
					t.Logf("%s %s turn %d: invalid reply (%s): %q", format, r.Game, turn.Index, turn.Action.Problem, excerpt(turn.Assistant, 300))
				default:
					t.Errorf("%s %s turn %d: action kind %q", format, r.Game, turn.Index, turn.Action.Kind)
				}
			}
		}
		if replies != len(calls) && !t.Failed() {
			t.Errorf("%s: %d replies in the transcripts, %d model calls", format, replies, len(calls))
		}
		var rep agent.Report
		data, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rep); err != nil || len(rep.Variants) != 1 || rep.Variants[0].Episodes != games || rep.Variants[0].Won != won {
			t.Errorf("%s: report %v: %s", format, err, data)
		}
		if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !bytes.Contains(md, []byte(rep.Variants[0].Name)) {
			t.Errorf("%s: report.md %v", format, err)
		}

		// Speed, from llama.cpp's timings when the server gives them.
		var promptTok, promptMS, genTok, genMS float64
		for _, c := range calls {
			var tm struct {
				Timings struct {
					PromptN  float64 `json:"prompt_n"`
					PromptMS float64 `json:"prompt_ms"`
					GenN     float64 `json:"predicted_n"`
					GenMS    float64 `json:"predicted_ms"`
				} `json:"timings"`
			}
			if json.Unmarshal(c.Response, &tm) == nil {
				promptTok += tm.Timings.PromptN
				promptMS += tm.Timings.PromptMS
				genTok += tm.Timings.GenN
				genMS += tm.Timings.GenMS
			}
		}
		rate := func(n, ms float64) string {
			if ms == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", n/ms*1000)
		}
		fmt.Fprintf(&figures, "| %s | %d | ≤ %d | %d/%d | %d | %d (%.0f%%) | %d | %s | %s | %s |\n", format, games, turns, won, games, replies, parsed,
			100*float64(parsed)/float64(max(replies, 1)), invalid, rate(promptTok, promptMS), rate(genTok, genMS), wall.Round(time.Second))
	}
	t.Logf("figures:\n%s", figures.String())
	if path := os.Getenv("GANTRY_LIVE_MODEL_FIGURES"); path != "" {
		if err := os.WriteFile(path, []byte(figures.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readResultsFile reads an eval run's transcripts.
func readResultsFile(t *testing.T, path string) []agent.EpisodeResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []agent.EpisodeResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r agent.EpisodeResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Transcript == nil {
			t.Fatalf("%s: a line is not an episode: %v", path, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
