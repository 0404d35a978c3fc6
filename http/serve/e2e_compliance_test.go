package serve_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/http/serve"
	"accountd/projections/evidence"
)

// PCI DSS evidence over HTTP: the auditor reads rotation, access log and chain head; the
// configured policy is in the log; the inactivity sweep disables an idle account once.
func TestComplianceEvidence(t *testing.T) {
	e := newEnv(t, nil)
	if n := countType(e.events(domain.PolicyStream), "policy_changed.v1"); n != 1 {
		t.Fatalf("policy changes recorded at start: %d, want 1", n)
	}
	prop := e.createProperty("Hotel Lago")
	id, _ := e.register("marta@lago.example", prop)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link("marta@lago.example", "activation")}), http.StatusOK)
	e.login("marta@lago.example", "not her password")

	from := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	to := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	period := "property_id=" + prop + "&from=" + from + "&to=" + to

	errs := []struct {
		name, path string
		role       api.Role
		status     int
		code       domain.Code
	}{
		{"admin may not", "/v1/compliance/password-rotation?" + period, api.RoleAdmin, http.StatusForbidden, "forbidden"},
		{"no property", "/v1/compliance/password-rotation?from=" + from + "&to=" + to, api.RoleAuditor, http.StatusBadRequest, "invalid_params"},
		{"bad date", "/v1/compliance/access-log?from=yesterday&to=" + to, api.RoleAuditor, http.StatusBadRequest, "invalid_params"},
		{"inverted", "/v1/compliance/access-log?from=" + to + "&to=" + from, api.RoleAuditor, http.StatusBadRequest, "invalid_params"},
		{"bad format", "/v1/compliance/access-log?" + period + "&format=xml", api.RoleAuditor, http.StatusBadRequest, "invalid_params"},
		{"evidence: security may not", "/v1/compliance/evidence?" + period, api.RoleSecurity, http.StatusForbidden, "forbidden"},
		{"evidence: no property", "/v1/compliance/evidence?from=" + from + "&to=" + to, api.RoleAuditor, http.StatusBadRequest, "invalid_params"},
		{"evidence: a format", "/v1/compliance/evidence?" + period + "&format=csv", api.RoleAuditor, http.StatusBadRequest, "invalid_params"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(tc.path, tc.role)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
		})
	}

	rot := e.must(e.get("/v1/compliance/password-rotation?"+period, api.RoleAuditor), http.StatusOK)
	rows, _ := rot.body["rows"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["verdict"] != "account_created_in_period" || rows[0].(map[string]any)["account_id"] != id {
		t.Fatalf("rotation: %s", rot.raw)
	}
	acc := e.must(e.get("/v1/compliance/access-log?"+period, api.RoleAuditor), http.StatusOK)
	if !strings.Contains(string(acc.raw), `"event":"login_failed.v1","outcome":"failure"`) || !strings.Contains(string(acc.raw), `"ip":"192.0.2.10"`) {
		t.Fatalf("access log: %s", acc.raw)
	}

	t.Run("csv", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/compliance/password-rotation?"+period+"&format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens[api.RoleAuditor])
		resp, body := e.rawCall(req)
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(recs) != 2 || recs[1][1] != "marta@lago.example" {
			t.Fatalf("%d %s %v: %q", resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
		}
	})

	t.Run("evidence bundle", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/compliance/evidence?"+period, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens[api.RoleAuditor])
		resp, body := e.rawCall(req)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("%d %s: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		key, err := transparency.LoadSigningKey(filepath.Join(e.data, "keys", transparency.SigningKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		v, err := evidence.Verify(context.Background(), bytes.NewReader(body), int64(len(body)), evidence.VerifyOptions{VerifierKey: key.VerifierKey, Scratch: t.TempDir()})
		if err != nil || v.Rows[evidence.FileRotationCSV] != 1 || v.Rows[evidence.FileAccessCSV] == 0 {
			t.Fatalf("the bundle the server answered: %+v, %v", v, err)
		}
	})

	head := e.must(e.get("/v1/compliance/chain-head", api.RoleAuditor), http.StatusOK)
	verified := e.must(e.get("/v1/compliance/chain-head?verify=true", api.RoleAuditor), http.StatusOK)
	if len(head.str("hash")) != 64 || head.position() == 0 || verified.body["verified"] != true || verified.position() < head.position() {
		t.Fatalf("chain head %s, verified %s", head.raw, verified.raw)
	}

	// PCI 8.2.6: 91 days without a successful login.
	e.clock.Advance(91 * 24 * time.Hour)
	for i, want := range []int{1, 0} {
		res, err := e.srv.SweepInactive(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Disabled != want {
			t.Fatalf("sweep %d disabled %d, want %d", i, res.Disabled, want)
		}
	}
	if n := countType(e.events(domain.AccountStream(id)), "account_disabled.v1"); n != 1 {
		t.Fatalf("account_disabled events: %d", n)
	}
}

// The sweep runs inside the server, once per hour of the injected clock: moving the clock
// past the inactivity limit is enough for an idle account to be disabled, once.
func TestScheduledInactivitySweep(t *testing.T) {
	e := newEnv(t, nil, func(c *serve.Config) { c.SweepPoll = 10 * time.Millisecond })
	id := e.activeAccount("idle@lago.example")
	e.clock.Advance(91 * 24 * time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for countType(e.events(domain.AccountStream(id)), "account_disabled.v1") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled sweep did not disable the idle account")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.clock.Advance(2 * time.Hour) // a later hour: the sweep runs again and writes nothing
	later := e.clock.Now().UTC().Truncate(time.Hour)
	e.eventually("the sweep of the later hour", func() bool { return !e.srv.SweptHour().Before(later) })
	if n := countType(e.events(domain.AccountStream(id)), "account_disabled.v1"); n != 1 {
		t.Fatalf("account_disabled events: %d, want 1", n)
	}
}
