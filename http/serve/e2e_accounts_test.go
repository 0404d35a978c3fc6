package serve_test

import (
	"net/http"
	"testing"

	"accountd/http/api"
)

// Registration, activation by the e-mailed link, and what can go wrong with both (R2.4, R5.2).
func TestRegistrationAndActivation(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Hotel du Lac")
	id, pos := e.register("anna@lac.example", prop)

	st := e.status(id, pos)
	if st.str("status") != "pending_activation" {
		t.Fatalf("new account: status %q, want pending_activation", st.str("status"))
	}
	if r := e.login("anna@lac.example", goodPassword); r.str("reason") != "pending_activation" {
		t.Fatalf("login before activation: %s", r.raw)
	}

	taken := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "ANNA@lac.example", "password": goodPassword, "property_id": prop})
	if taken.status != http.StatusConflict || taken.errCode() != "email_not_available" {
		t.Fatalf("same address again: %d %s", taken.status, taken.raw)
	}

	// The first link is superseded by a re-sent one: only the latest works.
	first := e.mail.link("anna@lac.example", "activation")
	e.must(e.post("/v1/accounts/"+id+"/activation-links", api.RoleLoginService, nil), http.StatusAccepted)
	second := e.mail.link("anna@lac.example", "activation")
	if r := e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": first}); r.status != http.StatusGone || r.errCode() != "link_superseded" {
		t.Fatalf("superseded activation link: %d %s", r.status, r.raw)
	}
	act := e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": second}), http.StatusOK)
	if act.str("account_id") != id || act.position() == 0 {
		t.Fatalf("activation: %s", act.raw)
	}
	if r := e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": second}); r.status != http.StatusConflict || r.errCode() != "already_activated" {
		t.Fatalf("second activation: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/accounts/"+id+"/activation-links", api.RoleAdmin, nil); r.status != http.StatusConflict || r.errCode() != "already_activated" {
		t.Fatalf("re-send to an active account: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": "not-a-token"}); r.status != http.StatusBadRequest || r.errCode() != "link_invalid" {
		t.Fatalf("garbage token: %d %s", r.status, r.raw)
	}
	if st := e.status(id, act.position()); st.str("status") != "active" {
		t.Fatalf("after activation: %s", st.raw)
	}
	ok := e.login("anna@lac.example", goodPassword)
	if ok.str("decision") != "allowed" || ok.str("session_id") == "" || ok.str("session_expires_at") == "" || ok.str("account_id") != id {
		t.Fatalf("login after activation: %s", ok.raw)
	}
}

// A refused password lists every rule it breaks (R2.2).
func TestPasswordRejectedListsEveryViolation(t *testing.T) {
	e := newEnv(t, nil)
	r := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "marco.rossi@lago.example", "password": "marco.rossi"})
	if r.status != http.StatusUnprocessableEntity || r.errCode() != "password_rejected" {
		t.Fatalf("weak password: %d %s", r.status, r.raw)
	}
	details := r.body["error"].(map[string]any)["details"].(map[string]any)
	var rules []string
	for _, v := range details["violations"].([]any) {
		rules = append(rules, v.(map[string]any)["rule"].(string))
	}
	want := map[string]bool{"too_short": true, "contains_username": true}
	for _, rule := range rules {
		delete(want, rule)
	}
	if len(want) > 0 {
		t.Fatalf("violations %v miss %v", rules, want)
	}
	common := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "x@lago.example", "password": "Password1234"})
	if common.errCode() != "password_rejected" {
		t.Fatalf("common password accepted: %s", common.raw)
	}
}
