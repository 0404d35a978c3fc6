package serve_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/http/api"
)

func mfaPolicy() *domain.Policy {
	return testPolicy(func(p *domain.Policy) { p.MFARequired = true })
}

// code is the TOTP code of secret at the server's current time.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := credentials.CodeAt(secret, e.clock.Now().Unix()/30)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrolled makes an active account with MFA enrolled and returns its TOTP secret. The
// clock is left in a fresh 30-second step, so the next code has not been used.
func (e *env) enrolled(addr string) (id, secret string) {
	e.t.Helper()
	id = e.activeAccount(addr)
	if r := e.login(addr, goodPassword); r.str("decision") != "mfa_enrollment_required" || r.str("account_id") != id {
		e.t.Fatalf("first login under mandatory MFA: %s", r.raw)
	}
	enr := e.must(e.post("/v1/accounts/"+id+"/mfa/enrolment", api.RoleLoginService, nil), http.StatusCreated)
	secret = enr.str("secret")
	if secret == "" || !strings.HasPrefix(enr.str("otpauth_uri"), "otpauth://totp/") {
		e.t.Fatalf("enrolment: %s", enr.raw)
	}
	if r := e.post("/v1/accounts/"+id+"/mfa/enrolment/confirm", api.RoleLoginService, map[string]string{"code": "000000"}); r.errCode() != "mfa_invalid_code" {
		e.t.Fatalf("confirm with a wrong code: %s", r.raw)
	}
	conf := e.must(e.post("/v1/accounts/"+id+"/mfa/enrolment/confirm", api.RoleLoginService, map[string]string{"code": e.code(secret)}), http.StatusOK)
	if conf.body["enrolled"] != true {
		e.t.Fatalf("confirm: %s", conf.raw)
	}
	e.clock.Advance(30 * time.Second)
	return id, secret
}

// PCI 8.5.1: a code, once used, is refused.
func TestReplayedTOTPCodeIsRefused(t *testing.T) {
	e := newEnv(t, mfaPolicy())
	const addr = "ines@lago.example"
	_, secret := e.enrolled(addr)

	if r := e.login(addr, goodPassword); r.str("decision") != "mfa_required" || r.str("session_id") != "" {
		t.Fatalf("password alone: %s", r.raw)
	}
	code := e.code(secret)
	if r := e.login(addr, goodPassword, "totp_code", code); r.str("decision") != "allowed" {
		t.Fatalf("fresh code: %s", r.raw)
	}
	replay := e.login(addr, goodPassword, "totp_code", code)
	if replay.str("decision") != "mfa_required" || replay.str("reason") != "mfa_invalid_code" || replay.str("session_id") != "" {
		t.Fatalf("replayed code: %s", replay.raw)
	}
	e.clock.Advance(30 * time.Second)
	if r := e.login(addr, goodPassword, "totp_code", e.code(secret)); r.str("decision") != "allowed" {
		t.Fatalf("next step's code: %s", r.raw)
	}
}

// R6.2: too many wrong codes start a countdown, reported in retry_after_seconds.
func TestMFACooldown(t *testing.T) {
	e := newEnv(t, mfaPolicy())
	const addr = "jacopo@lago.example"
	id, secret := e.enrolled(addr)

	for i := 1; i <= 4; i++ {
		if r := e.login(addr, goodPassword, "totp_code", "123456"); r.str("reason") != "mfa_invalid_code" {
			t.Fatalf("wrong code %d: %s", i, r.raw)
		}
	}
	fifth := e.login(addr, goodPassword, "totp_code", "123456")
	if fifth.str("decision") != "denied" || fifth.str("reason") != "mfa_cooldown" || fifth.num("retry_after_seconds") != 60 {
		t.Fatalf("fifth wrong code: %s", fifth.raw)
	}
	if !strings.Contains(fifth.str("message"), "maximum attempts exceeded") {
		t.Fatalf("cooldown message: %q", fifth.str("message"))
	}
	e.clock.Advance(20 * time.Second)
	during := e.login(addr, goodPassword, "totp_code", e.code(secret))
	if during.str("reason") != "mfa_cooldown" || during.num("retry_after_seconds") != 40 {
		t.Fatalf("right code during the countdown: %s", during.raw)
	}
	st := e.status(id, during.position())
	if !hasReason(st, "mfa_cooldown") {
		t.Fatalf("status during the countdown: %s", st.raw)
	}
	e.clock.Advance(41 * time.Second)
	after := e.login(addr, goodPassword, "totp_code", e.code(secret))
	if after.str("decision") != "allowed" {
		t.Fatalf("after the countdown: %s", after.raw)
	}
	// Password failures are counted apart: the account was never near its lock.
	if st := e.status(id, after.position()); st.num("failed_attempts") != 0 || st.num("attempts_remaining") != 6 {
		t.Fatalf("MFA failures counted as password failures: %s", st.raw)
	}
}

// R6.3: enrolment can be skipped for at most 30 days, then it is mandatory.
func TestMFADeferralRunsOut(t *testing.T) {
	e := newEnv(t, mfaPolicy())
	const addr = "katia@lago.example"
	id := e.activeAccount(addr)

	first := e.login(addr, goodPassword)
	if first.str("decision") != "mfa_enrollment_required" {
		t.Fatalf("first login: %s", first.raw)
	}
	def := e.must(e.post("/v1/accounts/"+id+"/mfa/deferral", api.RoleLoginService, nil), http.StatusOK)
	until, err := time.Parse(time.RFC3339, def.str("deferred_until"))
	if err != nil || !until.Equal(e.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("deferral: %s", def.raw)
	}
	if r := e.login(addr, goodPassword); r.str("decision") != "allowed" {
		t.Fatalf("within the grace period: %s", r.raw)
	}
	st := e.status(id, def.position())
	due := st.body["mfa"].(map[string]any)["enrolment_due_by"]
	if due != def.str("deferred_until") {
		t.Fatalf("status enrolment_due_by %v, want %s", due, def.str("deferred_until"))
	}

	e.clock.Advance(30*24*time.Hour + time.Minute)
	late := e.login(addr, goodPassword)
	if late.str("decision") != "mfa_enrollment_required" || late.str("session_id") != "" {
		t.Fatalf("after 30 days: %s", late.raw)
	}
	if r := e.post("/v1/accounts/"+id+"/mfa/deferral", api.RoleLoginService, nil); r.status != http.StatusConflict || r.errCode() != "mfa_deferral_not_allowed" {
		t.Fatalf("deferring again: %d %s", r.status, r.raw)
	}
	if st := e.status(id, late.position()); !hasReason(st, "mfa_enrollment_required") {
		t.Fatalf("status after 30 days: %s", st.raw)
	}
}

// R6.4: a reset by the holder needs a current code; by a colleague it needs user management
// (or support); either way enrolment is due again.
func TestMFAReset(t *testing.T) {
	e := newEnv(t, mfaPolicy())
	prop := e.createProperty("Lago Hotel")
	const addr = "luca@lago.example"
	id, secret := e.enrolled(addr)
	e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": addr, "support_reference": "TICKET-1"}), http.StatusOK)

	if r := e.post("/v1/accounts/"+id+"/mfa/reset", api.RoleLoginService, map[string]string{"code": "000000"}); r.errCode() != "mfa_invalid_code" {
		t.Fatalf("self reset with a wrong code: %s", r.raw)
	}
	e.must(e.post("/v1/accounts/"+id+"/mfa/reset", api.RoleLoginService, map[string]string{"code": e.code(secret)}), http.StatusOK)
	if r := e.login(addr, goodPassword); r.str("decision") != "mfa_enrollment_required" {
		t.Fatalf("after self reset: %s", r.raw)
	}

	colleague := e.activeAccount("mara@lago.example")
	e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": "mara@lago.example", "support_reference": "TICKET-2"}), http.StatusOK)
	path := "/v1/admin/accounts/" + id + "/mfa/reset"
	if r := e.post(path, api.RoleAdmin, map[string]string{"actor_account_id": colleague}); r.status != http.StatusForbidden || r.errCode() != "not_authorised" {
		t.Fatalf("reset by a colleague without user management: %d %s", r.status, r.raw)
	}
	e.must(e.post("/v1/properties/"+prop+"/user-managers", api.RoleAdmin, map[string]string{"account_id": colleague}), http.StatusOK)
	e.must(e.post(path, api.RoleAdmin, map[string]string{"actor_account_id": colleague}), http.StatusOK)
	if r := e.post(path, api.RoleLoginService, map[string]string{"actor_account_id": colleague}); r.status != http.StatusForbidden || r.errCode() != "forbidden" {
		t.Fatalf("admin route with the login-service token: %d %s", r.status, r.raw)
	}
}

func hasReason(st response, code string) bool {
	rs, _ := st.body["reasons"].([]any)
	for _, r := range rs {
		if r.(map[string]any)["code"] == code {
			return true
		}
	}
	return false
}

// The replay guard belongs to a secret (PCI 8.5.1 forbids replaying a code, not using a new
// secret): after a reset, the new secret's code in the same 30-second step as the old
// secret's last code confirms the enrolment and signs in, and is then refused as a replay.
func TestNewSecretIsNotRefusedForTheOldSecretsStep(t *testing.T) {
	e := newEnv(t, mfaPolicy())
	const addr = "vera@lago.example"
	id, old := e.enrolled(addr)
	if r := e.login(addr, goodPassword, "totp_code", e.code(old)); r.str("decision") != "allowed" {
		t.Fatalf("old secret: %s", r.raw)
	}
	// Still the same step: support resets the factor and the person enrols a new secret.
	e.must(e.post("/v1/admin/accounts/"+id+"/mfa/reset", api.RoleAdmin, map[string]string{"support_reference": "TICKET-9"}), http.StatusOK)
	if r := e.login(addr, goodPassword); r.str("decision") != "mfa_enrollment_required" {
		t.Fatalf("after the reset: %s", r.raw)
	}
	enr := e.must(e.post("/v1/accounts/"+id+"/mfa/enrolment", api.RoleLoginService, nil), http.StatusCreated)
	fresh := enr.str("secret")
	if r := e.post("/v1/accounts/"+id+"/mfa/enrolment/confirm", api.RoleLoginService, map[string]string{"code": e.code(fresh)}); r.status != http.StatusOK {
		t.Fatalf("new secret's code in the old secret's last step: %d %s", r.status, r.raw)
	}
	if r := e.login(addr, goodPassword, "totp_code", e.code(fresh)); r.str("reason") != "mfa_invalid_code" {
		t.Fatalf("the confirming code used again: %s", r.raw)
	}
}
