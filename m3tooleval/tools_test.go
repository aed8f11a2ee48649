package m3tooleval

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type recordedCall struct {
	Module string `json:"module"`
	Tool   string `json:"tool"`
	Args   string `json:"args"`
	Result string `json:"result"`
}

var moduleFamily = map[string]string{
	"message_decoder.py":           FamilyMessageDecoder,
	"dna_sequencer.py":             FamilyDNA,
	"trade_calculator.py":          FamilyTrade,
	"travel_itinerary_planning.py": FamilyTravel,
	"web_browsing/__init__.py":     FamilyWeb,
}

var selfArgRE = regexp.MustCompile(`'self': <[^>]*>`)

// TestRecordedToolCalls: every tool call the reference solutions made
// returns the recorded result, as its Python repr, byte for byte.
func TestRecordedToolCalls(t *testing.T) {
	var calls []recordedCall
	loadJSON(t, "tool_calls.json", &calls)
	if len(calls) != 304 {
		t.Fatalf("%d recorded calls, want 304", len(calls))
	}
	for _, c := range calls {
		family, ok := moduleFamily[c.Module]
		if !ok {
			t.Fatalf("unknown module %q", c.Module)
		}
		impls := familyImpls(family) // fresh state: the web calls are on a new browser
		im, ok := impls[c.Tool]
		if !ok {
			t.Fatalf("%s: no tool %s", family, c.Tool)
		}
		argText := selfArgRE.ReplaceAllString(c.Args, "")
		argText = strings.Replace(argText, "{, ", "{", 1)
		av, err := LiteralEval(argText)
		if err != nil {
			t.Fatalf("%s args %s: %v", c.Tool, c.Args, err)
		}
		d := av.(*Dict)
		var args []Value
		for i, k := range d.Keys {
			if strings.HasPrefix(string(k.(Str)), "*") {
				args = append(args, d.Values[i].(Tuple)...)
				continue
			}
			args = append(args, d.Values[i])
		}
		got, err := callImpl(c.Tool, im, args)
		if err != nil {
			t.Errorf("%s(%s): %v", c.Tool, c.Args, err)
			continue
		}
		if Repr(got) != c.Result {
			t.Errorf("%s(%s) = %s, want %s", c.Tool, c.Args, Repr(got), c.Result)
		}
	}
}

type sessionCall struct {
	Tool   string   `json:"tool"`
	Args   []string `json:"args"`
	Result string   `json:"result"`
}

// TestBrowserSessions: 300 random browsing sessions from a fresh browser
// reproduce every recorded result byte for byte.
func TestBrowserSessions(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "m3tooleval", "browser_sessions.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var sessions [][]sessionCall
	if err := json.NewDecoder(zr).Decode(&sessions); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for si, s := range sessions {
		impls := familyImpls(FamilyWeb)
		for ci, c := range s {
			args := make([]Value, len(c.Args))
			for i, a := range c.Args {
				args[i] = Str(a)
			}
			got, err := callImpl(c.Tool, impls[c.Tool], args)
			if err != nil {
				t.Fatalf("session %d call %d %s%v: %v", si, ci, c.Tool, c.Args, err)
			}
			if StrOf(got) != c.Result {
				t.Fatalf("session %d call %d %s%v:\n got %q\nwant %q", si, ci, c.Tool, c.Args, StrOf(got), c.Result)
			}
			calls++
		}
	}
	if len(sessions) != 300 || calls != 4467 {
		t.Errorf("%d sessions, %d calls; want 300 and 4467", len(sessions), calls)
	}
}

// TestTasksLoad: the 82 tasks, their families and expected outputs.
func TestTasksLoad(t *testing.T) {
	tasks := Tasks()
	if len(tasks) != 82 {
		t.Fatalf("%d tasks, want 82", len(tasks))
	}
	count := map[string]int{}
	for _, tk := range tasks {
		count[tk.Family]++
		if TypeName(tk.Expected) != tk.ExpectedType {
			t.Errorf("%s: expected %s is a %s, want %s", tk.Name, Repr(tk.Expected), TypeName(tk.Expected), tk.ExpectedType)
		}
		if _, err := NewEpisode(tk, Code); err != nil {
			t.Errorf("%s: %v", tk.Name, err)
		}
	}
	want := map[string]int{FamilyMessageDecoder: 8, FamilyDNA: 8, FamilyTrade: 17, FamilyTravel: 15, FamilyWeb: 34}
	for f, n := range want {
		if count[f] != n {
			t.Errorf("family %s: %d tasks, want %d", f, count[f], n)
		}
	}
}
