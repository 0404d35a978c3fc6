package serve_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/http/api"
)

// head counts the events in the log that requests wrote: the outbox's delivery records
// (mail-* streams) are left out, since it appends them on its own schedule after a mail
// goes out, so "a refused request wrote nothing" does not race the previous request's mail.
func (e *env) head() uint64 {
	e.t.Helper()
	recs, err := e.srv.Store().ReadAll(context.Background(), 0, 1<<30)
	if err != nil {
		e.t.Fatal(err)
	}
	var n uint64
	for _, r := range recs {
		if !strings.HasPrefix(r.Stream, "mail-") {
			n++
		}
	}
	return n
}

// R4.1: two overdue invoices suspend every member's access to that property only; a member
// of two properties keeps the other one.
func TestBillingSuspendsOnlyThatProperty(t *testing.T) {
	e := newEnv(t, nil)
	lago, mare := e.createProperty("Lago"), e.createProperty("Mare")
	anna, _ := e.register("anna@lago.example", lago)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link("anna@lago.example", "activation")}), http.StatusOK)
	bruno, _ := e.register("bruno@lago.example", lago)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link("bruno@lago.example", "activation")}), http.StatusOK)
	e.must(e.post("/v1/properties/"+mare+"/members", api.RoleAdmin, map[string]string{"email": "bruno@lago.example", "support_reference": "T-1"}), http.StatusOK)
	e.must(e.post("/v1/properties/"+lago+"/billing-contacts", api.RoleAdmin, map[string]string{"email": "compta@lago.example"}), http.StatusOK)

	e.must(e.post("/v1/properties/"+lago+"/invoices/INV-1/overdue", api.RoleAdmin, nil), http.StatusOK)
	w := e.must(e.post("/v1/properties/"+lago+"/invoices/INV-2/overdue", api.RoleAdmin, nil), http.StatusOK)

	if st := e.status(anna, w.position()); st.str("status") != "disabled" || !hasReason(st, "disabled_billing") {
		t.Fatalf("anna, only at the suspended property: %s", st.raw)
	}
	st := e.status(bruno, w.position())
	if st.str("status") != "active" || hasReason(st, "disabled_billing") {
		t.Fatalf("bruno keeps Mare: %s", st.raw)
	}
	access := map[string]bool{}
	for _, p := range st.body["properties"].([]any) {
		m := p.(map[string]any)
		access[m["property_id"].(string)] = m["allowed"].(bool)
	}
	if access[lago] || !access[mare] {
		t.Fatalf("per-property access for bruno: %v", access)
	}
	if r := e.login("bruno@lago.example", goodPassword); r.str("decision") != "allowed" {
		t.Fatalf("bruno's login: %s", r.raw)
	}
	// The billing contact was told.
	e.mail.next("compta@lago.example", "billing_suspended")
	p := e.must(e.get("/v1/properties/"+lago, api.RoleAdmin), http.StatusOK)
	if p.body["access_suspended"] != true || len(p.body["overdue_invoices"].([]any)) != 2 {
		t.Fatalf("property view: %s", p.raw)
	}
}

// R4.2: with a restore delay of 24 h, payment brings access back only after the delay.
func TestPaymentRestoresAfterTheConfiguredDelay(t *testing.T) {
	e := newEnv(t, testPolicy(func(p *domain.Policy) { p.BillingRestoreDelay = domain.Duration(24 * time.Hour) }))
	lago := e.createProperty("Lago")
	id, _ := e.register("carla@lago.example", lago)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link("carla@lago.example", "activation")}), http.StatusOK)
	e.must(e.post("/v1/properties/"+lago+"/invoices/INV-1/overdue", api.RoleAdmin, nil), http.StatusOK)
	e.must(e.post("/v1/properties/"+lago+"/invoices/INV-2/overdue", api.RoleAdmin, nil), http.StatusOK)
	paid := e.must(e.post("/v1/properties/"+lago+"/invoices/INV-2/paid", api.RoleAdmin, nil), http.StatusOK)
	if st := e.status(id, paid.position()); !hasReason(st, "disabled_billing") {
		t.Fatalf("right after payment, access is still suspended: %s", st.raw)
	}
	if r := e.login("carla@lago.example", goodPassword); r.str("reason") != "disabled_billing" {
		t.Fatalf("login right after payment: %s", r.raw)
	}
	e.clock.Advance(23*time.Hour + 59*time.Minute)
	if st := e.status(id, paid.position()); !hasReason(st, "disabled_billing") {
		t.Fatalf("a minute before the delay ends: %s", st.raw)
	}
	e.clock.Advance(time.Minute)
	if st := e.status(id, paid.position()); st.str("status") != "active" {
		t.Fatalf("after 24 h: %s", st.raw)
	}
	if r := e.login("carla@lago.example", goodPassword); r.str("decision") != "allowed" {
		t.Fatalf("login after 24 h: %s", r.raw)
	}
}

// R5.1: a colleague without user management is refused with 403 and nothing is written;
// one from another property is refused too.
func TestRefusedAdministrationWritesNothing(t *testing.T) {
	e := newEnv(t, nil)
	lago, mare := e.createProperty("Lago"), e.createProperty("Mare")
	target, _ := e.register("dino@lago.example", lago)
	plain, _ := e.register("elsa@lago.example", lago)
	outsider, _ := e.register("fede@mare.example", mare)
	e.must(e.post("/v1/properties/"+mare+"/user-managers", api.RoleAdmin, map[string]string{"account_id": outsider, "support_reference": "T-2"}), http.StatusOK)

	for _, actor := range []string{plain, outsider} {
		before := e.head()
		cases := []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/v1/accounts/" + target + "/disable", map[string]string{"actor_account_id": actor, "property_id": lago}},
			{http.MethodPost, "/v1/admin/accounts/" + target + "/mfa/reset", map[string]string{"actor_account_id": actor}},
			{http.MethodPost, "/v1/properties/" + lago + "/user-managers", map[string]string{"account_id": actor, "actor_account_id": actor}},
			{http.MethodDelete, "/v1/properties/" + lago + "/members/" + target + "?actor_account_id=" + actor, nil},
			{http.MethodDelete, "/v1/accounts/" + target + "?actor_account_id=" + actor, nil},
		}
		for _, c := range cases {
			r := e.call(c.method, c.path, api.RoleAdmin, c.body)
			if r.status != http.StatusForbidden || r.errCode() != "not_authorised" {
				t.Errorf("%s %s by %s: %d %s", c.method, c.path, actor, r.status, r.raw)
			}
		}
		if after := e.head(); after != before {
			t.Fatalf("refused commands wrote %d events", after-before)
		}
	}
	// Staff never change the subscription; the vendor does, on a written request.
	if r := e.post("/v1/properties/"+lago+"/subscription", api.RoleAdmin, map[string]string{"status": "cancelled", "actor_account_id": plain}); r.status != http.StatusForbidden {
		t.Fatalf("subscription by staff: %d %s", r.status, r.raw)
	}
	s := e.must(e.post("/v1/properties/"+lago+"/subscription", api.RoleAdmin, map[string]string{"status": "suspended", "support_reference": "T-3"}), http.StatusOK)
	if st := e.status(target, s.position()); !hasReason(st, "property_suspended") {
		t.Fatalf("suspended subscription: %s", st.raw)
	}
}

// Bad input of every kind is a clear 4xx with a stable code and writes nothing.
func TestPropertyBadInput(t *testing.T) {
	e := newEnv(t, nil)
	lago := e.createProperty("Lago")
	e.register("gino@lago.example", lago)
	before := e.head()
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               domain.Code
	}{
		{"unknown property", http.MethodPost, "/v1/properties/8a0c4a8e-0000-4000-8000-000000000000/invoices/INV-1/overdue", nil, http.StatusNotFound, "property_not_found"},
		{"unknown property read", http.MethodGet, "/v1/properties/8a0c4a8e-0000-4000-8000-000000000000", nil, http.StatusNotFound, "property_not_found"},
		{"unknown invoice state", http.MethodPost, "/v1/properties/" + lago + "/invoices/INV-1/forgotten", nil, http.StatusNotFound, "not_found"},
		{"unknown subscription state", http.MethodPost, "/v1/properties/" + lago + "/subscription", map[string]string{"status": "paused", "support_reference": "T"}, http.StatusBadRequest, "invalid_command"},
		{"malformed property id", http.MethodPost, "/v1/properties/lago%20hotel/invoices/INV-1/overdue", nil, http.StatusBadRequest, "invalid_id"},
		{"malformed invoice id", http.MethodPost, "/v1/properties/" + lago + "/invoices/INV%3B1/overdue", nil, http.StatusBadRequest, "invalid_id"},
		{"malformed account id", http.MethodGet, "/v1/accounts/x%27%3B--/status", nil, http.StatusBadRequest, "invalid_id"},
		{"unknown account", http.MethodPost, "/v1/accounts/8a0c4a8e-0000-4000-8000-000000000000/disable", map[string]string{"support_reference": "T"}, http.StatusNotFound, "account_not_found"},
		{"bad billing contact", http.MethodPost, "/v1/properties/" + lago + "/billing-contacts", map[string]string{"email": "not an address"}, http.StatusBadRequest, "invalid_email"},
		{"grant to a non-member", http.MethodPost, "/v1/properties/" + lago + "/user-managers", map[string]string{"account_id": "8a0c4a8e-0000-4000-8000-000000000000", "support_reference": "T"}, http.StatusConflict, "not_a_member"},
		{"remove a non-member", http.MethodDelete, "/v1/properties/" + lago + "/members/8a0c4a8e-0000-4000-8000-000000000000?support_reference=T", nil, http.StatusConflict, "not_a_member"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(c.method, c.path, api.RoleAdmin, c.body)
			if c.method == http.MethodGet && c.path[:13] == "/v1/accounts/" {
				r = e.call(c.method, c.path, api.RoleLoginService, nil)
			}
			if r.status != c.status || r.errCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, c.status, c.code)
			}
		})
	}
	if after := e.head(); after != before {
		t.Fatalf("bad input wrote %d events", after-before)
	}
}
