package isolate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// The protocol: JSON objects, one per line (a frame), over two pipes. The
// gateway writes to the worker's fd 3 and reads the worker's fd 4.
//
//	→ init    {"type":"init","init":{...}}                   first frame: tools, sandbox options, limits
//	← ready   {"type":"ready"}                                the session is ready
//	→ exec    {"type":"exec","id":N,"code":"...","deadline_ns":D,"stream":true}
//	← stdout  {"type":"stdout","id":N,"text":"..."}            printed output, only when the exec asked to stream
//	← call    {"type":"call","id":C,"name":"rover.drive","args":{...}}
//	→ return  {"type":"return","id":C,"value":...} or {"type":"return","id":C,"error":{...}}
//	← result  {"type":"result","id":N,"result":{...},"cause":C}
//
// A third pipe, the worker's fd 5, carries the ids of cancelled actions
// (8 bytes each, big-endian), read by a goroutine of their own in the
// worker.
//
// Frame types.
const (
	typeInit   = "init"
	typeReady  = "ready"
	typeExec   = "exec"
	typeCall   = "call"
	typeReturn = "return"
	typeResult = "result"
	typeStdout = "stdout"
)

// frame is one message. Which fields a frame may carry depends on its type
// (see check).
type frame struct {
	Type string `json:"type"`
	ID   uint64 `json:"id,omitempty"`

	Init *initMsg `json:"init,omitempty"`

	Code     string        `json:"code,omitempty"`
	Deadline time.Duration `json:"deadline_ns,omitempty"`
	// Stream, on an exec, asks for the action's printed output as it is
	// printed, in stdout frames carrying Text.
	Stream bool   `json:"stream,omitempty"`
	Text   string `json:"text,omitempty"`

	Name string          `json:"name,omitempty"`
	Args json.RawMessage `json:"args,omitempty"`
	// Refused, on a call, says the worker's binding of the arguments
	// refused it: the gateway records the attempt and does not run it.
	Refused string `json:"refused,omitempty"`

	Value json.RawMessage `json:"value,omitempty"`
	Error *callError      `json:"error,omitempty"`

	Result *tool.Result `json:"result,omitempty"`
	// Cause is the id of the call whose error ended the action (a call
	// that failed in the gateway, or one the worker refused), so that the
	// gateway gives that call's Go error as the result's cause.
	Cause uint64 `json:"cause,omitempty"`
}

// initMsg configures a worker.
type initMsg struct {
	Tools   []toolSpec      `json:"tools"`
	Sandbox sandbox.Options `json:"sandbox"`
	// MaxMemory is the address space the worker may map beyond what it has
	// mapped when it applies its limits.
	MaxMemory int64 `json:"max_memory"`
	// MaxCPU is the CPU time one action may use, in seconds.
	MaxCPU int64 `json:"max_cpu_s"`
	// MaxFrame bounds every frame either side writes.
	MaxFrame int `json:"max_frame"`
}

// toolSpec describes a tool to the worker: enough to expose it to code
// under the same name and bind its arguments to the same parameter names.
type toolSpec struct {
	Name   string   `json:"name"`
	Doc    string   `json:"doc,omitempty"`
	Params []string `json:"params,omitempty"`
	// Variadic names the tool's variadic parameter (Python's *name), which
	// follows Params; the worker sends its values as a list under its name.
	Variadic string `json:"variadic,omitempty"`
}

// callError is a tool's failure as the gateway reports it to the worker.
type callError struct {
	// Msg is the error's full text.
	Msg string `json:"msg"`
	// Arg, when set, is the argument error within it (the sandbox reports
	// those as TypeError or ValueError).
	Arg *argError `json:"arg,omitempty"`
	// Kind is the failure's kind (tool.Kind's name) when it is not the
	// default, "failed", so that the worker raises the exception the
	// kind names, as the sandbox does in process.
	Kind string `json:"kind,omitempty"`
}

type argError struct {
	Tool  string `json:"tool"`
	Param string `json:"param,omitempty"`
	Msg   string `json:"msg"`
	Value bool   `json:"value,omitempty"`
}

// errFrameTooLarge reports a frame longer than the limit.
var errFrameTooLarge = errors.New("frame too large")

// errBadFrame reports a frame that is not a valid message.
var errBadFrame = errors.New("malformed frame")

// frameReader reads frames (lines) of at most max bytes, without the
// newline. It never buffers more than max+1 bytes of a frame: a longer one
// is an error and the rest of it is left unread. A read that fails with a
// timeout keeps what it read of the frame, and the next one goes on.
type frameReader struct {
	r       *bufio.Reader
	max     int
	partial []byte
}

// next returns the next frame; it is valid until the next call.
func (fr *frameReader) next() ([]byte, error) {
	for {
		chunk, err := fr.r.ReadSlice('\n')
		n := len(fr.partial) + len(chunk)
		if err == nil {
			n-- // the newline
		}
		if n > fr.max {
			return nil, fmt.Errorf("%w: more than %d bytes", errFrameTooLarge, fr.max)
		}
		if err == nil {
			if len(fr.partial) == 0 {
				return chunk[:len(chunk)-1], nil
			}
			line := append(fr.partial, chunk[:len(chunk)-1]...)
			fr.partial = nil
			return line, nil
		}
		fr.partial = append(fr.partial, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(fr.partial) > 0:
			return nil, fmt.Errorf("%w: a frame of %d bytes without its newline", io.ErrUnexpectedEOF, len(fr.partial))
		}
		return nil, err
	}
}

// readFrame reads one frame from r (see frameReader).
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	return (&frameReader{r: r, max: max}).next()
}

// decodeFrame parses a frame strictly: one JSON object of known fields.
func decodeFrame(line []byte) (frame, error) {
	var f frame
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return frame{}, fmt.Errorf("%w: %v", errBadFrame, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return frame{}, fmt.Errorf("%w: data after the message", errBadFrame)
	}
	if err := f.check(); err != nil {
		return frame{}, err
	}
	return f, nil
}

// check reports whether f carries exactly the fields its type allows.
func (f *frame) check() error {
	has := map[string]bool{
		"id": f.ID != 0, "init": f.Init != nil, "code": f.Code != "", "deadline_ns": f.Deadline != 0,
		"name": f.Name != "", "args": f.Args != nil, "value": f.Value != nil, "error": f.Error != nil,
		"result": f.Result != nil, "cause": f.Cause != 0, "refused": f.Refused != "",
		"stream": f.Stream, "text": f.Text != "",
	}
	var allowed, required []string
	switch f.Type {
	case typeInit:
		allowed, required = []string{"init"}, []string{"init"}
	case typeReady:
	case typeExec:
		allowed, required = []string{"id", "code", "deadline_ns", "stream"}, []string{"id"}
	case typeStdout:
		allowed, required = []string{"id", "text"}, []string{"id", "text"}
	case typeCall:
		allowed, required = []string{"id", "name", "args", "refused"}, []string{"id", "name", "args"}
	case typeReturn:
		allowed, required = []string{"id", "value", "error"}, []string{"id"}
		if (f.Value == nil) == (f.Error == nil) {
			return fmt.Errorf("%w: a return carries a value or an error", errBadFrame)
		}
	case typeResult:
		allowed, required = []string{"id", "result", "cause"}, []string{"id", "result"}
	default:
		return fmt.Errorf("%w: unknown type %q", errBadFrame, f.Type)
	}
	for _, k := range required {
		if !has[k] {
			return fmt.Errorf("%w: %s without %s", errBadFrame, f.Type, k)
		}
	}
	for k, v := range has {
		if v && !contains(allowed, k) {
			return fmt.Errorf("%w: %s with %s", errBadFrame, f.Type, k)
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// encodeFrame marshals f as one line, or fails when it is longer than max.
func encodeFrame(f frame, max int) ([]byte, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errFrameTooLarge, len(data), max)
	}
	return append(data, '\n'), nil
}

// maxDepth bounds the nesting of values passed between the sides.
const maxDepth = 1000

// errDepth reports a value nested more than maxDepth levels deep.
var errDepth = fmt.Errorf("nested more than %d levels deep", maxDepth)

// encodeValue appends v as JSON. Unlike encoding/json it keeps the
// difference between an int and an integral float (1 and 1.0), which
// Python code sees. Values of other Go types pass through encoding/json as
// the in-process sandbox converts them.
func encodeValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		s, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return append(b, s...), nil
	case int, int8, int16, int32, int64:
		return strconv.AppendInt(b, reflect.ValueOf(x).Int(), 10), nil
	case uint, uint8, uint16, uint32, uint64:
		return strconv.AppendUint(b, reflect.ValueOf(x).Uint(), 10), nil
	case float32:
		return appendFloat(b, float64(x))
	case float64:
		return appendFloat(b, x)
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return nil, fmt.Errorf("invalid number %q", string(x))
		}
		return append(b, x...), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = encodeValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case *big.Int:
		return x.Append(b, 10), nil
	case map[string]any:
		_, isFloat := x[tagFloat]
		_, isDict := x[tagDict]
		if len(x) == 1 && (isFloat || isDict) {
			// A map that would read as a tag travels wrapped.
			b = append(b, `{"`+tagDict+`":`...)
			b, err := encodeMap(b, x, depth+1)
			if err != nil {
				return nil, err
			}
			return append(b, '}'), nil
		}
		return encodeMap(b, x, depth)
	}
	// Structs, typed slices and maps: as the in-process sandbox does, via
	// encoding/json.
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %w", v, err)
	}
	generic, err := decodeValue(data)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %w", v, err)
	}
	return encodeValue(b, generic, depth)
}

func appendFloat(b []byte, f float64) ([]byte, error) {
	switch {
	case math.IsNaN(f):
		return append(b, `{"`+tagFloat+`":"nan"}`...), nil
	case math.IsInf(f, 1):
		return append(b, `{"`+tagFloat+`":"inf"}`...), nil
	case math.IsInf(f, -1):
		return append(b, `{"`+tagFloat+`":"-inf"}`...), nil
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if !bytes.ContainsAny(b[start:], ".e") {
		b = append(b, ".0"...)
	}
	return b, nil
}

// Tags for values JSON cannot carry: {"$float":"nan"|"inf"|"-inf"} is a
// non-finite float, and a map whose only key is a tag travels as
// {"$dict":map}.
const (
	tagFloat = "$float"
	tagDict  = "$dict"
)

// encodeMap appends x as a JSON object with its keys in order.
func encodeMap(b []byte, x map[string]any, depth int) ([]byte, error) {
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = encodeValue(b, k, depth+1); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = encodeValue(b, x[k], depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// decodeValue parses JSON written by encodeValue: numbers with a fraction
// or an exponent become float64, others int64 (uint64 or float64 when they
// do not fit).
func decodeValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
			if n, err := strconv.ParseUint(s, 10, 64); err == nil {
				return n
			}
			if n, ok := new(big.Int).SetString(s, 10); ok {
				return n // exact: a tool says it is out of range
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		if len(x) == 1 {
			if tag, ok := x[tagFloat].(string); ok {
				switch tag {
				case "nan":
					return math.NaN()
				case "inf":
					return math.Inf(1)
				case "-inf":
					return math.Inf(-1)
				}
			}
			if inner, ok := x[tagDict].(map[string]any); ok {
				for k := range inner {
					inner[k] = numbers(inner[k])
				}
				return inner
			}
		}
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}
