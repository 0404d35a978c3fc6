package serve_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"accountd/domain"
	"accountd/http/api"
)

// Six wrong passwords lock the account (R1.1), the fifth warns (R1.2), and the unlock link
// e-mailed at lock time opens it again (R1.4).
func TestSixWrongPasswordsThenUnlockLink(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "bruno@lago.example"
	id := e.activeAccount(addr)

	for i := 1; i <= 5; i++ {
		r := e.login(addr, "wrong password", "device_id", "tablet-1")
		if r.str("decision") != "denied" || r.str("reason") != "invalid_credentials" || int(r.num("attempts_remaining")) != 6-i {
			t.Fatalf("attempt %d: %s", i, r.raw)
		}
		if warned := r.str("warning") != ""; warned != (i == 5) {
			t.Fatalf("attempt %d: warning %q", i, r.str("warning"))
		}
	}
	sixth := e.login(addr, "wrong password")
	if sixth.str("reason") != "account_locked" || sixth.str("warning") != "" {
		t.Fatalf("sixth failure: %s", sixth.raw)
	}
	locked := e.status(id, sixth.position())
	if locked.str("status") != "locked" || locked.num("attempts_remaining") != 0 {
		t.Fatalf("after six failures: %s", locked.raw)
	}
	if r := e.login(addr, goodPassword); r.str("reason") != "account_locked" || r.str("decision") != "denied" {
		t.Fatalf("right password on a locked account: %s", r.raw)
	}

	token := e.mail.link(addr, "unlock")
	u := e.must(e.post("/v1/unlocks", api.RoleLoginService, map[string]string{"token": token}), http.StatusOK)
	if st := e.status(id, u.position()); st.str("status") != "active" || st.num("failed_attempts") != 0 {
		t.Fatalf("after unlock: %s", st.raw)
	}
	if r := e.post("/v1/unlocks", api.RoleLoginService, map[string]string{"token": token}); r.status != http.StatusGone || r.errCode() != "link_used" {
		t.Fatalf("unlock link used twice: %d %s", r.status, r.raw)
	}
	if r := e.login(addr, goodPassword); r.str("decision") != "allowed" {
		t.Fatalf("login after unlock: %s", r.raw)
	}
}

// "Didn't receive unlock instructions?": a new unlock link on request, 202 whatever the address.
func TestUnlockLinkRequest(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "carla@lago.example"
	e.activeAccount(addr)
	for range 6 {
		e.login(addr, "wrong password")
	}
	e.mail.next(addr, "unlock") // the link mailed at lock time, "lost"
	for _, who := range []string{addr, "nobody@lago.example"} {
		e.must(e.post("/v1/unlock-link-requests", api.RoleLoginService, map[string]string{"email": who}), http.StatusAccepted)
	}
	token := e.mail.link(addr, "unlock")
	e.must(e.post("/v1/unlocks", api.RoleLoginService, map[string]string{"token": token}), http.StatusOK)
	// Not locked any more: still 202, and no mail.
	e.must(e.post("/v1/unlock-link-requests", api.RoleLoginService, map[string]string{"email": addr}), http.StatusAccepted)
	if n := e.mail.count(addr, "unlock"); n != 2 {
		t.Fatalf("%d unlock mails, want 2", n)
	}
}

// R1.5: twenty simultaneous wrong passwords over HTTP lock the account at exactly the
// threshold: six login_failed events, one lock.
func TestConcurrentWrongPasswordsOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "dario@lago.example"
	id := e.activeAccount(addr)

	var wg sync.WaitGroup
	reasons := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.post("/v1/logins", api.RoleLoginService, map[string]string{"email": addr, "password": "wrong password", "ip": "198.51.100.7"})
			if r.status != http.StatusOK {
				reasons <- fmt.Sprintf("status %d: %s", r.status, r.raw)
				return
			}
			reasons <- r.str("reason")
		}()
	}
	wg.Wait()
	close(reasons)
	counts := map[string]int{}
	for r := range reasons {
		counts[r]++
	}
	if counts["invalid_credentials"] != 5 || counts["account_locked"] != 15 {
		t.Fatalf("reasons %v, want 5 invalid_credentials and 15 account_locked", counts)
	}
	recs := e.events(domain.AccountStream(id))
	if n := countType(recs, domain.LoginFailed{}.EventType()); n != 6 {
		t.Fatalf("%d login_failed events, want exactly 6", n)
	}
	if n := countType(recs, domain.AccountLocked{}.EventType()); n != 1 {
		t.Fatalf("%d account_locked events, want 1", n)
	}
}
