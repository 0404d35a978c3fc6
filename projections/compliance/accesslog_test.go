package compliance_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore/eventlog"
	"accountd/projections/compliance"
)

// The access log covers all access (PCI 10.2.1): each kind of event appears with who did
// it, its outcome and its origin (10.2.2), and the session a login opened carries that
// login's origin.
func TestAccessLogCoversAllAccess(t *testing.T) {
	s := newSim(t)
	anna := s.register("anna@lac.example")
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-7"}
	desk := domain.Origin{IP: "203.0.113.4", UserAgent: "desk-browser", DeviceID: "front-desk"}
	s.at(1)
	if _, err := s.svc.Login(s.ctx, commands.Meta{}, commands.LoginAttempt{Email: "anna@lac.example", Password: password(0), Origin: desk}); err != nil {
		t.Fatal(err)
	}
	for range s.policies.Current().LockoutThreshold {
		if _, err := s.svc.Login(s.ctx, commands.Meta{}, commands.LoginAttempt{Email: "anna@lac.example", Password: "wrong", Origin: desk}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.svc.UnlockByAdministrator(s.ctx, commands.Meta{}, anna, support); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Disable(s.ctx, commands.Meta{}, anna, domain.DisableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Enable(s.ctx, commands.Meta{}, anna, domain.EnableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.StartMFAEnrolment(s.ctx, commands.Meta{}, anna); err != nil {
		t.Fatal(err)
	}
	s.at(2)
	s.catchUp()

	byEvent := map[string][]compliance.AccessRow{}
	q := compliance.Query{PropertyID: "lac", From: s.t0, To: s.t0.Add(3 * day)}
	if err := compliance.AccessLog(s.ctx, s.db, q, func(r compliance.AccessRow) error {
		byEvent[r.Event] = append(byEvent[r.Event], r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		event, outcome, actor, detail string
		origin                        bool
	}{
		{"login_succeeded.v1", "success", "anna@lac.example", "session ", true},
		{"session_started.v1", "success", "anna@lac.example", "session ", true},
		{"login_failed.v1", "failure", "anna@lac.example", "consecutive failures", true},
		{"account_locked.v1", "success", "system", "threshold 6", false},
		{"account_unlocked.v1", "success", "support:REQ-7", "cause " + string(domain.UnlockBySupport), false},
		{"account_disabled.v1", "success", "support:REQ-7", "kind manual", false},
		{"account_enabled.v1", "success", "support:REQ-7", "kind manual", false},
		{"session_ended.v1", "success", "system", "cause account_disabled", true},
		{"mfa_enrolment_started.v1", "success", "anna@lac.example", "enrolment started", false},
	}
	for _, w := range want {
		t.Run(w.event, func(t *testing.T) {
			rows := byEvent[w.event]
			if len(rows) == 0 {
				t.Fatalf("no %s row; rows by event: %v", w.event, keys(byEvent))
			}
			r := rows[len(rows)-1]
			if r.Outcome != w.outcome || r.Actor != w.actor || !strings.Contains(r.Detail, w.detail) || r.AccountID != anna || r.At.IsZero() {
				t.Errorf("row %+v; want outcome %s, actor %s, detail containing %q", r, w.outcome, w.actor, w.detail)
			}
			if w.origin && (r.IP != desk.IP || r.UserAgent != desk.UserAgent || r.DeviceID != desk.DeviceID) {
				t.Errorf("origin %q %q %q, want the login's %+v", r.IP, r.UserAgent, r.DeviceID, desk)
			}
		})
	}
}

// The JSON form states the policies in force over the period, as the rotation report does.
func TestAccessLogJSONListsPoliciesInForce(t *testing.T) {
	s := newSim(t)
	s.register("anna@lac.example")
	s.at(1)
	s.catchUp()
	var buf bytes.Buffer
	q := compliance.Query{PropertyID: "lac", From: s.t0, To: s.t0.Add(2 * day)}
	if err := compliance.WriteAccessJSON(s.ctx, &buf, s.db, s.policies, q, s.now); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Policies []eventlog.PolicyVersion `json:"policies_in_force"`
		Rows     []compliance.AccessRow   `json:"rows"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(doc.Policies) != 1 || doc.Policies[0].Actor.Note != "test" || len(doc.Rows) == 0 {
		t.Fatalf("policies %+v, %d rows", doc.Policies, len(doc.Rows))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
