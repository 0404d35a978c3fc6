package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// inputRefusals are the codes that refuse a request for its form alone: such a request
// writes nothing. (A refusal the log must keep, a wrong link or current password, is on
// record by design, PCI 10.2.1.4, and is not one of them.)
var inputRefusals = map[string]bool{
	"invalid_json": true, "invalid_request": true, "invalid_email": true, "invalid_id": true,
	"body_too_large": true, "password_rejected": true, "invalid_command": true, "invalid_policy": true,
}

// Every request body, sent to every write route of the real server (in process, SQLite
// log): nothing panics or answers 5xx; a body refused for its form writes nothing; a body
// accepted is well-formed UTF-8 JSON. The seeds are one valid body per route.
func FuzzRequestBodies(f *testing.F) {
	const token = "fuzz-token-with-every-role"
	p := domain.DefaultPolicy()
	p.MFARequired = false
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: f.TempDir(), Policy: &p, Sync: sqlite.Normal, Argon2: cheapArgon2(), Logger: slog.New(slog.DiscardHandler),
		Tokens: []api.Token{{Secret: token, Roles: api.Roles}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	h := srv.Handler()
	send := func(method, path string, body []byte) (int, map[string]any) {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	_, prop := send(http.MethodPost, "/v1/properties", []byte(`{"name":"Lago","primary_contact_email":"direction@lago.example"}`))
	_, acc := send(http.MethodPost, "/v1/accounts", []byte(`{"email":"anna@lago.example","password":"Correct horse battery 42"}`))
	propID, _ := prop["property_id"].(string)
	accountID, _ := acc["account_id"].(string)
	if propID == "" || accountID == "" {
		f.Fatalf("setup: %v %v", prop, acc)
	}
	var routes []api.Route
	for _, rt := range srv.API().Routes() {
		if rt.Method == http.MethodPost && !strings.Contains(rt.Path, "rebuild") {
			routes = append(routes, rt)
		}
	}
	path := func(rt api.Route) string {
		id := accountID
		if strings.HasPrefix(rt.Path, "/v1/properties/") {
			id = propID
		}
		return strings.NewReplacer("{id}", id, "{account_id}", accountID, "{invoice_id}", "INV-1").Replace(rt.Path)
	}
	seeds := map[string]string{
		"email": "anna@lago.example", "password": "Correct horse battery 42", "ip": "192.0.2.7", "token": accountID + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"new_password": "Another horse battery 7", "current_password": "Correct horse battery 42", "code": "123456",
		"name": "Bellevue", "primary_contact_email": "direction@bellevue.example", "account_id": accountID, "support_reference": "T-1",
		"status": "active", "property_id": propID,
	}
	for i := range routes {
		seed, _ := json.Marshal(seeds)
		f.Add(uint8(i), seed)
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(0), []byte(`{"email":"a@b.example","email":"anna@lago.example"}`))
	f.Add(uint8(0), []byte("{\"email\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		before, err := srv.Store().HeadPosition(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		status, out := send(rt.Method, path(rt), body)
		after, err := srv.Store().HeadPosition(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		e, _ := out["error"].(map[string]any)
		code, _ := e["code"].(string)
		switch {
		case status >= 500:
			t.Fatalf("%s %q: %d %v", rt.Name, body, status, out)
		case status >= 400 && inputRefusals[code] && after != before:
			t.Fatalf("%s %q: refused with %s yet wrote %d events", rt.Name, body, code, after-before)
		case status < 300 && len(bytes.TrimSpace(body)) > 0 && (!utf8.Valid(body) || !json.Valid(body)):
			t.Fatalf("%s %q: accepted a body that is not UTF-8 JSON", rt.Name, body)
		}
	})
}
