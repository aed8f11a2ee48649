package firmware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	actions map[string]ActionDesc
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
func NewDispatcher(actions map[string]ActionDesc, handlers map[string]Handler) (*Dispatcher, error) {
	for name := range actions {
		if handlers[name] == nil {
			return nil, fmt.Errorf("action %s has no handler", name)
		}
	}
	return &Dispatcher{actions: actions, run: handlers, cache: map[int64]*cacheEntry{}}, nil
}

// ErrorReply renders a reply line (no newline) carrying a protocol error.
func ErrorReply(id *int64, code, message string) []byte {
	b, _ := json.Marshal(Reply{ID: id, Error: &Error{Code: code, Message: message}})
	return b
}

// LineTooLongReply is the reply to a line longer than MaxLine.
func LineTooLongReply() []byte {
	return ErrorReply(nil, CodeLineTooLong, fmt.Sprintf("line longer than %d bytes discarded", MaxLine))
}

// Handle processes one request line (without its newline) and calls send
// with the reply line (without newline), now or, for a long action, later
// from another goroutine. A repeated id is answered with the remembered
// reply; if its action is still in flight, send is called when it ends.
func (d *Dispatcher) Handle(line []byte, send func([]byte)) {
	req, perr := ParseRequest(line)
	if perr != nil {
		var id *int64
		if req.ID > 0 {
			id = &req.ID
		}
		if id == nil {
			send(ErrorReply(nil, perr.Code, perr.Message))
			return
		}
		// A malformed request with a readable id is remembered like any other.
		if d.begin(req.ID, send) {
			d.finish(req.ID, ErrorReply(id, perr.Code, perr.Message), send)
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
		reply(ErrorReply(&id, CodeUnknownAction, fmt.Sprintf("unknown action %q (actions: %s)", req.Action, strings.Join(d.names(), ", "))))
		return
	}
	args, verr := ValidateArgs(req.Action, a, req.Args)
	if verr != nil {
		reply(ErrorReply(&id, verr.Code, verr.Message))
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
		var pe *Error
		if !errors.As(err, &pe) {
			pe = &Error{Code: CodeInternal, Message: err.Error()}
		}
		return ErrorReply(&id, pe.Code, pe.Message)
	}
	b, merr := json.Marshal(Reply{ID: &id, OK: true, Result: result})
	if merr != nil {
		return ErrorReply(&id, CodeInternal, "encode result: "+merr.Error())
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
	for len(d.order) > CacheSize {
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

// ParseRequest parses one request line. On error the returned Request
// carries the id if it could be read (else 0), and the error's code is
// bad_request or invalid_args.
func ParseRequest(line []byte) (Request, *Error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return req, Errorf(CodeBadRequest, "not a JSON object: %s", shorten(err.Error()))
	}
	if raw == nil {
		return req, Errorf(CodeBadRequest, "not a JSON object")
	}
	if len(bytes.TrimSpace(line[dec.InputOffset():])) > 0 {
		return req, Errorf(CodeBadRequest, "extra data after the JSON object")
	}
	idRaw, ok := raw["id"]
	if !ok {
		return req, Errorf(CodeBadRequest, "missing \"id\"")
	}
	id, err := strconv.ParseInt(string(bytes.TrimSpace(idRaw)), 10, 64)
	if err != nil || id <= 0 {
		return req, Errorf(CodeBadRequest, "\"id\" must be a positive integer, got %s", shorten(string(idRaw)))
	}
	req.ID = id
	actRaw, ok := raw["action"]
	if !ok {
		return req, Errorf(CodeBadRequest, "missing \"action\"")
	}
	if err := json.Unmarshal(actRaw, &req.Action); err != nil || req.Action == "" {
		return req, Errorf(CodeBadRequest, "\"action\" must be a non-empty string, got %s", shorten(string(actRaw)))
	}
	if argsRaw, ok := raw["args"]; ok && string(bytes.TrimSpace(argsRaw)) != "null" {
		ad := json.NewDecoder(bytes.NewReader(argsRaw))
		ad.UseNumber()
		var args map[string]any
		if err := ad.Decode(&args); err != nil || args == nil {
			return req, Errorf(CodeInvalidArgs, "\"args\" must be a JSON object, got %s", shorten(string(argsRaw)))
		}
		req.Args = args
	}
	return req, nil
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// ValidateArgs checks args against an action's parameter schemas and
// returns them converted (float64, int64, ...) with defaults filled in.
func ValidateArgs(action string, a ActionDesc, args map[string]any) (map[string]any, *Error) {
	out := make(map[string]any, len(a.Params))
	for name, v := range args {
		p, ok := a.Params[name]
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s takes no argument %q (arguments: %s)", action, name, paramNames(a))
		}
		cv, err := convert(name, p, v)
		if err != nil {
			return nil, err
		}
		out[name] = cv
	}
	for name, p := range a.Params {
		if _, ok := out[name]; ok {
			continue
		}
		if p.Required {
			return nil, Errorf(CodeInvalidArgs, "%s needs argument %q", action, name)
		}
		if p.Default != nil {
			cv, err := convert(name, p, p.Default)
			if err != nil {
				return nil, Errorf(CodeInternal, "default of %s: %s", name, err.Message)
			}
			out[name] = cv
		}
	}
	return out, nil
}

func paramNames(a ActionDesc) string {
	if len(a.Params) == 0 {
		return "none"
	}
	n := make([]string, 0, len(a.Params))
	for k := range a.Params {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64, int64, int:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func convert(name string, p Param, v any) (any, *Error) {
	var out any
	switch p.Type {
	case "number", "integer":
		var f float64
		switch n := v.(type) {
		case json.Number:
			var err error
			f, err = n.Float64()
			if err != nil {
				return nil, Errorf(CodeInvalidArgs, "%s: bad number %s", name, n)
			}
		case float64:
			f = n
		case int64:
			f = float64(n)
		case int:
			f = float64(n)
		default:
			return nil, Errorf(CodeInvalidArgs, "%s must be a%s %s, got %s", name, article(p.Type), p.Type, typeName(v))
		}
		if p.Type == "integer" {
			if f != float64(int64(f)) {
				return nil, Errorf(CodeInvalidArgs, "%s must be an integer, got %s", name, fmtNum(f))
			}
			out = int64(f)
		} else {
			out = f
		}
		if p.Minimum != nil && f < *p.Minimum {
			return nil, Errorf(CodeOutOfRange, "%s must be >= %s, got %s", name, fmtNum(*p.Minimum), fmtNum(f))
		}
		if p.Maximum != nil && f > *p.Maximum {
			return nil, Errorf(CodeOutOfRange, "%s must be <= %s, got %s", name, fmtNum(*p.Maximum), fmtNum(f))
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be a string, got %s", name, typeName(v))
		}
		out = s
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be a boolean, got %s", name, typeName(v))
		}
		out = b
	case "array":
		a, ok := v.([]any)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be an array, got %s", name, typeName(v))
		}
		out = a
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be an object, got %s", name, typeName(v))
		}
		out = m
	default:
		return nil, Errorf(CodeInternal, "%s has unknown type %q", name, p.Type)
	}
	if len(p.Enum) > 0 {
		for _, e := range p.Enum {
			if fmt.Sprint(e) == fmt.Sprint(out) {
				return out, nil
			}
		}
		opts := make([]string, len(p.Enum))
		for i, e := range p.Enum {
			b, _ := json.Marshal(e)
			opts[i] = string(b)
		}
		got, _ := json.Marshal(out)
		return nil, Errorf(CodeInvalidArgs, "%s must be one of %s; got %s", name, strings.Join(opts, ", "), got)
	}
	return out, nil
}

func article(t string) string {
	if t == "integer" {
		return "n"
	}
	return ""
}
