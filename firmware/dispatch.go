package firmware

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/protocol"
)

// Handler executes one validated request. Args hold the request's arguments
// with defaults filled in: float64 for number, int64 for integer, string,
// bool, []any and map[string]any. The handler calls done exactly once, now
// or later from another goroutine; an error that is not an *Error is
// reported as internal.
type Handler func(args map[string]any, done func(result any, err error))

// Dispatcher turns request lines into replies for one device: it parses and
// validates requests against the action schemas and remembers the replies
// to the last CacheSize ids, so a repeated id is answered again without
// running the action twice.
type Dispatcher struct {
	actions map[string]protocol.ActionDesc
	run     map[string]Handler

	mu    sync.Mutex
	cache map[int64]*cacheEntry
	order []int64 // ids in arrival order, oldest first
}

type cacheEntry struct {
	reply   []byte // nil while the action is in flight
	waiters []func([]byte)
}

// NewDispatcher returns a Dispatcher for the actions of desc, each run by
// the handler of the same name. Every action needs a handler.
func NewDispatcher(actions map[string]protocol.ActionDesc, handlers map[string]Handler) (*Dispatcher, error) {
	for name := range actions {
		if handlers[name] == nil {
			return nil, fmt.Errorf("action %s has no handler", name)
		}
	}
	return &Dispatcher{actions: actions, run: handlers, cache: map[int64]*cacheEntry{}}, nil
}

// Handle processes one request line (without its newline) and calls send
// with the reply line (without newline), now or, for a long action, later
// from another goroutine. A repeated id is answered with the remembered
// reply; if its action is still in flight, send is called when it ends.
func (d *Dispatcher) Handle(line []byte, send func([]byte)) {
	req, perr := protocol.ParseRequest(line)
	if perr != nil {
		var id *int64
		if req.ID > 0 {
			id = &req.ID
		}
		if id == nil {
			send(protocol.ErrorReply(nil, perr.Code, perr.Message))
			return
		}
		// A malformed request with a readable id is remembered like any other.
		if d.begin(req.ID, send) {
			d.finish(req.ID, protocol.ErrorReply(id, perr.Code, perr.Message), send)
		}
		return
	}
	if !d.begin(req.ID, send) {
		return
	}
	id := req.ID
	reply := func(b []byte) { d.finish(id, b, send) }
	a, ok := d.actions[req.Action]
	if !ok {
		reply(protocol.ErrorReply(&id, protocol.CodeUnknownAction, fmt.Sprintf("unknown action %q (actions: %s)", req.Action, strings.Join(d.names(), ", "))))
		return
	}
	args, verr := protocol.ValidateArgs(req.Action, a, req.Args)
	if verr != nil {
		reply(protocol.ErrorReply(&id, verr.Code, verr.Message))
		return
	}
	var once sync.Once
	done := func(result any, err error) {
		once.Do(func() { reply(resultReply(id, result, err)) })
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				done(nil, fmt.Errorf("action %s panicked: %v", req.Action, p))
			}
		}()
		d.run[req.Action](args, done)
	}()
}

func resultReply(id int64, result any, err error) []byte {
	if err != nil {
		var pe *protocol.Error
		if !errors.As(err, &pe) {
			pe = &protocol.Error{Code: protocol.CodeInternal, Message: err.Error()}
		}
		return protocol.ErrorReply(&id, pe.Code, pe.Message)
	}
	b, merr := json.Marshal(protocol.Reply{ID: &id, OK: true, Result: result})
	if merr != nil {
		return protocol.ErrorReply(&id, protocol.CodeInternal, "encode result: "+merr.Error())
	}
	return b
}

func (d *Dispatcher) names() []string {
	n := make([]string, 0, len(d.actions))
	for k := range d.actions {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// begin registers id as in flight; it reports false when id was seen
// before, in which case send gets (or will get) the remembered reply.
func (d *Dispatcher) begin(id int64, send func([]byte)) bool {
	d.mu.Lock()
	if e, ok := d.cache[id]; ok {
		if e.reply == nil {
			e.waiters = append(e.waiters, send)
			d.mu.Unlock()
			return false
		}
		r := e.reply
		d.mu.Unlock()
		send(r)
		return false
	}
	d.cache[id] = &cacheEntry{}
	d.order = append(d.order, id)
	// Forget the oldest finished replies; entries still in flight stay.
	for len(d.order) > protocol.CacheSize {
		evicted := false
		for i, old := range d.order {
			if d.cache[old].reply != nil {
				delete(d.cache, old)
				d.order = append(d.order[:i], d.order[i+1:]...)
				evicted = true
				break
			}
		}
		if !evicted {
			break
		}
	}
	d.mu.Unlock()
	return true
}

func (d *Dispatcher) finish(id int64, reply []byte, send func([]byte)) {
	d.mu.Lock()
	e := d.cache[id]
	var waiters []func([]byte)
	if e != nil {
		e.reply = reply
		waiters = e.waiters
		e.waiters = nil
	}
	d.mu.Unlock()
	send(reply)
	for _, w := range waiters {
		w(reply)
	}
}
