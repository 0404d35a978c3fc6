package serve_test

import (
	"net/http"
	"strings"
	"testing"

	"accountd/domain"
	"accountd/http/api"
)

// Every route that needs a token answers 401 without one or with a wrong one, and 403 to
// a token whose roles it does not accept: roles are strict, admin included.
func TestAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	routes := e.srv.API().Routes()
	if len(routes) < 25 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		path := strings.NewReplacer("{id}", "some-id", "{invoice_id}", "INV-1").Replace(rt.Path)
		if len(rt.Roles) == 0 {
			if r := e.call(rt.Method, path, "", nil); r.status == http.StatusUnauthorized {
				t.Errorf("%s %s: public route asks for a token", rt.Method, rt.Path)
			}
			continue
		}
		t.Run(rt.Name, func(t *testing.T) {
			none := e.call(rt.Method, path, "", "{}")
			if none.status != http.StatusUnauthorized || none.errCode() != "unauthenticated" || none.header.Get("WWW-Authenticate") == "" {
				t.Errorf("no token: %d %s", none.status, none.raw)
			}
			wrong := e.call(rt.Method, path, "", "{}", "Authorization", "Bearer acd_not-a-real-token-at-all")
			if wrong.status != http.StatusUnauthorized || wrong.errCode() != "unauthenticated" {
				t.Errorf("wrong token: %d %s", wrong.status, wrong.raw)
			}
			for _, role := range api.Roles {
				allowed := false
				for _, r := range rt.Roles {
					allowed = allowed || r == string(role)
				}
				r := e.call(rt.Method, path, role, "{}")
				if forbidden := r.status == http.StatusForbidden && r.errCode() == "forbidden"; forbidden == allowed {
					t.Errorf("role %s: %d %s (allowed: %v)", role, r.status, r.raw, allowed)
				}
			}
		})
	}
}

// Malformed, oversized and unexpected bodies are refused with a code and a message that
// names the problem; unknown paths and methods answer in the same error shape.
func TestRequestErrors(t *testing.T) {
	e := newEnv(t, nil)
	huge := `{"email":"` + strings.Repeat("a", 70<<10) + `"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     domain.Code
		inMessage                string
	}{
		{"unknown field", "POST", "/v1/logins", `{"email":"a@b.example","password":"x","ip":"192.0.2.1","remember_me":true}`, 400, "invalid_json", `unknown field "remember_me"`},
		{"syntax error", "POST", "/v1/logins", `{"email":"a@b.example",}`, 400, "invalid_json", "malformed JSON at byte"},
		{"truncated", "POST", "/v1/logins", `{"email":"a@b.example"`, 400, "invalid_json", "ends in the middle"},
		{"wrong type", "POST", "/v1/logins", `{"email":42}`, 400, "invalid_json", `field "email" must be a string`},
		{"not an object", "POST", "/v1/logins", `["email"]`, 400, "invalid_json", "must be a JSON object"},
		{"empty body", "POST", "/v1/logins", ``, 400, "invalid_json", "empty"},
		{"trailing data", "POST", "/v1/logins", `{"email":"a@b.example"} {}`, 400, "invalid_json", "after the JSON object"},
		{"missing ip", "POST", "/v1/logins", `{"email":"a@b.example","password":"x"}`, 400, "invalid_request", `"ip"`},
		{"bad ip", "POST", "/v1/logins", `{"email":"a@b.example","password":"x","ip":"somewhere"}`, 400, "invalid_request", "IPv4 or IPv6"},
		{"too large", "POST", "/v1/logins", huge, 413, "body_too_large", "65536 bytes"},
		{"unknown path", "GET", "/v1/nothing-here", "", 404, "not_found", ""},
		{"wrong method", "PUT", "/v1/logins", "{}", 405, "method_not_allowed", ""},
		{"bad min_position", "GET", "/v1/accounts/x/status?min_position=soon", "", 400, "invalid_request", "min_position"},
		{"unknown account", "GET", "/v1/accounts/no-such-account/status", "", 404, "account_not_found", ""},
		{"unknown email", "GET", "/v1/accounts/status?email=ghost@lago.example", "", 404, "account_not_found", ""},
		{"status without email", "GET", "/v1/accounts/status", "", 400, "invalid_request", "email"},
		{"unknown session", "GET", "/v1/sessions/nobody_x", "", 404, "session_not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(tc.method, tc.path, api.RoleLoginService, tc.body, "Content-Type", "application/json")
			msg, _ := r.body["error"].(map[string]any)["message"].(string)
			if r.status != tc.status || r.errCode() != tc.code || !strings.Contains(msg, tc.inMessage) {
				t.Errorf("%d %s, want %d %s containing %q", r.status, r.raw, tc.status, tc.code, tc.inMessage)
			}
			if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Request-Id") == "" {
				t.Errorf("headers %v", r.header)
			}
		})
	}
	// A body without Content-Length is cut at the limit too.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/v1/logins", struct{ *strings.Reader }{strings.NewReader(huge)})
	req.Header.Set("Authorization", "Bearer "+e.tokens[api.RoleLoginService])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.ContentLength == 0 {
		t.Fatalf("chunked oversized body: %s", resp.Status)
	}
}

// The caller's X-Request-ID comes back and names the events the request caused.
func TestRequestIDs(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post("/v1/properties", api.RoleAdmin, map[string]string{"name": "Lago", "primary_contact_email": "d@lago.example"}, "X-Request-ID", "req-123.abc")
	if got := r.header.Get("X-Request-Id"); got != "req-123.abc" {
		t.Fatalf("X-Request-Id %q", got)
	}
	recs := e.events("property-" + r.str("property_id"))
	if len(recs) != 1 || !strings.Contains(string(recs[0].Metadata), `"correlation_id":"req-123.abc"`) {
		t.Fatalf("events of the request: %s", recs[0].Metadata)
	}
	bad := e.get("/healthz", "", "X-Request-ID", "has spaces in it")
	if got := bad.header.Get("X-Request-Id"); got == "" || got == "has spaces in it" {
		t.Fatalf("unusable request ID echoed: %q", got)
	}
}

// A retried write with the same Idempotency-Key is applied once and answers the same.
func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, nil)
	body := map[string]string{"name": "Lago", "primary_contact_email": "d@lago.example"}
	a := e.must(e.post("/v1/properties", api.RoleAdmin, body, "Idempotency-Key", "create-lago-1"), http.StatusCreated)
	b := e.must(e.post("/v1/properties", api.RoleAdmin, body, "Idempotency-Key", "create-lago-1"), http.StatusCreated)
	if a.str("property_id") != b.str("property_id") || a.position() != b.position() {
		t.Fatalf("retry made something new: %s then %s", a.raw, b.raw)
	}
	if n := len(e.events("property-" + a.str("property_id"))); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	c := e.must(e.post("/v1/properties", api.RoleAdmin, body, "Idempotency-Key", "create-lago-2"), http.StatusCreated)
	if c.str("property_id") == a.str("property_id") {
		t.Fatal("a new key made the same property")
	}

	id := e.activeAccount("olga@lago.example")
	login := map[string]string{"email": "olga@lago.example", "password": "wrong password", "ip": "192.0.2.1"}
	first := e.must(e.post("/v1/logins", api.RoleLoginService, login, "Idempotency-Key", "attempt-1"), http.StatusOK)
	again := e.must(e.post("/v1/logins", api.RoleLoginService, login, "Idempotency-Key", "attempt-1"), http.StatusOK)
	if first.position() != again.position() || countType(e.events("account-"+id), "login_failed.v1") != 1 {
		t.Fatalf("a retried login counted twice: %s then %s", first.raw, again.raw)
	}
}

// Read-your-writes: a status read with the position a write answered with reflects it; one
// far in the future gives up after the bounded wait.
func TestMinPosition(t *testing.T) {
	e := newEnv(t, nil)
	reg := e.must(e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "pia@lago.example", "password": goodPassword}), http.StatusCreated)
	id := reg.str("account_id")
	for _, path := range []string{"/v1/accounts/" + id + "/status", "/v1/accounts/status?email=PIA@lago.example&"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = ""
		}
		st := e.must(e.get(path+sep+"min_position="+itoa(reg.position()), api.RoleSecurity), http.StatusOK)
		if st.str("account_id") != id || st.position() < reg.position() {
			t.Fatalf("%s: %s", path, st.raw)
		}
		r := e.get(path+sep+"min_position="+itoa(reg.position()+1000), api.RoleAdmin)
		if r.status != http.StatusConflict || r.errCode() != "not_caught_up" {
			t.Fatalf("%s far ahead: %d %s", path, r.status, r.raw)
		}
	}
	st := e.status(id, reg.position())
	for _, f := range []string{"account_id", "status", "reasons", "failed_attempts", "attempts_remaining", "password_changed_at", "password_expires_at", "mfa", "properties", "position"} {
		if _, ok := st.body[f]; !ok {
			t.Errorf("status has no %q: %s", f, st.raw)
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, nil)
	e.must(e.get("/healthz", ""), http.StatusOK)
	e.createProperty("Lago")
	// Ready once the read models have applied everything.
	e.settled()
	r := e.must(e.get("/readyz", ""), http.StatusOK)
	if r.position() == 0 {
		t.Fatalf("ready at position 0 after a write: %s", r.raw)
	}
}
