package serve_test

import (
	"net/http"
	"testing"
	"time"

	"accountd/domain"
	"accountd/http/api"
)

// R2.3: requesting a new reset link expires every earlier one; only the latest works, once.
func TestOnlyTheLatestResetLinkWorks(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "elena@lago.example"
	e.activeAccount(addr)

	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": addr}), http.StatusAccepted)
	first := e.mail.link(addr, "password_reset")
	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": addr}), http.StatusAccepted)
	second := e.mail.link(addr, "password_reset")

	const newPassword = "A brand new passphrase 7"
	r := e.post("/v1/password-resets", api.RoleLoginService, map[string]string{"token": first, "new_password": newPassword})
	if r.status != http.StatusGone || r.errCode() != "link_superseded" {
		t.Fatalf("first link: %d %s", r.status, r.raw)
	}
	weak := e.post("/v1/password-resets", api.RoleLoginService, map[string]string{"token": second, "new_password": "short"})
	if weak.status != http.StatusUnprocessableEntity || weak.errCode() != "password_rejected" {
		t.Fatalf("weak new password: %d %s", weak.status, weak.raw)
	}
	e.must(e.post("/v1/password-resets", api.RoleLoginService, map[string]string{"token": second, "new_password": newPassword}), http.StatusOK)
	again := e.post("/v1/password-resets", api.RoleLoginService, map[string]string{"token": second, "new_password": "Yet another passphrase 8"})
	if again.status != http.StatusGone || again.errCode() != "link_used" {
		t.Fatalf("second link used twice: %d %s", again.status, again.raw)
	}
	if r := e.login(addr, goodPassword); r.str("decision") != "denied" {
		t.Fatalf("old password still works: %s", r.raw)
	}
	if r := e.login(addr, newPassword); r.str("decision") != "allowed" {
		t.Fatalf("new password: %s", r.raw)
	}
	// Unknown address: the same 202, and no mail.
	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": "ghost@lago.example"}), http.StatusAccepted)
	if n := e.mail.count("ghost@lago.example", "password_reset"); n != 0 {
		t.Fatalf("mail sent to an unknown address")
	}
}

// R2.3: a reset link is valid 24 hours.
func TestResetLinkExpires(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "fabio@lago.example"
	e.activeAccount(addr)
	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": addr}), http.StatusAccepted)
	token := e.mail.link(addr, "password_reset")
	e.clock.Advance(24*time.Hour + time.Second)
	r := e.post("/v1/password-resets", api.RoleLoginService, map[string]string{"token": token, "new_password": "A brand new passphrase 7"})
	if r.status != http.StatusGone || r.errCode() != "link_expired" {
		t.Fatalf("expired link: %d %s", r.status, r.raw)
	}
}

// R2.1: on day 91 the password has expired: the right password gets
// password_change_required, and a reset clears it.
func TestPasswordExpiresOnDay91(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "giulia@lago.example"
	id := e.activeAccount(addr)
	if r := e.login(addr, goodPassword); r.str("decision") != "allowed" {
		t.Fatalf("day 0: %s", r.raw)
	}

	e.clock.Advance(91 * 24 * time.Hour)
	r := e.login(addr, goodPassword)
	if r.str("decision") != "password_change_required" || r.str("reason") != "password_expired" || r.str("account_id") != id {
		t.Fatalf("day 91: %s", r.raw)
	}
	if r.str("message") == "" || r.str("remediation") == "" {
		t.Fatalf("day 91: no text: %s", r.raw)
	}
	st := e.status(id, r.position())
	if st.str("status") != "password_expired" {
		t.Fatalf("day 91 status: %s", st.raw)
	}

	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": addr}), http.StatusAccepted)
	token := e.mail.link(addr, "password_reset")
	const newPassword = "Spring cleaning passphrase 91"
	reset := e.must(e.post("/v1/password-resets", api.RoleLoginService, map[string]string{"token": token, "new_password": newPassword}), http.StatusOK)
	if st := e.status(id, reset.position()); st.str("status") != "active" {
		t.Fatalf("after reset: %s", st.raw)
	}
	if r := e.login(addr, newPassword); r.str("decision") != "allowed" {
		t.Fatalf("after reset: %s", r.raw)
	}
}

// A password change by its holder, who proves the current one.
func TestPasswordChangeByHolder(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "hugo@lago.example"
	id := e.activeAccount(addr)
	path := "/v1/accounts/" + id + "/password"
	tests := []struct {
		name             string
		current, newPass string
		status           int
		code             domain.Code
	}{
		{"wrong current password", "not my password", "A brand new passphrase 7", http.StatusUnprocessableEntity, "invalid_credentials"},
		{"same as before", goodPassword, goodPassword, http.StatusUnprocessableEntity, "password_rejected"},
		{"missing field", goodPassword, "", http.StatusBadRequest, "invalid_request"},
		{"accepted", goodPassword, "A brand new passphrase 7", http.StatusOK, ""},
	}
	for _, tc := range tests {
		r := e.post(path, api.RoleLoginService, map[string]string{"current_password": tc.current, "new_password": tc.newPass})
		if r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.code)
		}
	}
	// The wrong current password above counted toward the lock like a wrong login.
	failures := 0
	for _, rec := range e.events("account-" + id) {
		if rec.Type == "login_failed.v1" {
			failures++
		}
	}
	if failures != 1 {
		t.Fatalf("%d recorded failures, want the one wrong current password", failures)
	}
	if r := e.login(addr, "A brand new passphrase 7"); r.str("decision") != "allowed" {
		t.Fatalf("new password: %s", r.raw)
	}
}
