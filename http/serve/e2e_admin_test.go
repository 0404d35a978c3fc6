package serve_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/http/api"
)

// R5.1: a colleague with user management disables and re-enables an account of their
// property; one without it may not.
func TestDisableAndEnableByUserManager(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	target := e.activeAccount("quinto@lago.example")
	boss := e.activeAccount("rita@lago.example")
	for _, addr := range []string{"quinto@lago.example", "rita@lago.example"} {
		r := e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": addr, "support_reference": "TICKET-7"}), http.StatusOK)
		if r.body["created"] != false {
			t.Fatalf("linking an existing account: %s", r.raw)
		}
	}
	again := e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": "rita@lago.example", "support_reference": "TICKET-7"}), http.StatusOK)
	if again.str("account_id") != boss || again.body["created"] != false {
		t.Fatalf("adding a member twice: %s", again.raw)
	}
	disable := map[string]string{"actor_account_id": boss, "property_id": prop, "note": "left the hotel"}
	if r := e.post("/v1/accounts/"+target+"/disable", api.RoleAdmin, disable); r.status != http.StatusForbidden || r.errCode() != "not_authorised" {
		t.Fatalf("disable without user management: %d %s", r.status, r.raw)
	}
	e.must(e.post("/v1/properties/"+prop+"/user-managers", api.RoleAdmin, map[string]string{"account_id": boss}), http.StatusOK)
	d := e.must(e.post("/v1/accounts/"+target+"/disable", api.RoleAdmin, disable), http.StatusOK)
	if st := e.status(target, d.position()); st.str("status") != "disabled" || !hasReason(st, "disabled_manually") {
		t.Fatalf("after disable: %s", st.raw)
	}
	if r := e.login("quinto@lago.example", goodPassword); r.str("reason") != "disabled_manually" {
		t.Fatalf("login while disabled: %s", r.raw)
	}
	if r := e.post("/v1/accounts/"+target+"/disable", api.RoleAdmin, disable); r.status != http.StatusConflict || r.errCode() != "already_disabled" {
		t.Fatalf("disable twice: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/accounts/"+target+"/disable", api.RoleAdmin, map[string]string{"property_id": prop}); r.status != http.StatusBadRequest || r.errCode() != "invalid_request" {
		t.Fatalf("disable without an actor: %d %s", r.status, r.raw)
	}
	en := e.must(e.post("/v1/accounts/"+target+"/enable", api.RoleAdmin, map[string]string{"actor_account_id": boss, "property_id": prop}), http.StatusOK)
	if st := e.status(target, en.position()); st.str("status") != "active" {
		t.Fatalf("after enable: %s", st.raw)
	}
	// The outbox told the person both times.
	e.mail.next("quinto@lago.example", "account_disabled")
	e.mail.next("quinto@lago.example", "account_enabled")
}

// R1.4: an administrator unlocks a locked account on a colleague's or support's authority.
func TestAdminUnlock(t *testing.T) {
	e := newEnv(t, nil)
	id := e.activeAccount("sara@lago.example")
	for range 6 {
		e.login("sara@lago.example", "wrong password")
	}
	if r := e.post("/v1/accounts/"+id+"/unlock", api.RoleAdmin, map[string]string{"actor_account_id": "a", "support_reference": "b"}); r.errCode() != "invalid_request" {
		t.Fatalf("two actors: %s", r.raw)
	}
	u := e.must(e.post("/v1/accounts/"+id+"/unlock", api.RoleAdmin, map[string]string{"support_reference": "TICKET-9"}), http.StatusOK)
	if st := e.status(id, u.position()); st.str("status") != "active" {
		t.Fatalf("after unlock: %s", st.raw)
	}
	if r := e.post("/v1/accounts/"+id+"/unlock", api.RoleAdmin, map[string]string{"support_reference": "TICKET-9"}); r.status != http.StatusConflict || r.errCode() != "not_locked" {
		t.Fatalf("unlock twice: %d %s", r.status, r.raw)
	}
}

// R4.1 / R4.2: two overdue invoices suspend the property's access; payment restores it.
func TestBillingSuspension(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	const addr = "teo@lago.example"
	id, _ := e.register(addr, prop)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link(addr, "activation")}), http.StatusOK)

	first := e.must(e.post("/v1/properties/"+prop+"/invoices/INV-1/overdue", api.RoleAdmin, nil), http.StatusOK)
	if first.body["access_suspended"] != false {
		t.Fatalf("one overdue invoice: %s", first.raw)
	}
	second := e.must(e.post("/v1/properties/"+prop+"/invoices/INV-2/overdue", api.RoleAdmin, nil), http.StatusOK)
	if second.body["access_suspended"] != true {
		t.Fatalf("two overdue invoices: %s", second.raw)
	}
	st := e.status(id, second.position())
	if st.str("status") != "disabled" || !hasReason(st, "disabled_billing") {
		t.Fatalf("status while suspended: %s", st.raw)
	}
	props := st.body["properties"].([]any)
	if len(props) != 1 || props[0].(map[string]any)["allowed"] != false {
		t.Fatalf("property access: %s", st.raw)
	}
	r := e.login(addr, goodPassword)
	if r.str("reason") != "disabled_billing" || r.str("message") == "" {
		t.Fatalf("login while suspended: %s", r.raw)
	}
	paid := e.must(e.post("/v1/properties/"+prop+"/invoices/INV-1/paid", api.RoleAdmin, nil), http.StatusOK)
	if st := e.status(id, paid.position()); st.str("status") != "active" {
		t.Fatalf("after payment: %s", st.raw)
	}
	if r := e.login(addr, goodPassword); r.str("decision") != "allowed" {
		t.Fatalf("login after payment: %s", r.raw)
	}
}

// R5.2: deleting an account and re-creating its e-mail restores it.
func TestDeleteAndRestore(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	const addr = "ugo@lago.example"
	id, _ := e.register(addr, prop)
	del := e.must(e.call(http.MethodDelete, "/v1/accounts/"+id+"?support_reference=TICKET-3", api.RoleAdmin, nil), http.StatusOK)
	if st := e.status(id, del.position()); st.str("status") != "deleted" {
		t.Fatalf("after delete: %s", st.raw)
	}
	if r := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": addr, "password": goodPassword}); r.errCode() != "email_not_available" {
		t.Fatalf("self-registration over a deleted account: %s", r.raw)
	}
	back := e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": addr, "support_reference": "TICKET-4"}), http.StatusOK)
	if back.str("account_id") != id || back.body["restored"] != true {
		t.Fatalf("re-creation: %s", back.raw)
	}
	fresh := e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": "vera@lago.example", "password": goodPassword, "support_reference": "TICKET-5"}), http.StatusCreated)
	if fresh.body["created"] != true {
		t.Fatalf("new member: %s", fresh.raw)
	}
	if r := e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": "walt@lago.example", "support_reference": "TICKET-6"}); r.errCode() != "invalid_request" {
		t.Fatalf("new member without a password: %s", r.raw)
	}
}

// R7.1: a session is checked and closes after 6 hours without use.
// TestSessions follows R7.1 with the injected clock: the session ends at the idle limit
// unless used, at the hard limit however used, or at logout; every answer gives the same
// expires_at, the earlier of the two limits.
func TestSessions(t *testing.T) {
	policy := testPolicy(nil)
	idle, hard := policy.SessionIdleTimeout.Std(), policy.SessionMaxAge.Std()
	if idle >= hard {
		t.Fatalf("the test needs an idle limit (%v) below the hard limit (%v)", idle, hard)
	}
	type step struct {
		advance    time.Duration
		valid      bool
		reason     string
		expiresAt  time.Duration // after the start; 0: not checked
		lastSeenAt time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"unused, it ends at the idle limit", []step{
			{0, true, "", idle, 0},
			{idle - time.Minute, true, "", 2*idle - time.Minute, idle - time.Minute},
			{idle + time.Minute, false, "idle_timeout", 0, 0},
		}},
		{"used, it lasts until the hard limit and no longer", []step{
			{idle - time.Hour, true, "", 2*idle - time.Hour, idle - time.Hour},
			{idle - time.Hour, true, "", min(3*idle-2*time.Hour, hard), 2*idle - 2*time.Hour},
			{hard - 2*(idle-time.Hour) - time.Minute, true, "", hard, hard - time.Minute},
			{time.Minute, false, "expired", 0, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, policy)
			e.activeAccount("xena@lago.example")
			start := e.clock.Now()
			login := e.login("xena@lago.example", goodPassword)
			sid := login.str("session_id")
			if got := login.str("session_expires_at"); got != start.Add(idle).Format(time.RFC3339Nano) {
				t.Fatalf("login: session_expires_at %s, want the idle limit %s", got, start.Add(idle))
			}
			for i, st := range tc.steps {
				e.clock.Advance(st.advance)
				r := e.must(e.get("/v1/sessions/"+sid, api.RoleLoginService), http.StatusOK)
				if r.body["valid"] != st.valid || r.str("reason") != st.reason {
					t.Fatalf("step %d (+%v): %s, want valid %v reason %q", i, e.clock.Now().Sub(start), r.raw, st.valid, st.reason)
				}
				if st.expiresAt != 0 && r.str("expires_at") != start.Add(st.expiresAt).Format(time.RFC3339Nano) {
					t.Errorf("step %d: expires_at %s, want start+%v", i, r.str("expires_at"), st.expiresAt)
				}
				if st.valid && r.str("last_seen_at") != start.Add(st.lastSeenAt).Format(time.RFC3339Nano) {
					t.Errorf("step %d: last_seen_at %s, want start+%v", i, r.str("last_seen_at"), st.lastSeenAt)
				}
			}
		})
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	e.activeAccount("yann@lago.example")
	login := e.login("yann@lago.example", goodPassword)
	sid := login.str("session_id")
	other := e.login("yann@lago.example", goodPassword).str("session_id")
	out := e.must(e.call(http.MethodDelete, "/v1/sessions/"+sid, api.RoleLoginService, nil), http.StatusOK)
	if out.str("session_id") != sid || out.position() == 0 {
		t.Fatalf("logout: %s", out.raw)
	}
	if r := e.get("/v1/sessions/"+sid, api.RoleLoginService); r.status != http.StatusNotFound || r.errCode() != "session_not_found" {
		t.Errorf("check after logout: %d %s, want 404 session_not_found", r.status, r.raw)
	}
	if r := e.call(http.MethodDelete, "/v1/sessions/"+sid, api.RoleLoginService, nil); r.status != http.StatusNotFound {
		t.Errorf("second logout: %d %s, want 404", r.status, r.raw)
	}
	if r := e.get("/v1/sessions/"+other, api.RoleLoginService); r.body["valid"] != true {
		t.Errorf("the other session ended too: %s", r.raw)
	}
	ended := 0
	for _, ev := range e.events(domain.AccountStream(login.str("account_id"))) {
		if ev.Type == "session_ended.v1" && strings.Contains(string(ev.Data), `"cause":"logout"`) {
			ended++
		}
	}
	if ended != 1 {
		t.Errorf("%d session_ended.v1 with cause logout on record, want 1", ended)
	}
	for _, tc := range []struct{ name, id string }{{"a session ID naming no account", "nobody"}, {"an unknown session", "no-such-account_x"}} {
		if r := e.call(http.MethodDelete, "/v1/sessions/"+tc.id, api.RoleLoginService, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
}

// An account acts on another only while it may log in itself: a locked, disabled or
// deleted user manager, or one whose property is suspended, is refused with 403
// actor_inactive on every administrative route, and nothing is written.
func TestActorActsOnlyWhileItMayLogIn(t *testing.T) {
	tests := []struct {
		name  string
		block func(e *env, prop, actor, addr string)
	}{
		{"locked", func(e *env, _, _, addr string) {
			for range 6 {
				e.login(addr, "wrong password")
			}
		}},
		{"disabled", func(e *env, prop, actor, _ string) {
			e.must(e.post("/v1/accounts/"+actor+"/disable", api.RoleAdmin, map[string]string{"support_reference": "T-2", "property_id": prop}), http.StatusOK)
		}},
		{"deleted", func(e *env, _, actor, _ string) {
			e.must(e.call(http.MethodDelete, "/v1/accounts/"+actor+"?support_reference=T-3", api.RoleAdmin, nil), http.StatusOK)
		}},
		{"property suspended", func(e *env, prop, _, _ string) {
			e.must(e.post("/v1/properties/"+prop+"/subscription", api.RoleAdmin, map[string]string{"status": "suspended", "support_reference": "T-4"}), http.StatusOK)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			prop := e.createProperty("Lago")
			const actorAddr = "rita@lago.example"
			target := e.activeAccount("quinto@lago.example")
			actor := e.activeAccount(actorAddr)
			for _, addr := range []string{"quinto@lago.example", actorAddr} {
				e.must(e.post("/v1/properties/"+prop+"/members", api.RoleAdmin, map[string]string{"email": addr, "support_reference": "T-1"}), http.StatusOK)
			}
			e.must(e.post("/v1/properties/"+prop+"/user-managers", api.RoleAdmin, map[string]string{"account_id": actor}), http.StatusOK)
			for range 6 {
				e.login("quinto@lago.example", "wrong password") // something to unlock
			}
			tc.block(e, prop, actor, actorAddr)

			by := map[string]string{"actor_account_id": actor}
			for _, req := range []struct{ method, path string }{
				{http.MethodPost, "/v1/accounts/" + target + "/disable"},
				{http.MethodPost, "/v1/accounts/" + target + "/unlock"},
				{http.MethodPost, "/v1/admin/accounts/" + target + "/mfa/reset"},
				{http.MethodDelete, "/v1/accounts/" + target + "?actor_account_id=" + actor},
				{http.MethodDelete, "/v1/properties/" + prop + "/members/" + target + "?actor_account_id=" + actor},
			} {
				before := e.head()
				var body any = by
				if req.method == http.MethodDelete {
					body = nil
				}
				if r := e.call(req.method, req.path, api.RoleAdmin, body); r.status != http.StatusForbidden || r.errCode() != "actor_inactive" {
					t.Errorf("%s %s: %d %s, want 403 actor_inactive", req.method, req.path, r.status, r.raw)
				}
				if after := e.head(); after != before {
					t.Errorf("%s %s: refused, yet wrote %d events", req.method, req.path, after-before)
				}
			}
		})
	}
}
