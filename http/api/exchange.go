package api

import (
	"accountd/eventstore/eventlog"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"accountd/commands"
	"accountd/domain"
)

// exchange is one request and its response. It is the http.ResponseWriter the router and
// handlers see, so per-request state (request ID, granted roles, the status written) travels
// without context values, which would cost allocations on the hot path. Pooled.
type exchange struct {
	api     *API
	w       http.ResponseWriter
	r       *http.Request
	id      string
	route   string
	start   time.Time
	status  int
	bytes   int
	roles   roleSet
	errCode domain.Code
	cause   error
	// endpoint served, and the account ID the fast path matched without the router.
	endpoint *endpoint
	fastID   string
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func (x *exchange) Header() http.Header { return x.w.Header() }

func (x *exchange) WriteHeader(code int) {
	if x.status == 0 {
		x.status = code
	}
	x.w.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	n, err := x.w.Write(b)
	x.bytes += n
	return n, err
}

// Shared, never mutated: assigning them to a header map costs no allocation.
var (
	contentTypeJSON = []string{"application/json"}
	noStore         = []string{"no-store"}
	bearerChallenge = []string{`Bearer realm="accountd"`}
)

// Request IDs: a caller's X-Request-ID is kept when it is short and plain; otherwise the
// server makes one from a per-process random prefix and a counter, which is unique,
// sortable within a process and free of the cost of a random read per request.
var (
	requestPrefix  = newRequestPrefix()
	requestCounter atomic.Uint64
)

func newRequestPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

func requestID(r *http.Request) string {
	if v := r.Header.Get("X-Request-Id"); validRequestID(v) {
		return v
	}
	var buf [32]byte
	b := append(buf[:0], requestPrefix...)
	b = strconv.AppendUint(b, requestCounter.Add(1), 36)
	return string(b)
}

func validRequestID(v string) bool {
	if v == "" || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// meta identifies the command a write request carries: the Idempotency-Key, scoped by the
// route so one key reused on another kind of request is not mistaken for a retry, or a
// fresh ID; the request ID correlates its events with the log line.
func (x *exchange) meta() (commands.Meta, error) {
	m := commands.Meta{CorrelationID: x.id}
	key := x.r.Header.Get("Idempotency-Key")
	switch {
	case key == "":
		m.CommandID = eventlog.NewCommandID()
	case len(key) > 200 || strings.ContainsAny(key, "\r\n\x00"):
		return m, invalidRequest("Idempotency-Key must be at most 200 printable characters")
	default:
		m.CommandID = "idem:" + x.route + ":" + key
	}
	return m, nil
}

// decode reads the JSON body into v, refusing unknown fields, trailing data and bodies over
// the limit, and naming the problem so a client developer can fix it from the message. An
// empty body reads as {} on a route that declares every field optional (route.optionalBody).
func (x *exchange) decode(v any) error {
	return x.decodeBody(v, x.endpoint != nil && x.endpoint.optionalBody)
}

func (x *exchange) decodeBody(v any, optional bool) error {
	limit := x.api.maxBody
	if x.r.ContentLength > limit {
		return bodyTooLarge(limit)
	}
	// The server's own writer, not the exchange: it is what lets net/http close the
	// connection after a 413 rather than read the rest of an oversized body.
	body := http.MaxBytesReader(x.w, x.r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		return jsonProblem(err, limit)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err == nil {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "unexpected data after the JSON object"}
		}
		return jsonProblem(err, limit)
	}
	return nil
}

func bodyTooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
		Message: "request body exceeds " + strconv.FormatInt(limit, 10) + " bytes", Details: map[string]int64{"limit_bytes": limit}}
}

type jsonDetails struct {
	Field  string `json:"field,omitempty"`
	Offset int64  `json:"offset,omitempty"`
}

func jsonProblem(err error, limit int64) *Error {
	bad := func(msg string, d *jsonDetails) *Error {
		e := &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: msg}
		if d != nil {
			e.Details = d
		}
		return e
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return bodyTooLarge(limit)
	case errors.Is(err, io.EOF):
		return bad("request body is empty; send a JSON object", nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("request body ends in the middle of the JSON value", nil)
	case errors.As(err, &syntax):
		return bad("malformed JSON at byte "+strconv.FormatInt(syntax.Offset, 10)+": "+syntax.Error(), &jsonDetails{Offset: syntax.Offset})
	case errors.As(err, &typ):
		if typ.Field == "" {
			return bad("the body must be a JSON object, not "+typ.Value, nil)
		}
		return bad("field \""+typ.Field+"\" must be "+jsonKind(typ.Type.Kind().String())+", not "+typ.Value, &jsonDetails{Field: typ.Field})
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return bad("unknown field "+f, &jsonDetails{Field: strings.Trim(f, `"`)})
	}
	return bad(msg, nil)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a number"
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// json writes v with encoding/json through a pooled buffer.
func (x *exchange) json(status int, v any) error {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer putBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	x.writeJSON(status, buf.Bytes())
	return nil
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 { // a rare huge response is not worth keeping
		bufferPool.Put(b)
	}
}

func (x *exchange) writeJSON(status int, body []byte) {
	h := x.w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	x.WriteHeader(status)
	_, _ = x.Write(body)
}

// fail writes err as the API's error shape. Internal errors say nothing about their
// cause: it is logged under the request ID, which the client can quote.
func (x *exchange) fail(err error) {
	e := toError(err)
	x.errCode = e.Code
	if e.Cause != nil || e.Status >= 500 {
		x.cause = err
	}
	if x.status != 0 {
		return // a response is already on its way; the log keeps the error
	}
	if e.Status == http.StatusUnauthorized {
		x.w.Header()["Www-Authenticate"] = bearerChallenge
	}
	body := errorBody{Error: errorFields{Code: e.Code, Message: localMessage(e, x.lang()), Details: e.Details}}
	if e.Status >= 500 {
		body.Error.RequestID = x.id
	}
	if jerr := x.json(e.Status, body); jerr != nil {
		x.cause = errors.Join(err, jerr)
	}
}

// command reads a write request: its JSON body into body (nil: the request carries none,
// as a GET or a DELETE whose input is the path and query), the request's own checks (check
// may be nil), and the command's identity. Every write handler starts this way, so a
// malformed request is refused before anything is written, in the same order everywhere.
func (x *exchange) command(body any, check func() error) (commands.Meta, error) {
	if body != nil {
		if err := x.decode(body); err != nil {
			return commands.Meta{}, err
		}
	}
	if check != nil {
		if err := check(); err != nil {
			return commands.Meta{}, err
		}
	}
	return x.meta()
}
