package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"accountd/http/api"
)

// The end-to-end tests hold the server to its OpenAPI document: every request they send
// and every answer they get is validated against /openapi.yaml. A request the document
// refuses but the server accepts fails, an answer the document does not describe fails,
// and so does a request the document allows but the server refuses as malformed.

// contractServer is where the document's servers entry says the API lives; requests are
// matched against the document as if sent there.
const contractServer = "http://127.0.0.1:8080"

var contract = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	closeAnswers(doc)
	return gorillamux.NewRouter(doc)
})

// closeAnswers makes every described object closed: the document lists the fields a
// client may rely on, so a field the server sends and the document does not name (a Go
// field name, a forgotten addition) is a mismatch. Schemas that say additionalProperties
// stay as they say. The wrapper (allOf + unevaluatedProperties) keeps shared schemas used
// as allOf parts intact.
func closeAnswers(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(ref *openapi3.SchemaRef) *openapi3.SchemaRef
	visit = func(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
		if ref == nil || ref.Value == nil {
			return ref
		}
		s := ref.Value
		if !seen[s] {
			seen[s] = true
			for name, p := range s.Properties {
				s.Properties[name] = visit(p)
			}
			if s.Items != nil {
				s.Items = visit(s.Items)
			}
			for _, part := range s.AllOf {
				for name, p := range part.Value.Properties {
					part.Value.Properties[name] = visit(p)
				}
			}
		}
		if !objectWithFields(s) || open(s) {
			return ref
		}
		return &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{ref}, UnevaluatedProperties: openapi3.BoolSchema{Has: openapi3.Ptr(false)}}}
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			mt.Schema = visit(mt.Schema)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					content(r.Value.Content)
				}
			}
		}
	}
}

func objectWithFields(s *openapi3.Schema) bool {
	if len(s.Properties) > 0 {
		return true
	}
	for _, part := range s.AllOf {
		if objectWithFields(part.Value) {
			return true
		}
	}
	return false
}

func open(s *openapi3.Schema) bool {
	if s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil || s.UnevaluatedProperties.Has != nil {
		return true
	}
	for _, part := range s.AllOf {
		if open(part.Value) {
			return true
		}
	}
	return false
}

var contractOptions = &openapi3filter.Options{
	AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
	MultiError:              false,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020()},
}

// checkContract validates one exchange against the document and returns what does not fit.
func checkContract(method, pathAndQuery string, reqHeader http.Header, reqBody []byte, status int, respHeader http.Header, respBody []byte) error {
	router, err := contract()
	if err != nil {
		return fmt.Errorf("openapi.yaml does not load: %w", err)
	}
	u, err := url.Parse(contractServer + pathAndQuery)
	if err != nil {
		return err
	}
	req := &http.Request{Method: method, URL: u, Header: reqHeader.Clone(), Host: u.Host, Body: io.NopCloser(bytes.NewReader(reqBody))}
	if req.Header.Get("Content-Type") == "" && len(reqBody) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil // the document rightly has no such route
		}
		return fmt.Errorf("%s %s answered %d but the document has no such operation: %v", method, u.Path, status, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: contractOptions}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case reqErr != nil && status < 400:
		return fmt.Errorf("%s %s: the server accepted (%d) a request the document refuses: %v", method, u.Path, status, reqErr)
	case reqErr == nil && status == http.StatusBadRequest && refusesShape(respBody):
		return fmt.Errorf("%s %s: the document allows the request but the server refused its shape: %s", method, u.Path, respBody)
	}
	if bad := notSnakeCase(respBody); len(bad) > 0 {
		return fmt.Errorf("%s %s: keys not in snake_case: %v", method, u.Path, bad)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: respHeader, Options: contractOptions}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s: the %d answer does not fit the document: %v\n%s", method, u.Path, status, err, respBody)
	}
	return nil
}

// refusesShape tells a refusal of the request's form (a field the server does not know)
// from a refusal of its content (a weak password, an unknown account), which no schema
// can foresee.
func refusesShape(body []byte) bool {
	var answer struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &answer) != nil {
		return false
	}
	switch answer.Error.Code {
	case api.CodeInvalidJSON, api.CodeInvalidRequest:
		m := answer.Error.Message
		return strings.Contains(m, "unknown field") || strings.Contains(m, "cannot unmarshal") || strings.HasSuffix(m, "is required")
	}
	return false
}

// rawCall sends a request through the contract check, for tests that need the raw answer
// (a CSV, a header) rather than env.call's parsed JSON.
func (e *env) rawCall(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := checkContract(req.Method, req.URL.RequestURI(), req.Header, reqBody, resp.StatusCode, resp.Header, raw); err != nil {
		e.t.Error(err)
	}
	return resp, raw
}

// TestContractCatchesMismatches shows the check fails in each direction it claims to.
func TestContractCatchesMismatches(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	const property = "/v1/properties/p-1"
	for _, tc := range []struct {
		name, method, path, request string
		status                      int
		answer                      string
		fits                        bool
	}{
		{"a described answer", "GET", "/healthz", "", 200, `{"status":"ok"}`, true},
		{"an undescribed field in an answer", "GET", "/healthz", "", 200, `{"status":"ok","Since":"x"}`, false},
		{"an undescribed field in a nested object", "GET", property, "", 200, `{"property_id":"p","name":"n","Extra":1}`, false},
		{"a wrong type in an answer", "GET", "/healthz", "", 200, `{"status":1}`, false},
		{"an accepted request the document refuses", "POST", property + "/billing-contacts", `{"email":"a@b.example","nickname":"x"}`, 200, `{"property_id":"p","position":1}`, false},
		{"a refused request the document allows", "POST", property + "/billing-contacts", `{"email":"a@b.example"}`, 400, `{"error":{"code":"invalid_json","message":"json: unknown field \"email\""}}`, false},
		{"a refused request the document refuses too", "POST", property + "/billing-contacts", `{"nickname":"x"}`, 400, `{"error":{"code":"invalid_json","message":"json: unknown field \"nickname\""}}`, true},
		{"a Go field name in an open object", "GET", "/v1/accounts/a-1/events", "", 200, `{"entries":[{"data":{"Since":"2026-03-02T09:00:00Z"}}]}`, false},
		{"snake_case in an open object", "GET", "/v1/accounts/a-1/events", "", 200, `{"entries":[{"data":{"since":"2026-03-02T09:00:00Z"}}]}`, true},
		{"a Go field name in the state at an instant", "GET", "/v1/accounts/a-1/state?at=2026-03-02T09:00:00Z", "", 200, `{"disabled":{"manual":{"Since":"2026-03-02T09:00:00Z"}}}`, false},
		{"an operation the document lacks", "GET", "/v1/nowhere", "", 200, `{}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkContract(tc.method, tc.path, http.Header{}, []byte(tc.request), tc.status, jsonHeader, []byte(tc.answer))
			if (err == nil) != tc.fits {
				t.Errorf("fits = %v, want %v (%v)", err == nil, tc.fits, err)
			}
		})
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// notSnakeCase lists the object keys of a JSON answer, at any depth, that are not
// snake_case (a Go field name that escaped without a json tag, say).
func notSnakeCase(raw []byte) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var bad []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !snakeCase.MatchString(k) {
					bad = append(bad, path+"/"+k)
				}
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(path+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("", v)
	return bad
}
