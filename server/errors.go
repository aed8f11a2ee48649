package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is an error the API answers with: an HTTP status, a stable
// machine-readable code and a message for people.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// writeError answers err as JSON; an error that is not an *apiError is an
// internal error whose details go to the log only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, b := s.errorBody(r, err)
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gantry"`)
	}
	writeJSON(w, ae.Status, b)
}

// errorBody is the answer to err, counted in the metrics: an error that is
// not an *apiError is an internal error whose details go to the log only.
func (s *Server) errorBody(r *http.Request, err error) (*apiError, errorBody) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.ErrorContext(r.Context(), "internal error", "err", err)
		ae = errorf(http.StatusInternalServerError, "internal", "internal error (see the server's log, request id %s)", requestID(r.Context()))
	}
	s.metrics.refusals.WithLabelValues(ae.Code).Inc()
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.RequestID = ae.Code, ae.Message, requestID(r.Context())
	return ae, b
}

// writeJSON answers v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"cannot encode the response"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// decodeJSON reads the request body as one JSON value into v, refusing
// unknown fields, trailing data and bodies over the server's size limit.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	return s.decodeFrom(r.Body, v)
}

// decodeFrom reads body as one JSON value into v, as decodeJSON does.
func (s *Server) decodeFrom(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var (
			tooLarge *http.MaxBytesError
			syntax   *json.SyntaxError
			typ      *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &tooLarge):
			return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is over the limit of %d bytes", s.cfg.MaxBody)
		case errors.As(err, &syntax):
			return errorf(http.StatusBadRequest, "malformed_json", "malformed JSON at byte %d: %v", syntax.Offset, syntax)
		case errors.As(err, &typ):
			return errorf(http.StatusBadRequest, "wrong_type", "field %q must be %s, not JSON %s", typ.Field, typ.Type, typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(http.StatusBadRequest, "unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return errorf(http.StatusBadRequest, "malformed_json", "the request body is empty or cut short (%v)", err)
		default:
			return errorf(http.StatusBadRequest, "malformed_json", "cannot read the request: %v", err)
		}
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "malformed_json", "the request body has data after its JSON value")
	}
	return nil
}
