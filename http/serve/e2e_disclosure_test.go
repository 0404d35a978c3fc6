package serve_test

import (
	"net/http"
	"testing"

	"accountd/domain"
)

// R8.2: under generic disclosure every refusal reads "invalid e-mail or password", for an
// unknown address as for a wrong password or a locked account, and nothing hints that an
// attempt is the last; under specific disclosure the person is told the precise reason.
func TestDisclosure(t *testing.T) {
	tests := []struct {
		disclosure domain.Disclosure
		lang       string
		// what a wrong password on a locked account says
		lockedMessage string
		warnsLast     bool
	}{
		{domain.DisclosureGeneric, "en", "Invalid e-mail or password.", false},
		{domain.DisclosureGeneric, "fr", "Adresse e-mail ou mot de passe invalide.", false},
		{domain.DisclosureSpecific, "it", "Il tuo account è bloccato dopo troppi tentativi con password errata.", true},
		{domain.DisclosureSpecific, "en", "Your account is locked after too many wrong passwords.", true},
	}
	for _, tc := range tests {
		t.Run(string(tc.disclosure)+"/"+tc.lang, func(t *testing.T) {
			e := newEnv(t, testPolicy(func(p *domain.Policy) { p.Disclosure = tc.disclosure }))
			const addr = "nora@lago.example"
			e.activeAccount(addr)
			lang := []string{"Accept-Language", tc.lang + "-CH;q=0.9, de;q=1"}
			login := func(email, password string) response {
				return e.must(e.post("/v1/logins", "login-service", map[string]string{"email": email, "password": password, "ip": "203.0.113.5"}, lang...), 200)
			}

			unknown := login("nobody@lago.example", "wrong password")
			wrong := login(addr, "wrong password")
			for _, f := range []string{"decision", "reason", "message", "remediation", "warning"} {
				if unknown.str(f) != wrong.str(f) {
					t.Errorf("%s differs: unknown address %q, wrong password %q", f, unknown.str(f), wrong.str(f))
				}
			}
			if unknown.str("reason") != "invalid_credentials" {
				t.Fatalf("unknown address: %s", unknown.raw)
			}
			var last response
			for range 4 { // attempts two to five
				last = login(addr, "wrong password")
			}
			if got := last.str("warning") != ""; got != tc.warnsLast {
				t.Errorf("fifth attempt warning %q, want one: %v", last.str("warning"), tc.warnsLast)
			}
			login(addr, "wrong password") // sixth: locked
			locked := login(addr, goodPassword)
			if locked.str("reason") != "account_locked" || locked.str("message") != tc.lockedMessage {
				t.Errorf("locked account says %q (reason %s), want %q", locked.str("message"), locked.str("reason"), tc.lockedMessage)
			}
			if tc.disclosure == domain.DisclosureGeneric && locked.str("remediation") != "" {
				t.Errorf("generic disclosure gave a remediation: %q", locked.str("remediation"))
			}
		})
	}
}

// Requests that name an address without a password do the same work whatever the address:
// each appends exactly one event, a link on the account or a declined request on the
// address's pseudonymous stream, so their timing does not tell known addresses (in any
// state) from unknown ones. The answer is 202 either way; issued links are mailed.
func TestLinkRequestsCostTheSameForEveryAddress(t *testing.T) {
	e := newEnv(t, nil)
	const active, pending, locked = "amir@lago.example", "pia@lago.example", "lena@lago.example"
	e.activeAccount(active)
	e.register(pending, "")
	e.activeAccount(locked)
	for range 6 {
		e.login(locked, "wrong password")
	}
	tests := []struct {
		path, email string
		mailed      string // the kind of link mailed, "" for none
	}{
		{"/v1/password-reset-requests", active, "password_reset"},
		{"/v1/password-reset-requests", "ghost@lago.example", ""},
		{"/v1/unlock-link-requests", locked, "unlock"},
		{"/v1/unlock-link-requests", active, ""}, // not locked
		{"/v1/unlock-link-requests", "ghost@lago.example", ""},
		{"/v1/activation-link-requests", pending, "activation"},
		{"/v1/activation-link-requests", active, ""}, // already activated
		{"/v1/activation-link-requests", "ghost@lago.example", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path+"/"+tc.email, func(t *testing.T) {
			before := e.head()
			r := e.must(e.post(tc.path, "login-service", map[string]string{"email": tc.email}), http.StatusAccepted)
			if r.str("status") != "accepted" {
				t.Fatalf("answer %s", r.raw)
			}
			if written := e.head() - before; written != 1 {
				t.Errorf("appended %d events, want exactly one whatever the address", written)
			}
			if tc.mailed != "" {
				e.mail.next(tc.email, tc.mailed) // waits for the link's mail
			}
		})
	}
}
