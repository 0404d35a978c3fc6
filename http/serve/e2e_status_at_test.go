package serve_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"accountd/domain"
	"accountd/http/api"
)

// A status read at a future instant answers what the account's status will be then if
// nothing else happens, and changes nothing.
func TestStatusAtAFutureInstant(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "ugo@lago.example"
	id := e.activeAccount(addr)
	login := e.login(addr, goodPassword)
	now := e.clock.Now()
	before := len(e.events(domain.AccountStream(id)))
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		at      time.Time
		status  string
		reasons []string
	}{
		{"tomorrow", now.Add(day), "active", nil},
		{"just before the 90 days", now.Add(90*day - time.Minute), "active", nil},
		{"after the 90 days: expired and disabled for inactivity", now.Add(90*day + time.Hour), "disabled", []string{"disabled_inactivity", "password_expired"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/accounts/" + id + "/status?min_position=" + itoa(login.position()) + "&at=" + url.QueryEscape(tc.at.Format(time.RFC3339))
			for _, r := range []response{
				e.must(e.get(path, api.RoleLoginService), http.StatusOK),
				e.must(e.get("/v1/accounts/status?email="+addr+"&at="+url.QueryEscape(tc.at.Format(time.RFC3339)), api.RoleLoginService), http.StatusOK),
			} {
				var codes []string
				for _, reason := range r.body["reasons"].([]any) {
					codes = append(codes, reason.(map[string]any)["code"].(string))
				}
				slices.Sort(codes)
				if r.str("status") != tc.status || !slices.Equal(codes, tc.reasons) {
					t.Errorf("status %q reasons %v, want %q %v: %s", r.str("status"), codes, tc.status, tc.reasons, r.raw)
				}
			}
		})
	}
	if st := e.status(id, login.position()); st.str("status") != "active" {
		t.Errorf("the live status changed: %s", st.raw)
	}
	if after := len(e.events(domain.AccountStream(id))); after != before {
		t.Errorf("a status read appended %d events", after-before)
	}
	for _, at := range []string{now.Add(-time.Hour).Format(time.RFC3339), "next-week"} {
		if r := e.get("/v1/accounts/"+id+"/status?at="+url.QueryEscape(at), api.RoleLoginService); r.status != http.StatusBadRequest || r.errCode() != "invalid_time" {
			t.Errorf("at=%s: %d %s, want 400 invalid_time", at, r.status, r.raw)
		}
	}
}
