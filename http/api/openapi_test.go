package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

type openAPIOperation struct {
	OperationID string   `yaml:"operationId"`
	Roles       []string `yaml:"x-roles"`
}

type openAPIDoc struct {
	OpenAPI string                                 `yaml:"openapi"`
	Paths   map[string]map[string]openAPIOperation `yaml:"paths"`
}

// TestOpenAPIMatchesRoutes keeps the hand-written document true: every route the API
// registers (the JSON route table and the plain routes) is described, under its route name and with its roles, and the document
// describes nothing the API does not serve.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: t.TempDir(), Sync: sqlite.Normal, Argon2: &cheapest, Logger: slog.New(slog.DiscardHandler),
		Tokens: []api.Token{{Secret: benchToken, Roles: []api.Role{api.RoleLoginService}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	var doc openAPIDoc
	if err := yaml.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	// A strict reader, not just YAML: a description written as {a: b, c} parses as YAML
	// but is not the text it looks like.
	strict, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err == nil {
		err = strict.Validate(context.Background())
	}
	if err != nil {
		t.Errorf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	described := map[string]openAPIOperation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			described[strings.ToUpper(method)+" "+path] = op
		}
	}
	served := map[string]bool{}
	for _, r := range append(srv.API().Routes(), srv.API().PlainRoutes()...) {
		key := r.Method + " " + r.Path
		served[key] = true
		op, ok := described[key]
		if !ok {
			t.Errorf("route %s (%s) is missing from openapi.yaml", key, r.Name)
			continue
		}
		if op.OperationID != r.Name {
			t.Errorf("%s: operationId %q, want the route name %q", key, op.OperationID, r.Name)
		}
		want, got := slices.Clone(r.Roles), slices.Clone(op.Roles)
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: x-roles %v, want %v", key, op.Roles, r.Roles)
		}
	}
	for key := range described {
		if !served[key] {
			t.Errorf("openapi.yaml describes %s, which the API does not serve", key)
		}
	}

	// The document is served as is, without a token.
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if w.Code != http.StatusOK || w.Body.String() != string(api.OpenAPI()) {
		t.Errorf("GET /openapi.yaml: %d, %d bytes", w.Code, w.Body.Len())
	}
}
