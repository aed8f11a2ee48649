package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseStep(t *testing.T) {
	tests := []struct {
		body string
		want stepRequest
		ok   bool
	}{
		{`{"command":"go to desk 1"}`, stepRequest{Command: "go to desk 1"}, true},
		{` { "command" : "look" , "admissible" : true } `, stepRequest{Command: "look", Admissible: true}, true},
		{"{\n\t\"admissible\": false,\r\n\"command\": \"\"}\n", stepRequest{}, true},
		{`{"command":"look","admissible":true}`, stepRequest{Command: "look", Admissible: true}, true},
		// Left to encoding/json: escapes, non-ASCII, other fields, duplicates, errors.
		{`{"command":"say \"hi\""}`, stepRequest{}, false},
		{`{"command":"café"}`, stepRequest{}, false},
		{`{"command":"look","x":1}`, stepRequest{}, false},
		{`{"command":"look","command":"inventory"}`, stepRequest{}, false},
		{`{"admissible":true}`, stepRequest{}, false},
		{`{"command":"look"} {}`, stepRequest{}, false},
		{`{"command":"look",}`, stepRequest{}, false},
		{`{"command":1}`, stepRequest{}, false},
		{`{"command":"look","admissible":tru}`, stepRequest{}, false},
		{`{"command":"look"`, stepRequest{}, false},
		{`{"Command":"look"}`, stepRequest{}, false},
		{``, stepRequest{}, false},
		{`[]`, stepRequest{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStep([]byte(tt.body))
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseStep(%q) = %+v, %v; want %+v, %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseStep checks that every body the hand parser takes means the
// same to encoding/json, decoded as decodeJSON decodes.
func FuzzParseStep(f *testing.F) {
	for _, s := range []string{`{"command":"go to desk 1"}`, ` { "command" : "look" , "admissible" : true } `,
		`{"admissible":false,"command":""}`, `{"command":"a","command":"b"}`, `{"command":"x"}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := parseStep(body)
		if !ok {
			return
		}
		var want stepRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("parseStep took %q, encoding/json refuses it: %v", body, err)
		}
		if dec.More() {
			t.Fatalf("parseStep took %q, which has data after its value", body)
		}
		if got != want {
			t.Fatalf("parseStep(%q) = %+v, encoding/json %+v", body, got, want)
		}
	})
}

func marshalStep(t testing.TB, res *StepResult) []byte {
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

func TestAppendStepResult(t *testing.T) {
	tests := []StepResult{
		{Observation: "You arrive at desk 1."},
		{Observation: "", Admissible: []string{}, EpisodeState: EpisodeState{Steps: 3}},
		{Observation: "a\"b\\c\n\r\t\b\f\x01<>&\x7f", Admissible: []string{"go to desk 1", "look"},
			EpisodeState: EpisodeState{Done: true, Won: true, Reward: 1, Steps: 50}},
		{Observation: "caf\xe9 \u2028 \u2029 \u00e9 \U0001F600 \xff\xfe"},
	}
	for _, res := range tests {
		got, ok := appendStepResult(nil, &res)
		if want := marshalStep(t, &res); !ok || !bytes.Equal(got, want) {
			t.Errorf("appendStepResult(%+v) =\n%s (%v)\nencoding/json:\n%s", res, got, ok, want)
		}
	}
	if _, ok := appendStepResult(nil, &StepResult{EpisodeState: EpisodeState{Reward: 0.5}}); ok {
		t.Error("reward 0.5 is left to encoding/json")
	}
	w := httptest.NewRecorder()
	half := StepResult{Observation: "x", EpisodeState: EpisodeState{Reward: 0.5}}
	new(Server).writeStepResult(w, &half)
	if want := marshalStep(t, &half); !bytes.Equal(w.Body.Bytes(), want) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("writeStepResult: %q %v, want %q", w.Body, w.Header(), want)
	}
}

// FuzzAppendStepResult checks the hand encoder against encoding/json.
func FuzzAppendStepResult(f *testing.F) {
	f.Add("You arrive at desk 1.", "look", true, 3)
	f.Add("<&>\u2028\xff\x00", "\"\\", false, 0)
	f.Fuzz(func(t *testing.T, obs, adm string, won bool, steps int) {
		res := StepResult{Observation: obs, EpisodeState: EpisodeState{Won: won, Done: won, Steps: steps}}
		if won {
			res.Reward = 1
			res.Admissible = strings.Split(adm, " ")
		}
		got, ok := appendStepResult(nil, &res)
		if want := marshalStep(t, &res); !ok || !bytes.Equal(got, want) {
			t.Fatalf("appendStepResult =\n%q\nencoding/json:\n%q", got, want)
		}
	})
}
