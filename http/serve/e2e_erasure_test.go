package serve_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/http/api"
)

// An account registers, signs in from two addresses and gets mail; an administrator erases
// it over HTTP. Its status and history still answer, with [erased] in place of its address
// and origins, its mail files are gone, a re-sent erasure writes nothing, and the address
// registers again as a new account.
func TestErasureEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "erika.erase@lago.example"
	ips := []string{"203.0.113.21", "198.51.100.22"}
	prop := e.createProperty("Hotel Lago")
	id, _ := e.register(addr, prop)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link(addr, "activation")}), http.StatusOK)
	for i, ip := range ips {
		if r := e.login(addr, goodPassword, "ip", ip, "user_agent", "ErikaBrowser/2", "device_id", "erika-pc-"+ip); r.str("decision") != "allowed" {
			t.Fatalf("login %d: %s", i, r.raw)
		}
	}
	e.must(e.post("/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": addr}), http.StatusAccepted)
	e.mail.next(addr, "password_reset")
	mailHolds := func(s string) bool {
		files, _ := filepath.Glob(filepath.Join(e.data, "outbox", "*.eml"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
				return true
			}
		}
		return false
	}

	if r := e.post("/v1/accounts/"+id+"/erasure", api.RoleAdmin, map[string]string{"reason": " "}); r.status != http.StatusBadRequest || r.errCode() != domain.CodeErasureReasonRequired {
		t.Fatalf("an erasure without a reason: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/accounts/"+id+"/erasure", api.RoleLoginService, map[string]string{"reason": "r"}); r.status != http.StatusForbidden {
		t.Fatalf("an erasure by the login service: %d %s", r.status, r.raw)
	}
	erase := func(key string) response {
		var headers []string
		if key != "" {
			headers = []string{"Idempotency-Key", key}
		}
		return e.post("/v1/accounts/"+id+"/erasure", api.RoleAdmin, map[string]string{"reason": "GDPR Art. 17 request #12", "support_reference": "REQ-12"}, headers...)
	}
	r := e.must(erase("erase-erika"), http.StatusAccepted)
	if r.num("released_reservations") != 1 || r.body["released_skeleton"] != true || r.body["key_destroyed"] != true || r.body["already_erased"] != false || r.str("status") != domain.StatusDeleted {
		t.Fatalf("erasure answered %s", r.raw)
	}
	pos := r.position()

	st := e.status(id, pos)
	if st.str("email") != domain.Erased || st.str("status") != domain.StatusDeleted {
		t.Fatalf("status of the erased account: %s", st.raw)
	}
	h := e.must(e.get("/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity), http.StatusOK)
	if !strings.Contains(string(h.raw), domain.Erased) || !strings.Contains(string(h.raw), "account_erased.v1") {
		t.Fatalf("history after the erasure: %s", h.raw)
	}
	for _, v := range append([]string{addr, "ErikaBrowser"}, ips...) {
		if strings.Contains(string(h.raw), v) {
			t.Fatalf("history still shows %q: %s", v, h.raw)
		}
	}
	e.eventually("the erased account's mail files removed", func() bool { return !mailHolds(addr) })

	// A re-sent erasure (same key: an exact retry; none: an erased account) writes nothing.
	if r := e.must(erase("erase-erika"), http.StatusAccepted); r.position() != pos {
		t.Fatalf("the exact retry answered %s, want position %d", r.raw, pos)
	}
	if r := e.must(erase(""), http.StatusOK); r.body["already_erased"] != true {
		t.Fatalf("erasing the erased account: %s", r.raw)
	}
	if r := e.post("/v1/accounts/"+id+"/unlock", api.RoleAdmin, map[string]string{"support_reference": "REQ-13"}); r.errCode() != domain.CodeAccountErased || r.status != http.StatusGone {
		t.Fatalf("a command on the erased account: %d %s", r.status, r.raw)
	}

	// The PCI evidence of the period still reports the account's facts, under [erased].
	period := "property_id=" + prop + "&from=" + url.QueryEscape(e.clock.Now().Add(-time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(e.clock.Now().Add(time.Hour).Format(time.RFC3339))
	e.eventually("the compliance read model forgets the account", func() bool {
		r := e.get("/v1/compliance/access-log?"+period, api.RoleAuditor)
		return r.status == http.StatusOK && !strings.Contains(string(r.raw), addr) && strings.Contains(string(r.raw), domain.Erased)
	})
	for _, path := range []string{"/v1/compliance/access-log?", "/v1/compliance/password-rotation?"} {
		r := e.must(e.get(path+period, api.RoleAuditor), http.StatusOK)
		for _, v := range append([]string{addr}, ips...) {
			if strings.Contains(string(r.raw), v) {
				t.Errorf("%s still shows %q", path, v)
			}
		}
	}

	again := e.activeAccount(addr)
	if again == id {
		t.Fatal("the address registered again as the erased account")
	}
	if r := e.login(addr, goodPassword); r.str("decision") != "allowed" || r.str("account_id") != again {
		t.Fatalf("the new account's login: %s", r.raw)
	}
	if st := e.status(id, 0); st.str("email") != domain.Erased {
		t.Fatalf("the erased account's status after the re-registration: %s", st.raw)
	}
}
