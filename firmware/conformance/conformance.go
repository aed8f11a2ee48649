// Package conformance checks that a device firmware speaks the gantry/1
// line protocol (docs/protocol.md). Run it from a Go test with a function
// that opens a fresh connection to the device:
//
//	func TestMyFirmware(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) io.ReadWriteCloser { return openMyPort(t) })
//	}
//
// Checks that need motion (a repeated id must not move the device twice,
// stop must cancel an action in flight) run when the device describes a
// drive action with a speed and an ms parameter and a pose action.
package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/protocol"
)

// replyTimeout bounds every wait for a reply.
const replyTimeout = 5 * time.Second

// Conn is a line connection to a device under test.
type Conn struct {
	t     *testing.T
	rwc   io.ReadWriteCloser
	lines chan []byte
	id    *int64
}

// Dial wraps a connection and starts reading its lines. Ids come from
// *ids, shared by all connections to one device: a device remembers ids
// across reconnects, so they must never repeat.
func Dial(t *testing.T, rwc io.ReadWriteCloser, ids *int64) *Conn {
	c := &Conn{t: t, rwc: rwc, lines: make(chan []byte, 1024), id: ids}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.lines)
		sc := bufio.NewScanner(rwc)
		sc.Buffer(make([]byte, 8192), 1<<20)
		for sc.Scan() {
			c.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	t.Cleanup(func() { rwc.Close(); <-done })
	return c
}

// Send writes raw bytes.
func (c *Conn) Send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.rwc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// NextID returns a fresh request id.
func (c *Conn) NextID() int64 { *c.id++; return *c.id }

// Reply waits for the next reply line (events are skipped and checked).
func (c *Conn) Reply() map[string]any {
	c.t.Helper()
	timer := time.NewTimer(replyTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatal("connection closed while waiting for a reply")
			}
			if len(line)+1 > protocol.MaxLine {
				c.t.Errorf("device sent a %d-byte line, over the %d limit", len(line)+1, protocol.MaxLine)
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				c.t.Fatalf("device sent a line that is not a JSON object: %q", line)
			}
			if ev, ok := m["event"]; ok {
				if _, ok := ev.(string); !ok {
					c.t.Errorf("event without a name: %s", line)
				}
				if _, ok := m["ts"].(float64); !ok {
					c.t.Errorf("event without ts: %s", line)
				}
				continue
			}
			checkReplyShape(c.t, m, line)
			return m
		case <-timer.C:
			c.t.Fatalf("no reply within %v", replyTimeout)
		}
	}
}

func checkReplyShape(t *testing.T, m map[string]any, line []byte) {
	t.Helper()
	ok, isBool := m["ok"].(bool)
	if !isBool {
		t.Fatalf("reply without boolean ok: %s", line)
	}
	if _, has := m["id"]; !has {
		t.Fatalf("reply without id: %s", line)
	}
	if ok {
		if _, has := m["result"]; !has {
			t.Errorf("ok reply without result: %s", line)
		}
		return
	}
	e, isObj := m["error"].(map[string]any)
	if !isObj {
		t.Fatalf("error reply without error object: %s", line)
	}
	code, _ := e["code"].(string)
	switch code {
	case protocol.CodeBadRequest, protocol.CodeLineTooLong, protocol.CodeUnknownAction, protocol.CodeInvalidArgs,
		protocol.CodeOutOfRange, protocol.CodeBusy, protocol.CodeStopped, protocol.CodeTimeout, protocol.CodeInternal:
	default:
		t.Errorf("error code %q is not a protocol code: %s", code, line)
	}
	if _, isStr := e["message"].(string); !isStr {
		t.Errorf("error without message: %s", line)
	}
}

// Call sends a request and waits for its reply; replies to other ids are
// an error.
func (c *Conn) Call(action string, args map[string]any) map[string]any {
	c.t.Helper()
	id := c.NextID()
	return c.CallID(id, action, args)
}

// CallID sends a request with the given id and waits for its reply.
func (c *Conn) CallID(id int64, action string, args map[string]any) map[string]any {
	c.t.Helper()
	req := map[string]any{"id": id, "action": action}
	if args != nil {
		req["args"] = args
	}
	b, _ := json.Marshal(req)
	c.Send(string(b) + "\n")
	for {
		m := c.Reply()
		if m["id"] == float64(id) {
			return m
		}
		// A late reply to an earlier connection's request: skip it.
		c.t.Logf("skipping reply to another request: %v", m)
	}
}

func code(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Run checks the firmware reached through dial. Each subtest dials anew.
func Run(t *testing.T, dial func(t *testing.T) io.ReadWriteCloser) {
	ids := time.Now().UnixMilli() * 1000
	dialc := func(t *testing.T) *Conn { return Dial(t, dial(t), &ids) }
	var desc protocol.Description
	t.Run("describe", func(t *testing.T) {
		c := dialc(t)
		m := c.Call("describe", nil)
		if m["ok"] != true {
			t.Fatalf("describe failed: %v", m)
		}
		b, _ := json.Marshal(m["result"])
		if err := json.Unmarshal(b, &desc); err != nil {
			t.Fatalf("description does not decode: %v", err)
		}
		if err := desc.Validate(); err != nil {
			t.Fatalf("description invalid: %v", err)
		}
	})
	t.Run("ping", func(t *testing.T) {
		c := dialc(t)
		m := c.Call("ping", nil)
		res, _ := m["result"].(map[string]any)
		if _, ok := res["ts"].(float64); m["ok"] != true || !ok {
			t.Errorf("ping: %v", m)
		}
	})
	errCases := []struct {
		name, action string
		args         map[string]any
		want         string
	}{
		{"unknown action", "no_such_action_xyz", nil, protocol.CodeUnknownAction},
		{"get without name", "get", map[string]any{}, protocol.CodeInvalidArgs},
		{"get unknown argument", "get", map[string]any{"name": "x", "bogus_arg": 1}, protocol.CodeInvalidArgs},
		{"get wrong type", "get", map[string]any{"name": 5}, protocol.CodeInvalidArgs},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialc(t)
			if m := c.Call(tc.action, tc.args); code(m) != tc.want {
				t.Errorf("got %v, want code %s", m, tc.want)
			}
		})
	}
	t.Run("garbage then still working", func(t *testing.T) {
		c := dialc(t)
		for _, g := range []string{"garbage\n", "{\"id\":\n", "[1,2]\n", "\x00\xff\n"} {
			c.Send(g)
			if m := c.Reply(); code(m) != protocol.CodeBadRequest || m["id"] != nil {
				t.Errorf("after %q: %v, want bad_request with id null", g, m)
			}
		}
		if m := c.Call("ping", nil); m["ok"] != true {
			t.Errorf("ping after garbage: %v", m)
		}
	})
	t.Run("missing action keeps id", func(t *testing.T) {
		c := dialc(t)
		id := c.NextID()
		c.Send(fmt.Sprintf("{\"id\":%d}\n", id))
		if m := c.Reply(); code(m) != protocol.CodeBadRequest || m["id"] != float64(id) {
			t.Errorf("got %v, want bad_request with id %d", m, id)
		}
	})
	t.Run("over-long line then still working", func(t *testing.T) {
		c := dialc(t)
		long := `{"id":1,"action":"ping","args":{"pad":"` + strings.Repeat("x", protocol.MaxLine+100) + `"}}` + "\n"
		for i := 0; i < len(long); i += 512 {
			c.Send(long[i:min(i+512, len(long))])
		}
		if m := c.Reply(); code(m) != protocol.CodeLineTooLong || m["id"] != nil {
			t.Errorf("got %v, want line_too_long with id null", m)
		}
		if m := c.Call("ping", nil); m["ok"] != true {
			t.Errorf("ping after long line: %v", m)
		}
	})
	t.Run("half line then rest, CRLF, blank lines", func(t *testing.T) {
		c := dialc(t)
		id := c.NextID()
		c.Send("\n\r\n")
		c.Send(fmt.Sprintf(`{"id":%d,"act`, id))
		time.Sleep(50 * time.Millisecond)
		c.Send("ion\":\"ping\"}\r\n\n")
		if m := c.Reply(); m["id"] != float64(id) || m["ok"] != true {
			t.Errorf("got %v", m)
		}
	})
	t.Run("repeated id answered from cache", func(t *testing.T) {
		c := dialc(t)
		id := c.NextID()
		a := c.CallID(id, "ping", nil)
		time.Sleep(20 * time.Millisecond)
		b := c.CallID(id, "ping", nil)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("repeated id got a different reply (re-executed?): %v then %v", a, b)
		}
	})
	hasMotion := func() bool {
		d, ok := desc.Actions["drive"]
		_, pose := desc.Actions["pose"]
		return ok && pose && d.Params["speed"].Type == "number" && d.Params["ms"].Type == "integer"
	}
	t.Run("repeated drive does not move twice", func(t *testing.T) {
		if !hasMotion() {
			t.Skip("device has no drive(speed, ms) and pose actions")
		}
		c := dialc(t)
		c.Call("reset", nil)
		id := c.NextID()
		if m := c.CallID(id, "drive", map[string]any{"speed": 0.2, "ms": 100}); m["ok"] != true {
			t.Fatalf("drive: %v", m)
		}
		p1 := c.Call("pose", nil)["result"]
		if m := c.CallID(id, "drive", map[string]any{"speed": 0.2, "ms": 100}); m["ok"] != true {
			t.Fatalf("repeated drive: %v", m)
		}
		if p2 := c.Call("pose", nil)["result"]; !reflect.DeepEqual(p1, p2) {
			t.Errorf("repeated id moved the device: %v then %v", p1, p2)
		}
	})
	t.Run("stop cancels in-flight action and latches", func(t *testing.T) {
		if !hasMotion() {
			t.Skip("device has no drive(speed, ms) and pose actions")
		}
		c := dialc(t)
		c.Call("reset", nil)
		driveID := c.NextID()
		c.Send(fmt.Sprintf(`{"id":%d,"action":"drive","args":{"speed":-0.05,"ms":3000}}`+"\n", driveID))
		time.Sleep(100 * time.Millisecond)
		stopID := c.NextID()
		start := time.Now()
		c.Send(fmt.Sprintf(`{"id":%d,"action":"stop"}`+"\n", stopID))
		got := map[float64]map[string]any{}
		for len(got) < 2 {
			m := c.Reply()
			got[m["id"].(float64)] = m
		}
		if time.Since(start) > time.Second {
			t.Errorf("stop took %v", time.Since(start))
		}
		if code(got[float64(driveID)]) != protocol.CodeStopped {
			t.Errorf("in-flight drive: %v, want stopped", got[float64(driveID)])
		}
		if got[float64(stopID)]["ok"] != true {
			t.Errorf("stop: %v", got[float64(stopID)])
		}
		if m := c.Call("drive", map[string]any{"speed": 0.1, "ms": 10}); code(m) != protocol.CodeStopped {
			t.Errorf("drive while latched: %v, want stopped", m)
		}
		if m := c.Call("reset", nil); m["ok"] != true {
			t.Errorf("reset: %v", m)
		}
		if m := c.Call("drive", map[string]any{"speed": 0.1, "ms": 10}); m["ok"] != true {
			t.Errorf("drive after reset: %v", m)
		}
	})
	t.Run("out of range", func(t *testing.T) {
		if !hasMotion() {
			t.Skip("device has no drive(speed, ms) action")
		}
		c := dialc(t)
		max := desc.Actions["drive"].Params["speed"].Maximum
		if max == nil {
			t.Skip("drive speed has no maximum")
		}
		if m := c.Call("drive", map[string]any{"speed": *max + 1}); code(m) != protocol.CodeOutOfRange {
			t.Errorf("got %v, want out_of_range", m)
		}
	})
}
