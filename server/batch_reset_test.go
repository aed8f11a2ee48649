package server

import (
	"strings"
	"testing"
)

// batchResetResult is the answer of POST /v1/batch/reset as the tests read
// it.
type batchResetResult struct {
	Results []BatchResetItem
}

// TestBatchReset resets many sessions in one request: the same game, another
// game (a replacement), a generated one, and items that fail in place.
func TestBatchReset(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true})
	const other = "look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"
	a := h.create("", map[string]any{"runtime": "none", "env": map[string]any{"game": testGame, "max_steps": 7}})
	b := h.create("", map[string]any{"runtime": "none", "env": map[string]any{"game": testGame, "max_steps": 7}})
	c := h.create("", map[string]any{"runtime": "starlark", "env": game()})
	for _, id := range []string{a.ID, b.ID, c.ID} {
		h.do("POST", "/v1/sessions/"+id+"/step", map[string]any{"command": "go to desk 1"})
	}
	h.do("POST", "/v1/sessions/"+c.ID+"/exec", map[string]any{"code": "kept = 5"})
	m3 := h.create("", map[string]any{"runtime": "none", "env": map[string]any{"kind": "m3tooleval", "task": "full_alien_message_decoding"}})

	var res batchResetResult
	r := h.do("POST", "/v1/batch/reset", map[string]any{"admissible": true, "resets": []map[string]any{
		{"session": a.ID},
		{"session": b.ID, "game": other},
		{"session": c.ID, "game": testGame},
		{"session": "s-nope"},
		{"session": a.ID, "seed": 11},
		{"session": m3.ID, "game": testGame},
		{"session": b.ID, "game": "no/such"},
	}})
	r.decode(t, &res)
	if r.status != 200 || len(res.Results) != 7 {
		t.Fatalf("batch reset: %d %s", r.status, r.body)
	}
	it := res.Results
	// The same game: a new episode of the same session.
	if it[0].Session != a.ID || it[0].Replaced != "" || it[0].StepResult == nil || it[0].Steps != 0 ||
		!strings.Contains(it[0].Observation, "put a pencil in shelf") || len(it[0].Admissible) == 0 {
		t.Fatalf("item 0: %+v", it[0])
	}
	// Another game: a new session replaces b, with b's runtime and step limit.
	nb := it[1]
	if nb.Error != nil || nb.Replaced != b.ID || nb.Session == b.ID || nb.Env == nil || nb.Env.Game != other ||
		!strings.Contains(nb.Observation, "Your task is to: examine the alarmclock with the desklamp.") {
		t.Fatalf("item 1: %s", r.body)
	}
	if r := h.do("GET", "/v1/sessions/"+b.ID, nil); r.status != 404 {
		t.Fatalf("the replaced session lives on: %d %s", r.status, r.body)
	}
	var info SessionInfo
	h.do("GET", "/v1/sessions/"+nb.Session, nil).decode(t, &info)
	if info.Runtime != "none" || info.Env.Game != other {
		t.Fatalf("replacement: %+v", info)
	}
	for range 7 {
		var st StepResult
		h.do("POST", "/v1/sessions/"+nb.Session+"/step", map[string]any{"command": "look"}).decode(t, &st)
		if st.Done != (st.Steps >= 7) {
			t.Fatalf("the step limit was not kept: %+v", st)
		}
	}
	// The session's own game: reset in place, the code's variables kept.
	if it[2].Session != c.ID || it[2].Replaced != "" || it[2].Error != nil {
		t.Fatalf("item 2: %+v", it[2])
	}
	var ex ExecResult
	h.do("POST", "/v1/sessions/"+c.ID+"/exec", map[string]any{"code": "kept"}).decode(t, &ex)
	if ex.Value != "5" {
		t.Fatalf("variables lost: %+v", ex)
	}
	// Errors stay in their items.
	if it[3].Error == nil || it[3].Error.Code != "unknown_session" {
		t.Fatalf("item 3: %+v", it[3])
	}
	if it[4].Error != nil || it[4].Replaced != a.ID || it[4].Env == nil || it[4].Env.Seed != 11 || !strings.Contains(it[4].Env.Game, "trial_G11") {
		t.Fatalf("item 4: %s", r.body)
	}
	if it[5].Error == nil || it[5].Error.Code != "bad_env" {
		t.Fatalf("item 5: %+v", it[5])
	}
	// b was replaced by item 1: its id is gone.
	if it[6].Error == nil || it[6].Error.Code != "unknown_session" {
		t.Fatalf("item 6: %+v", it[6])
	}
}

// TestBatchResetBadInput checks the refusals of the whole request and of
// items.
func TestBatchResetBadInput(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true, MaxBatch: 2, Tokens: testTokens(t)})
	s := h.create(aliceSecret, map[string]any{"runtime": "none", "env": game()})
	other := h.create(aliceSecret, map[string]any{"runtime": "none", "env": game()})
	tests := []struct {
		name, token string
		body        any
		status      int
		code        string
	}{
		{"malformed", aliceSecret, `{"resets": [`, 400, "malformed_json"},
		{"wrong type", aliceSecret, map[string]any{"resets": "all"}, 400, "wrong_type"},
		{"unknown field", aliceSecret, map[string]any{"resets": []any{}, "steps": []any{}}, 400, "unknown_field"},
		{"too large", aliceSecret, map[string]any{"resets": []map[string]any{{"session": s.ID}, {"session": s.ID}, {"session": s.ID}}}, 413, "batch_too_large"},
		{"no token", "", map[string]any{"resets": []any{}}, 401, "no_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.raw(t.Context(), tt.token, "POST", "/v1/batch/reset", tt.body)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	// Another token's session does not exist; at its quota (2), a
	// replacement takes the old session's place.
	var res batchResetResult
	r := h.raw(t.Context(), bobSecret, "POST", "/v1/batch/reset", map[string]any{"resets": []map[string]any{{"session": s.ID}}})
	r.decode(t, &res)
	if r.status != 200 || res.Results[0].Error == nil || res.Results[0].Error.Code != "unknown_session" {
		t.Fatalf("another token's session: %s", r.body)
	}
	r = h.raw(t.Context(), aliceSecret, "POST", "/v1/batch/reset", map[string]any{"resets": []map[string]any{{"session": other.ID, "seed": 3}}})
	res = batchResetResult{}
	r.decode(t, &res)
	if r.status != 200 || res.Results[0].Error != nil || res.Results[0].Replaced != other.ID {
		t.Fatalf("replacement at the quota: %s", r.body)
	}
}
