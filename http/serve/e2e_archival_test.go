package serve_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/http/api"
	"accountd/http/serve"
)

// With a hot window, the server archives what has left it on its own hourly sweep, while
// it serves: an account's history (then one event longer: the inactivity sweep disabled
// it) and its state at an archived instant read the same, and the log goes on taking
// registrations and sign-ins.
func TestServerArchivesBeyondTheHotWindow(t *testing.T) {
	e := newEnvWith(t, nil, func(c *serve.Config) {
		c.HotWindow = serve.HotWindow{Months: 3}
		c.SweepPoll = 10 * time.Millisecond
	})
	prop := e.createProperty("Hotel Archivio")
	id := e.activeAccount("archivio@hotel.example")
	e.post("/v1/accounts/"+id+"/properties", api.RoleAdmin, map[string]string{"property_id": prop})
	if r := e.login("archivio@hotel.example", goodPassword, "ip", "192.0.2.80"); r.str("decision") != "allowed" {
		t.Fatalf("login: %s", r.raw)
	}
	e.settled()
	history := func() string {
		return string(e.must(e.get("/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity), http.StatusOK).raw)
	}
	at := e.clock.Now().Add(time.Minute).Format(time.RFC3339)
	statusAt := func() string {
		return string(e.must(e.get("/v1/accounts/"+id+"/state?at="+at, api.RoleSecurity), http.StatusOK).raw)
	}
	before, beforeAt := history(), statusAt()

	e.clock.Advance(4 * 31 * 24 * time.Hour)
	e.eventually("a segment beyond the hot window", func() bool {
		files, _ := filepath.Glob(filepath.Join(e.data, "archive", "*.seg"))
		return len(files) > 0
	})
	if after := history(); !strings.HasPrefix(after, strings.TrimSuffix(strings.TrimSpace(before), "]}")) || !strings.Contains(after, "account_disabled.v1") {
		t.Errorf("history after archival:\n%s\nbefore:\n%s", after, before)
	}
	if after := statusAt(); after != beforeAt {
		t.Errorf("status at %s after archival:\n%s\nbefore:\n%s", at, after, beforeAt)
	}
	files, _ := filepath.Glob(filepath.Join(e.data, "archive", "*.seg"))
	stored, err := e.srv.LogStore().ReadAll(t.Context(), 0, 0)
	if err != nil || len(stored) == 0 || stored[0].Position != 1 {
		t.Fatalf("the log read from its start after archival (%d segments): %d events, %v", len(files), len(stored), err)
	}
	e.activeAccount("nuovo@hotel.example")
	if r := e.login("nuovo@hotel.example", goodPassword, "ip", "192.0.2.81"); r.str("decision") != "allowed" {
		t.Fatalf("login after archival: %s", r.raw)
	}
}
