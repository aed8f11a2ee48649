package firmware

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/protocol"
)

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		line   string
		code   string
		withID bool
	}{
		{`not json`, protocol.CodeBadRequest, false},
		{`[1,2]`, protocol.CodeBadRequest, false},
		{`null`, protocol.CodeBadRequest, false},
		{`{"action":"ping"}`, protocol.CodeBadRequest, false},
		{`{"id":0,"action":"ping"}`, protocol.CodeBadRequest, false},
		{`{"id":-3,"action":"ping"}`, protocol.CodeBadRequest, false},
		{`{"id":1.5,"action":"ping"}`, protocol.CodeBadRequest, false},
		{`{"id":"7","action":"ping"}`, protocol.CodeBadRequest, false},
		{`{"id":7,"action":"ping"} {"id":8}`, protocol.CodeBadRequest, false},
		{`{"id":7}`, protocol.CodeBadRequest, true},
		{`{"id":7,"action":3}`, protocol.CodeBadRequest, true},
		{`{"id":7,"action":"fly"}`, protocol.CodeUnknownAction, true},
		{`{"id":7,"action":"drive","args":[]}`, protocol.CodeInvalidArgs, true},
		{`{"id":7,"action":"drive","args":{}}`, protocol.CodeInvalidArgs, true},
		{`{"id":7,"action":"drive","args":{"speed":"fast"}}`, protocol.CodeInvalidArgs, true},
		{`{"id":7,"action":"drive","args":{"speed":0.1,"ms":1.5}}`, protocol.CodeInvalidArgs, true},
		{`{"id":7,"action":"drive","args":{"speed":0.1,"wheels":2}}`, protocol.CodeInvalidArgs, true},
		{`{"id":7,"action":"drive","args":{"speed":3}}`, protocol.CodeOutOfRange, true},
		{`{"id":7,"action":"drive","args":{"speed":0.1,"ms":-1}}`, protocol.CodeOutOfRange, true},
		{`{"id":7,"action":"gripper","args":{"state":"half"}}`, protocol.CodeInvalidArgs, true},
		{`{"id":7,"action":"get","args":{"name":"colour"}}`, protocol.CodeInvalidArgs, true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.sendRaw(tt.line)
			var m map[string]any
			if tt.withID {
				rs := h.replies(7)
				if len(rs) != 1 {
					t.Fatalf("replies for id 7: %v (anonymous: %v)", rs, h.anon)
				}
				m = rs[0]
			} else {
				if len(h.anon) != 1 {
					t.Fatalf("anonymous replies: %v", h.anon)
				}
				m = h.anon[0]
				if v, ok := m["id"]; !ok || v != nil {
					t.Errorf("id = %v, want null", v)
				}
			}
			e := m["error"].(map[string]any)
			if m["ok"] != false || e["code"] != tt.code || e["message"] == "" {
				t.Errorf("reply %v, want code %s", m, tt.code)
			}
			if h.r.Executed() != 0 {
				t.Errorf("a bad request executed an action")
			}
		})
	}
}

func TestOutOfRangeMessage(t *testing.T) {
	h := newHarness(t, Options{})
	h.sendRaw(`{"id":7,"action":"drive","args":{"speed":3}}`)
	msg := h.replies(7)[0]["error"].(map[string]any)["message"]
	if msg != "speed must be <= 1, got 3" {
		t.Errorf("message %q", msg)
	}
}

func TestDuplicateIDAnsweredFromCache(t *testing.T) {
	h := newHarness(t, Options{})
	line := `{"id":5,"action":"drive","args":{"speed":0.5,"ms":200}}`
	h.sendRaw(line)
	h.sendRaw(line) // while in flight: answered when it completes
	h.clk.Advance(200 * time.Millisecond)
	h.sendRaw(line) // after: answered at once
	rs := h.replies(5)
	if len(rs) != 3 {
		t.Fatalf("%d replies, want 3", len(rs))
	}
	a, _ := json.Marshal(rs[0])
	for _, r := range rs[1:] {
		if b, _ := json.Marshal(r); string(a) != string(b) {
			t.Errorf("replies differ: %s vs %s", a, b)
		}
	}
	if h.r.Executed() != 1 {
		t.Errorf("executed %d times, want 1", h.r.Executed())
	}
	if x := h.r.Pose().X; x != 0.6 {
		t.Errorf("x = %v after one 0.1 m drive, want 0.6", x)
	}
	// The same id with another action still gets the remembered reply.
	h.sendRaw(`{"id":5,"action":"ping"}`)
	if len(h.replies(5)) != 4 || h.r.Executed() != 1 {
		t.Error("repeated id with a different action was executed")
	}
}

func TestCacheKeepsLast64(t *testing.T) {
	h := newHarness(t, Options{})
	for i := 1; i <= 100; i++ {
		h.call("ping", nil)
	}
	before := h.r.Executed()
	h.sendRaw(`{"id":37,"action":"ping"}`) // within the last 64: cached
	if h.r.Executed() != before {
		t.Error("id 37 (within the last 64) was executed again")
	}
	h.sendRaw(`{"id":36,"action":"ping"}`) // evicted: executed as new
	if h.r.Executed() != before+1 {
		t.Error("id 36 (evicted) was not executed")
	}
}

func TestInternalErrorOnPanic(t *testing.T) {
	d, err := NewDispatcher(map[string]protocol.ActionDesc{"boom": {}}, map[string]Handler{
		"boom": func(map[string]any, func(any, error)) { panic("kaput") },
	})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	d.Handle([]byte(`{"id":1,"action":"boom"}`), func(b []byte) { got = string(b) })
	if !strings.Contains(got, `"code":"internal"`) || !strings.Contains(got, "kaput") {
		t.Errorf("reply %s", got)
	}
	if _, err := NewDispatcher(map[string]protocol.ActionDesc{"x": {}}, nil); err == nil {
		t.Error("missing handler accepted")
	}
}
