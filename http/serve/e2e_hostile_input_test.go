package serve_test

import (
	"accountd/domain"
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
		path := strings.NewReplacer("{id}", id, "{invoice_id}", "INV-1", "{account_id}", id, "{name}", "siem").Replace(rt.Path)
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

// One person, one identity: the forms of an address a person could type for it (case,
// fullwidth letters, a fullwidth letter in the domain) are that address; forms that only
// look like it (a Cyrillic а, in the local part or the domain) are refused as confusable;
// invisible and bidi characters are refused outright. Nothing refused is written or mailed.
func TestLookAlikeAddressesAreRefused(t *testing.T) {
	e := newEnv(t, nil)
	const anna = "anna@lac.example"
	e.activeAccount(anna)
	mails := len(e.mail.read())
	tests := []struct {
		name, email string
		status      int
		code        domain.Code
	}{
		{"upper case", "ANNA@Lac.Example", 409, "email_not_available"},
		{"fullwidth letter", "ａnna@lac.example", 409, "email_not_available"},
		{"fullwidth letter in the domain", "anna@ｌac.example", 409, "email_not_available"},
		{"Cyrillic a", "аnna@lac.example", 409, "email_confusable"},
		{"Cyrillic a in the domain", "anna@lаc.example", 409, "email_confusable"},
		{"Greek omicron and Cyrillic e", "аnnа@lac.ехample", 409, "email_confusable"},
		{"zero-width space", "an\u200bna@lac.example", 400, "invalid_email"},
		{"zero-width joiner", "anna\u200d@lac.example", 400, "invalid_email"},
		{"right-to-left override", "\u202eanna@lac.example", 400, "invalid_email"},
		{"soft hyphen", "an\u00adna@lac.example", 400, "invalid_email"},
		{"double dot in the domain", "anna@lac..example", 400, "invalid_email"},
		{"quoted local part", `"anna lac"@lac.example`, 400, "invalid_email"},
		{"display name", "Anna <anna2@lac.example>", 400, "invalid_email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			r := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": tc.email, "password": goodPassword})
			if r.status != tc.status || r.errCode() != tc.code {
				t.Errorf("%q: %d %s, want %d %s", tc.email, r.status, r.raw, tc.status, tc.code)
			}
			if after := e.head(); after != before {
				t.Errorf("%q: refused registration wrote %d events", tc.email, after-before)
			}
		})
	}
	if n := len(e.mail.read()); n != mails {
		t.Errorf("%d mails for refused registrations", n-mails)
	}
	// Distinct addresses that look like nobody's stay welcome, non-ASCII ones included.
	for _, addr := range []string{"anna.b@lac.example", "élise@café.example", "straße@lac.example"} {
		e.must(e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": addr, "password": goodPassword}), http.StatusCreated)
	}
	if r := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "ÉLISE@CAFÉ.example", "password": goodPassword}); r.errCode() != "email_not_available" {
		t.Errorf("the same non-ASCII address again: %s", r.raw)
	}

	// Sign-in and lockout key on the identity: wrong passwords under any form of Anna's
	// address count on her account, and the look-alike counts on its own decoy.
	for _, form := range []string{"ANNA@lac.example", "ａnna@lac.example", "anna@ｌac.example", "anna@LAC.example", "Anna@lac.example", " anna@lac.example "} {
		e.login(form, "wrong password")
	}
	if r := e.login(anna, goodPassword); r.str("reason") != "account_locked" {
		t.Errorf("six wrong passwords under six forms of the address: %s", r.raw)
	}
	if r := e.login("аnna@lac.example", "wrong password"); r.str("reason") != "invalid_credentials" || r.num("attempts_remaining") != 5 {
		t.Errorf("the look-alike is another (unknown) address: %s", r.raw)
	}
}

// One notion of a valid address: what the API accepts the mailer can send to, because both
// read it with net/mail. An address the mailer would refuse is refused at the API, where
// the person can correct it, for accounts and for property contacts alike.
func TestAddressesTheMailerRefusesAreRefusedAtTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lac Hotel")
	for _, bad := range []string{"anna@lac..example", "anna.@lac.example", ".anna@lac.example", "an..na@lac.example", "anna@lac.example.", "anna@-lac.example", "anna@lac_x.example"} {
		before := e.head()
		for _, req := range []struct {
			path string
			role api.Role
			body map[string]string
		}{
			{"/v1/accounts", api.RoleLoginService, map[string]string{"email": bad, "password": goodPassword}},
			{"/v1/properties", api.RoleAdmin, map[string]string{"name": "Another", "primary_contact_email": bad}},
			{"/v1/properties/" + prop + "/billing-contacts", api.RoleAdmin, map[string]string{"email": bad}},
			{"/v1/properties/" + prop + "/members", api.RoleAdmin, map[string]string{"email": bad, "password": goodPassword, "support_reference": "T-1"}},
		} {
			if r := e.post(req.path, req.role, req.body); r.status != http.StatusBadRequest || r.errCode() != "invalid_email" {
				t.Errorf("%s %q: %d %s", req.path, bad, r.status, r.raw)
			}
		}
		if after := e.head(); after != before {
			t.Errorf("%q: refused requests wrote %d events", bad, after-before)
		}
	}
}
