package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/argcheck"
	"github.com/gantry-dev/gantry/internal/repr"
)

// ErrorReply renders a reply line (no newline) carrying a protocol error.
func ErrorReply(id *int64, code, message string) []byte {
	b, _ := json.Marshal(Reply{ID: id, Error: &Error{Code: code, Message: message}})
	return b
}

// LineTooLongReply is the reply to a line longer than MaxLine.
func LineTooLongReply() []byte {
	return ErrorReply(nil, CodeLineTooLong, fmt.Sprintf("line longer than %d bytes discarded", MaxLine))
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
		return req, Errorf(CodeBadRequest, "not a JSON object: %s", repr.Shorten(err.Error(), shortText))
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
		return req, Errorf(CodeBadRequest, "\"id\" must be a positive integer, got %s", repr.Shorten(string(idRaw), shortText))
	}
	req.ID = id
	actRaw, ok := raw["action"]
	if !ok {
		return req, Errorf(CodeBadRequest, "missing \"action\"")
	}
	if err := json.Unmarshal(actRaw, &req.Action); err != nil || req.Action == "" {
		return req, Errorf(CodeBadRequest, "\"action\" must be a non-empty string, got %s", repr.Shorten(string(actRaw), shortText))
	}
	if argsRaw, ok := raw["args"]; ok && string(bytes.TrimSpace(argsRaw)) != "null" {
		ad := json.NewDecoder(bytes.NewReader(argsRaw))
		ad.UseNumber()
		var args map[string]any
		if err := ad.Decode(&args); err != nil || args == nil {
			return req, Errorf(CodeInvalidArgs, "\"args\" must be a JSON object, got %s", repr.Shorten(string(argsRaw), shortText))
		}
		req.Args = args
	}
	return req, nil
}

// shortText is how much of a malformed request a message quotes.
const shortText = 60

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

func convert(name string, p Param, v any) (any, *Error) {
	var out any
	switch p.Type {
	case "integer":
		i, n, problem := argcheck.Integer(v, p.Minimum, p.Maximum)
		if problem != argcheck.OK {
			return nil, numberError(name, p, v, n, problem)
		}
		out = i
	case "number":
		f, n, problem := argcheck.Float(v, p.Minimum, p.Maximum)
		if problem != argcheck.OK {
			return nil, numberError(name, p, v, n, problem)
		}
		out = f
	case "string":
		s, ok := v.(string)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be a string, got %s", name, repr.JSONType(v))
		}
		out = s
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be a boolean, got %s", name, repr.JSONType(v))
		}
		out = b
	case "array":
		a, ok := v.([]any)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be an array, got %s", name, repr.JSONType(v))
		}
		out = a
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, Errorf(CodeInvalidArgs, "%s must be an object, got %s", name, repr.JSONType(v))
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

// numberError words a numeric parameter's problem (see argcheck) as a
// protocol error.
func numberError(name string, p Param, v any, n argcheck.Number, problem argcheck.Problem) *Error {
	given := n.Text
	if given == "" {
		given = repr.Number(n.F)
	}
	switch problem {
	case argcheck.NotNumber:
		if jn, ok := v.(json.Number); ok {
			return Errorf(CodeInvalidArgs, "%s: bad number %s", name, repr.Shorten(string(jn), shortText))
		}
		return Errorf(CodeInvalidArgs, "%s must be a%s %s, got %s", name, article(p.Type), p.Type, repr.JSONType(v))
	case argcheck.NotInteger:
		return Errorf(CodeInvalidArgs, "%s must be an integer, got %s", name, given)
	case argcheck.NotFinite:
		return Errorf(CodeInvalidArgs, "%s must be a finite number, got %s", name, given)
	case argcheck.BeyondType:
		return Errorf(CodeOutOfRange, "%s is out of range for a%s %s, got %s", name, article(p.Type), p.Type, given)
	case argcheck.BelowMin:
		return Errorf(CodeOutOfRange, "%s must be >= %s, got %s", name, repr.Number(*p.Minimum), given)
	case argcheck.AboveMax:
		return Errorf(CodeOutOfRange, "%s must be <= %s, got %s", name, repr.Number(*p.Maximum), given)
	}
	return nil
}

func article(t string) string {
	if t == "integer" {
		return "n"
	}
	return ""
}
