package serve_test

import (
	"net/http"
	"strings"
	"testing"

	"accountd/http/api"
)

// JSON that encoding/json would accept and quietly repair is refused on every route that
// reads a body, before anything is written: a key given twice (the last would win), bytes
// that are not UTF-8 and escaped lone surrogates (both would be stored as U+FFFD).
func TestAmbiguousJSONRefusedOnEveryRoute(t *testing.T) {
	e := newEnv(t, nil)
	bodies := []struct{ name, body, inMessage string }{
		{"duplicate key", `{"email":"a@b.example","email":"anna@lac.example"}`, `"email" is given more than once`},
		{"duplicate key in another case", `{"email":"a@b.example","EMAIL":"anna@lac.example"}`, "more than once"},
		{"duplicate nested key", `{"policy":{"lockout_threshold":6,"lockout_threshold":60}}`, "more than once"},
		{"invalid UTF-8", "{\"email\":\"anna\xff@lac.example\"}", "not valid UTF-8"},
		{"truncated UTF-8", "{\"email\":\"anna\xc3\"}", "not valid UTF-8"},
		{"lone high surrogate", `{"email":"anna\ud83d@lac.example"}`, "lone UTF-16 surrogate"},
		{"lone low surrogate", `{"email":"anna\ude00@lac.example"}`, "lone UTF-16 surrogate"},
	}
	id := "00000000-0000-4000-8000-000000000001"
	posts := 0
	for _, rt := range e.srv.API().Routes() {
		if rt.Method != http.MethodPost || len(rt.Roles) == 0 {
			continue
		}
		posts++
		path := strings.NewReplacer("{id}", id, "{invoice_id}", "INV-1", "{account_id}", id).Replace(rt.Path)
		role := api.Role(rt.Roles[0])
		for _, b := range bodies {
			t.Run(rt.Name+"/"+b.name, func(t *testing.T) {
				before := e.head()
				r := e.post(path, role, b.body)
				msg, _ := r.body["error"].(map[string]any)["message"].(string)
				if r.status != http.StatusBadRequest || r.errCode() != "invalid_json" || !strings.Contains(msg, b.inMessage) {
					t.Errorf("%d %s, want 400 invalid_json saying %q", r.status, r.raw, b.inMessage)
				}
				if after := e.head(); after != before {
					t.Errorf("refused body wrote %d events", after-before)
				}
			})
		}
	}
	if posts < 20 {
		t.Fatalf("only %d POST routes", posts)
	}
	// A well-formed pair, an escaped backslash before a u, and an escaped quote stay accepted.
	r := e.post("/v1/logins", api.RoleLoginService, `{"email":"nobody@lac.example","password":"\ud83c\udfe8 \\ud800 \"x","ip":"192.0.2.1"}`)
	if r.status != http.StatusOK {
		t.Fatalf("valid escapes refused: %d %s", r.status, r.raw)
	}
}

// A timeline filter that can match nothing is the caller's mistake, answered like a bad
// ip or time filter rather than with an empty page.
func TestSuspiciousActivityFiltersAreChecked(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{"property_id=not-a-uuid", "account_id=not-a-uuid", "property_id=1234"} {
		r := e.get("/v1/suspicious-activity?"+q, api.RoleSecurity)
		param, _ := r.body["error"].(map[string]any)["details"].(map[string]any)["param"].(string)
		if r.status != http.StatusBadRequest || r.errCode() != "invalid_id" || param != strings.Split(q, "=")[0] {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := e.get("/v1/suspicious-activity?property_id=00000000-0000-4000-8000-000000000001", api.RoleSecurity); r.status != http.StatusOK {
		t.Errorf("a UUID filter: %d %s", r.status, r.raw)
	}
}
