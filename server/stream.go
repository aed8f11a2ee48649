package server

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/tool"
)

// Server-sent events of a code action. A client that sends
// "Accept: text/event-stream" with POST /v1/sessions/{id}/exec gets, once
// the action has started, a 200 text/event-stream answer:
//
//	event: stdout
//	data: {"text":"On the shelf 1, you see ...\n"}
//
//	event: result
//	data: {...the ExecResult of a plain exec...}
//
// stdout events carry the printed output as it is printed (coalesced into
// chunks while the connection is busy, at most tool.MaxStreamed bytes in
// all); the last event is either result, or error ({"error": {...}} as an
// HTTP error's body) when the action could not run. A request refused
// before its action starts (unknown session, busy, code too large) gets the
// plain JSON error and status, as without the header.

// wantsStream reports whether the request asks for server-sent events.
func wantsStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/event-stream" && params["q"] != "0" {
			return true
		}
	}
	return false
}

type startedKey struct{}

// withStarted returns ctx asking exec to call fn once its action holds the
// session, before the code runs.
func withStarted(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, startedKey{}, fn)
}

// actionStarted calls the function withStarted put in ctx, if any.
func actionStarted(ctx context.Context) {
	if fn, _ := ctx.Value(startedKey{}).(func()); fn != nil {
		fn()
	}
}

// handleExecStream is POST /v1/sessions/{id}/exec with server-sent events.
func (s *Server) handleExecStream(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req execRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ev := newEventWriter(w)
	ctx := withStarted(r.Context(), ev.start)
	ctx = tool.WithOutput(ctx, ev.stdout)
	res, err := s.exec(ctx, ss, req.Code)
	if !ev.started() {
		// Refused before the action began: a plain error answer.
		if err != nil {
			return err
		}
		ev.start()
	}
	if err != nil {
		_, b := s.errorBody(r, err)
		ev.finish("error", b)
		return nil
	}
	ev.finish("result", res)
	return nil
}

// eventWriter writes the events of one streamed action. Output arrives from
// the action's goroutine without waiting for the network: a goroutine of
// the writer's own sends it, coalescing what accumulated meanwhile, so that
// a slow client slows nobody but itself (its output is bounded by
// tool.MaxStreamed).
type eventWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu      sync.Mutex
	begun   bool
	pending strings.Builder
	closed  bool          // finish was called: later output is dropped
	wake    chan struct{} // output is pending
	done    chan struct{} // the sending goroutine ended
	failed  bool          // a write failed: the client is gone
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// start sends the answer's header and starts sending output.
func (e *eventWriter) start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.begun {
		return
	}
	e.begun = true
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	e.w.WriteHeader(http.StatusOK)
	if e.rc.Flush() != nil {
		e.failed = true
	}
	go e.send()
}

func (e *eventWriter) started() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.begun
}

// stdout queues printed output (a tool.OutputFunc).
func (e *eventWriter) stdout(chunk string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || !e.begun || chunk == "" {
		return
	}
	e.pending.WriteString(chunk)
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// send writes the pending output as stdout events until finish closes the
// writer; then once more, and ends.
func (e *eventWriter) send() {
	defer close(e.done)
	for {
		_, open := <-e.wake
		e.mu.Lock()
		text := e.pending.String()
		e.pending.Reset()
		failed := e.failed
		e.mu.Unlock()
		if text != "" && !failed {
			if err := e.event("stdout", map[string]string{"text": text}); err != nil {
				e.mu.Lock()
				e.failed = true
				e.mu.Unlock()
			}
		}
		if !open {
			return
		}
	}
}

// event writes one event and flushes it.
func (e *eventWriter) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(name)+len(data)+16)
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	if _, err := e.w.Write(buf); err != nil {
		return err
	}
	return e.rc.Flush()
}

// finish sends the output still pending, then the last event.
func (e *eventWriter) finish(name string, v any) {
	e.mu.Lock()
	e.closed = true
	close(e.wake)
	e.mu.Unlock()
	<-e.done
	if !e.failed {
		e.event(name, v)
	}
}
