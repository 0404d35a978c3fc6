package serve_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/http/api"
	"accountd/projections"
)

// readModelAnswers is everything the read models answer for the story below: each account's
// status, the detection timeline, and both auditor exports.
func (e *env) readModelAnswers(prop string, ids []string) map[string]string {
	e.t.Helper()
	head, err := e.srv.Store().HeadPosition(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, id := range ids {
		out["status "+id] = string(e.status(id, head).raw)
	}
	out["timeline"] = string(e.timeline("limit=100").raw)
	from := e.clock.Now().Add(-24 * time.Hour).Format(time.RFC3339)
	to := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	for _, report := range []string{"password-rotation", "access-log"} {
		out[report] = string(e.must(e.get("/v1/compliance/"+report+"?property_id="+prop+"&from="+from+"&to="+to, api.RoleAuditor), http.StatusOK).raw)
	}
	return out
}

// awaitRebuild polls a rebuild until it ends and returns its final view.
func (e *env) awaitRebuild(id string) response {
	e.t.Helper()
	var r response
	e.eventually("the end of rebuild "+id, func() bool {
		r = e.must(e.get("/v1/admin/rebuilds/"+id, api.RoleAdmin), http.StatusOK)
		return r.str("state") != api.RebuildRunning
	})
	return r
}

// Six wrong passwords lock Elena; Marco shares his account and is disabled by the detector.
// A bad release then loses Elena's rows from the access log. An operator rebuilds every read
// model while the front desk keeps signing in: the server answers throughout, the access log
// is whole again, the sign-ins made during the rebuild all show afterwards, and a second
// rebuild on a quiet log changes no answer at all (statuses, timeline, both exports).
func TestOnlineRebuildWhileServing(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	var ids []string
	for _, who := range []string{"elena", "marco", "giulia"} {
		addr := who + "@lago.example"
		id, _ := e.register(addr, prop)
		e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link(addr, "activation")}), http.StatusOK)
		ids = append(ids, id)
	}
	for range 6 {
		e.login("elena@lago.example", "not her password")
	}
	e.login("marco@lago.example", goodPassword, "ip", "192.0.2.10", "device_id", "front-desk-pc")
	e.clock.Advance(3 * time.Minute)
	e.login("marco@lago.example", goodPassword, "ip", "198.51.100.23", "device_id", "someones-phone")
	e.eventually("the shared-account detection", func() bool { return len(entries(e.timeline("account_id="+ids[1]))) == 1 })

	// A bad release lost Elena's sign-ins from the auditors' access log.
	accessLog := func() string {
		from, to := e.clock.Now().Add(-time.Hour).Format(time.RFC3339), e.clock.Now().Add(time.Hour).Format(time.RFC3339)
		return string(e.must(e.get("/v1/compliance/access-log?from="+from+"&to="+to, api.RoleAuditor), http.StatusOK).raw)
	}
	// The report waits for the compliance projection to reach the head: damage after that.
	if !strings.Contains(accessLog(), ids[0]) {
		t.Fatal("Elena's sign-ins are missing before the damage")
	}
	db, err := projections.OpenDB(filepath.Join(e.data, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM compliance_access WHERE account_id = ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if strings.Contains(accessLog(), ids[0]) {
		t.Fatal("the damaged access log still lists Elena: the test proves nothing")
	}

	started := e.must(e.post("/v1/admin/rebuilds", api.RoleAdmin, map[string]any{}), http.StatusAccepted)
	if loc := started.header.Get("Location"); loc != "/v1/admin/rebuilds/"+started.str("id") || started.str("state") != api.RebuildRunning {
		t.Fatalf("start: Location %q, %s", loc, started.raw)
	}
	// The front desk keeps working during the rebuild: four typos for Giulia.
	for range 4 {
		if r := e.login("giulia@lago.example", "typo"); r.str("decision") != "denied" {
			t.Fatalf("typo during the rebuild: %s", r.raw)
		}
	}
	done := e.awaitRebuild(started.str("id"))
	if done.str("state") != api.RebuildSucceeded {
		t.Fatalf("rebuild: %s", done.raw)
	}
	results, _ := done.body["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("want one result per file (readmodels.db, security.db): %s", done.raw)
	}
	if !strings.Contains(accessLog(), ids[0]) {
		t.Fatal("the rebuild did not restore Elena's sign-ins to the access log")
	}
	head, _ := e.srv.Store().HeadPosition(context.Background())
	st := e.status(ids[2], head)
	if got := st.body["failed_attempts"]; got != float64(4) {
		t.Fatalf("Giulia's typos during the rebuild: failed_attempts %v, want 4: %s", got, st.raw)
	}
	for _, side := range []string{"readmodels.db" + ".rebuild", "security.db" + ".rebuild"} {
		if _, err := os.Stat(filepath.Join(e.data, side)); err == nil {
			t.Errorf("%s left behind", side)
		}
	}

	before := e.readModelAnswers(prop, ids)
	again := e.must(e.post("/v1/admin/rebuilds", api.RoleAdmin, map[string]any{"projections": []string{"status", "compliance", "timeline", "detectors"}}), http.StatusAccepted)
	if r := e.awaitRebuild(again.str("id")); r.str("state") != api.RebuildSucceeded {
		t.Fatalf("second rebuild: %s", r.raw)
	}
	after := e.readModelAnswers(prop, ids)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed across a rebuild:\nbefore %s\nafter  %s", k, v, after[k])
		}
	}
	// The rebuilt detectors took over: Giulia's account shared after the rebuild is caught.
	e.clock.Advance(time.Hour)
	e.login("giulia@lago.example", goodPassword, "ip", "192.0.2.10", "device_id", "front-desk-pc")
	e.clock.Advance(2 * time.Minute)
	e.login("giulia@lago.example", goodPassword, "ip", "198.51.100.23", "device_id", "someones-phone")
	e.eventually("a detection by the rebuilt detectors", func() bool {
		for _, entry := range entries(e.timeline("account_id=" + ids[2])) {
			if entry["rule"] == "shared_account" {
				return true
			}
		}
		return false
	})

	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/metrics", nil)
	_, raw := e.rawCall(req)
	metrics := string(raw)
	for _, want := range []string{`accountd_rebuilds_total{result="succeeded"} 2`, "accountd_rebuild_pause_seconds_count 4"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	list := e.must(e.get("/v1/admin/rebuilds", api.RoleAdmin), http.StatusOK)
	if jobs, _ := list.body["rebuilds"].([]any); len(jobs) != 2 || jobs[0].(map[string]any)["id"] != again.str("id") {
		t.Fatalf("list, newest first: %s", list.raw)
	}
}

func TestOnlineRebuildRefusals(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		role   api.Role
		body   any
		status int
		code   string
	}{
		{"the outbox", api.RoleAdmin, map[string]any{"projections": []string{"outbox"}}, http.StatusBadRequest, api.CodeNotRebuildable},
		{"an unknown projection", api.RoleAdmin, map[string]any{"projections": []string{"status", "nope"}}, http.StatusBadRequest, api.CodeUnknownProjection},
		{"a negative rate", api.RoleAdmin, map[string]any{"max_rate": -5}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"an unknown field", api.RoleAdmin, `{"projection": ["status"]}`, http.StatusBadRequest, api.CodeInvalidJSON},
		{"the login service", api.RoleLoginService, map[string]any{}, http.StatusForbidden, api.CodeForbidden},
		{"no token", "", map[string]any{}, http.StatusUnauthorized, api.CodeUnauthenticated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/v1/admin/rebuilds", tc.role, tc.body)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.status, r.errCode(), tc.status, tc.code, r.raw)
			}
		})
	}
	if r := e.get("/v1/admin/rebuilds/no-such-rebuild", api.RoleAdmin); r.status != http.StatusNotFound || r.errCode() != api.CodeNotFound {
		t.Fatalf("unknown rebuild: %d %s", r.status, r.raw)
	}
	if list := e.must(e.get("/v1/admin/rebuilds", api.RoleAdmin), http.StatusOK); string(list.raw) != `{"rebuilds":[]}`+"\n" && string(list.raw) != `{"rebuilds":[]}` {
		t.Fatalf("a refused rebuild is remembered: %s", list.raw)
	}
}
