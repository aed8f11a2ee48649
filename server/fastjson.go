package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The plain step is the API's hottest request (tens of thousands a
// second): its body is read into a pooled buffer and parsed by hand when
// it has the usual shape, and its answer is encoded by hand. Everything
// else, and every body the hand parser does not take, goes through
// encoding/json; the results are the same (FuzzParseStep and
// FuzzAppendStepResult check them against encoding/json).

// bufferPool holds a server's request and response buffers (the zero
// value is ready).
type bufferPool struct{ p sync.Pool }

// maxPooled bounds the buffers kept in the pool.
const maxPooled = 64 << 10

func (bp *bufferPool) get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (bp *bufferPool) put(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bp.p.Put(b)
	}
}

// readBody reads the request body into *buf, refusing bodies over the
// server's size limit as decodeJSON does.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *[]byte) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	b := (*buf)[:0]
	if n := r.ContentLength; n > 0 && n <= s.cfg.MaxBody && int64(cap(b)) < n+1 {
		b = make([]byte, 0, n+1)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			*buf = b
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is over the limit of %d bytes", s.cfg.MaxBody)
			case errors.Is(err, io.EOF):
				return nil
			default:
				return errorf(http.StatusBadRequest, "malformed_json", "cannot read the request: %v", err)
			}
		}
	}
}

// decodeStep reads the body of a plain step.
func (s *Server) decodeStep(w http.ResponseWriter, r *http.Request) (stepRequest, error) {
	buf := s.bufs.get()
	defer s.bufs.put(buf)
	if err := s.readBody(w, r, buf); err != nil {
		return stepRequest{}, err
	}
	if req, ok := parseStep(*buf); ok {
		return req, nil
	}
	var req stepRequest
	err := s.decodeFrom(bytes.NewReader(*buf), &req)
	return req, err
}

// parseStep parses the usual body of a step: an object with "command" (a
// string of printable ASCII without escapes) and optionally "admissible"
// (true or false), in either order, once each, with JSON whitespace
// anywhere. ok is false for anything else, which the caller hands to
// encoding/json.
func parseStep(b []byte) (req stepRequest, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return req, false
	}
	var haveCmd, haveAdm bool
	for {
		i = skipWS(b, i+1)
		key, j, ok := plainString(b, i)
		if !ok {
			return req, false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return req, false
		}
		i = skipWS(b, i+1)
		switch string(key) {
		case "command":
			if haveCmd {
				return req, false
			}
			v, j, ok := plainString(b, i)
			if !ok {
				return req, false
			}
			req.Command, haveCmd, i = string(v), true, j
		case "admissible":
			if haveAdm {
				return req, false
			}
			switch {
			case bytes.HasPrefix(b[i:], []byte("true")):
				req.Admissible, i = true, i+4
			case bytes.HasPrefix(b[i:], []byte("false")):
				i += 5
			default:
				return req, false
			}
			haveAdm = true
		default:
			return req, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return req, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return req, false
		}
	}
	return req, haveCmd && skipWS(b, i+1) == len(b)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] that needs no unescaping: its
// contents and the index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// writeStepResult answers res as writeJSON(w, http.StatusOK, res) would.
func (s *Server) writeStepResult(w http.ResponseWriter, res *StepResult) {
	buf := s.bufs.get()
	defer s.bufs.put(buf)
	b, ok := appendStepResult(*buf, res)
	*buf = b
	if !ok {
		writeJSON(w, http.StatusOK, res)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// appendStepResult appends res as encoding/json encodes it, and a
// newline; ok is false for a reward it does not write (not 0 or 1), which
// the caller encodes with encoding/json.
func appendStepResult(b []byte, res *StepResult) ([]byte, bool) {
	if res.Reward != 0 && res.Reward != 1 {
		return b, false
	}
	b = append(b, `{"observation":`...)
	b = appendJSONString(b, res.Observation)
	if len(res.Admissible) > 0 {
		b = append(b, `,"admissible":[`...)
		for i, a := range res.Admissible {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, res.Done)
	b = append(b, `,"won":`...)
	b = strconv.AppendBool(b, res.Won)
	b = append(b, `,"reward":`...)
	b = strconv.AppendInt(b, int64(res.Reward), 10)
	b = append(b, `,"steps":`...)
	b = strconv.AppendInt(b, int64(res.Steps), 10)
	return append(b, "}\n"...), true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it (HTML
// characters escaped, invalid UTF-8 replaced, U+2028 and U+2029 escaped).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
