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
	"unicode/utf8"

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
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer putBuffer(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(x.w, x.r.Body, limit)); err != nil {
		return jsonProblem(err, limit)
	}
	return decodeStrict(buf.Bytes(), v, optional, limit)
}

// decodeStrict decodes one JSON object into v. Beyond encoding/json it refuses what that
// package would silently repair: bytes that are not UTF-8 and \u escapes of lone
// surrogates (both would be stored as U+FFFD), and a key given twice, case-insensitively as
// encoding/json matches fields (the last value would win unseen).
func decodeStrict(body []byte, v any, optional bool, limit int64) error {
	if !utf8.Valid(body) {
		off := int64(invalidUTF8At(body))
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body is not valid UTF-8 (byte " + strconv.FormatInt(off, 10) + ")", Details: &jsonDetails{Offset: off}}
	}
	if off, bad := loneSurrogateAt(body); bad {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body escapes a lone UTF-16 surrogate at byte " + strconv.FormatInt(int64(off), 10), Details: &jsonDetails{Offset: int64(off)}}
	}
	if key, dup := duplicateKey(body); dup {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "field \"" + key + "\" is given more than once", Details: &jsonDetails{Field: key}}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
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

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// loneSurrogateAt finds a \uD800-\uDFFF escape that is not half of a high-low pair.
func loneSurrogateAt(b []byte) (int, bool) {
	inString := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(b):
			if b[i+1] != 'u' {
				i++ // an escaped quote or backslash is not a delimiter
				continue
			}
			r, ok := hexRune(b, i+2)
			if !ok {
				continue // malformed: the decoder words it
			}
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, true
			case r >= 0xD800 && r <= 0xDBFF:
				if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo, ok := hexRune(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11
						continue
					}
				}
				return i, true
			}
			i += 5
		}
	}
	return 0, false
}

func hexRune(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// duplicateKey walks the body's tokens and names the first key an object repeats. A body
// that is not well-formed JSON is left to the decoder, whose error says where.
func duplicateKey(body []byte) (string, bool) {
	type frame struct {
		object, expectKey bool
		keys              map[string]struct{}
	}
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
			if key, ok := tok.(string); ok {
				// encoding/json matches field names case-insensitively, Unicode folding included.
				folded := strings.ToLower(strings.ToUpper(key))
				if _, seen := stack[n-1].keys[folded]; seen {
					return key, true
				}
				stack[n-1].keys[folded] = struct{}{}
				stack[n-1].expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, expectKey: true, keys: map[string]struct{}{}})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
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
	if e.RetryAfter > 0 {
		x.w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
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
