package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// eventually retries f until it returns true (the detectors and the timeline follow the log
// in the background).
func (e *env) eventually(what string, f func() bool) {
	e.t.Helper()
	waitFor(e.t, what, 10*time.Second, f)
}

func (e *env) timeline(query string) response {
	e.t.Helper()
	return e.must(e.get("/v1/suspicious-activity?"+query, api.RoleSecurity), http.StatusOK)
}

func entries(r response) []map[string]any {
	list, _ := r.body["entries"].([]any)
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// R3.1, R3.2: two logins from different devices and addresses within the window, while the
// first session is open, disable the account and notify the property's primary contact; the
// state just before the detection is still active (point in time), and the history shows it.
func TestSharedAccountDisablesAndNotifiesPrimaryContact(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	const addr = "elena@lago.example"
	id, _ := e.register(addr, prop)
	e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link(addr, "activation")}), http.StatusOK)

	if r := e.login(addr, goodPassword, "ip", "192.0.2.10", "device_id", "front-desk-pc"); r.str("decision") != "allowed" {
		t.Fatalf("first login: %s", r.raw)
	}
	e.clock.Advance(3 * time.Minute)
	before := e.clock.Now().Add(-time.Second)
	if r := e.login(addr, goodPassword, "ip", "198.51.100.23", "device_id", "someones-phone"); r.str("decision") != "allowed" {
		t.Fatalf("second login: %s", r.raw)
	}
	var entry map[string]any
	e.eventually("the shared-account detection", func() bool {
		list := entries(e.timeline("account_id=" + id))
		if len(list) == 1 {
			entry = list[0]
		}
		return entry != nil
	})
	if entry["rule"] != "shared_account" || entry["action"] != "account_disabled" {
		t.Fatalf("timeline entry: %v", entry)
	}
	ev, _ := entry["evidence"].(map[string]any)
	if fmt.Sprint(ev["addresses"]) != "[192.0.2.10 198.51.100.23]" || fmt.Sprint(ev["devices"]) != "[front-desk-pc someones-phone]" || len(ev["event_ids"].([]any)) != 2 {
		t.Fatalf("evidence: %v", ev)
	}
	if fmt.Sprint(entry["notified"]) != "[direction@lago.example]" {
		t.Fatalf("notified: %v", entry["notified"])
	}
	// The status projection follows the log on its own runner: it may not even know the
	// account yet when the detectors have already acted.
	e.eventually("the disable on the status projection", func() bool {
		r := e.get("/v1/accounts/"+id+"/status", api.RoleLoginService)
		return r.status == http.StatusOK && r.str("status") == "disabled"
	})
	notice := e.mail.next("direction@lago.example", "suspicious_activity")
	if !strings.Contains(notice.body, addr) && !strings.Contains(notice.subject, addr) {
		t.Logf("notice does not name the account (body %q)", notice.body)
	}
	if r := e.login(addr, goodPassword); r.str("decision") != "denied" {
		t.Fatalf("login after the disable: %s", r.raw)
	}

	at := e.must(e.get("/v1/accounts/"+id+"/state?at="+url.QueryEscape(before.Format(time.RFC3339Nano)), api.RoleSecurity), http.StatusOK)
	if st, _ := at.body["status"].(map[string]any); st["status"] != "active" {
		t.Fatalf("state before the detection: %s", at.raw)
	}
	now := e.must(e.get("/v1/accounts/"+id+"/state?at="+url.QueryEscape(e.clock.Now().Format(time.RFC3339)), api.RoleSecurity), http.StatusOK)
	if st, _ := now.body["status"].(map[string]any); st["status"] != "disabled" {
		t.Fatalf("state now: %s", now.raw)
	}

	h := e.must(e.get("/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity), http.StatusOK)
	for _, secret := range []string{"password_hash", "token_hash", "nonce", "encrypted_secret", "$argon2", "session_id"} {
		if strings.Contains(string(h.raw), secret) {
			t.Fatalf("history shows %q: %s", secret, h.raw)
		}
	}
	hist := entries(h)
	last := hist[len(hist)-1]
	if last["status"] != "disabled" {
		t.Fatalf("status after the last event: %v", last)
	}
	sawDetection := false
	for _, en := range hist {
		if en["type"] == "suspicious_activity_detected.v1" {
			sawDetection = true
		}
	}
	if !sawDetection {
		t.Fatalf("history without the detection: %s", h.raw)
	}
	// Paging the history by revision.
	p1 := e.must(e.get("/v1/accounts/"+id+"/events?limit=2", api.RoleSecurity), http.StatusOK)
	next := int(p1.num("next_after"))
	p2 := e.must(e.get(fmt.Sprintf("/v1/accounts/%s/events?limit=2&after=%d", id, next), api.RoleSecurity), http.StatusOK)
	if first := entries(p2)[0]; int(first["revision"].(float64)) != next+1 {
		t.Fatalf("page 2 starts at %v, want revision %d", first["revision"], next+1)
	}
}

// Credential stuffing: one address failing against ten distinct e-mails (unknown ones
// included) is throttled with 429 too_many_attempts and retry_after_seconds, and released
// after the cool-off by the clock alone.
func TestCredentialStuffingThrottlesThenReleases(t *testing.T) {
	e := newEnv(t, nil)
	e.activeAccount("real@lago.example")
	const ip = "203.0.113.66"
	e.login("real@lago.example", "wrong password", "ip", ip)
	for i := range 9 {
		e.login(fmt.Sprintf("nobody%d@lago.example", i), "wrong password", "ip", ip)
	}
	var refused response
	e.eventually("the throttle", func() bool {
		refused = e.post("/v1/logins", api.RoleLoginService, map[string]string{"email": "nobody@lago.example", "password": "wrong password", "ip": ip})
		return refused.status == http.StatusTooManyRequests
	})
	// The right password does not get through either: the address is refused before any check.
	if r := e.post("/v1/logins", api.RoleLoginService, map[string]string{"email": "real@lago.example", "password": goodPassword, "ip": ip}); r.status != http.StatusTooManyRequests {
		t.Fatalf("right password from a throttled address: %d %s", r.status, r.raw)
	}
	details, _ := refused.body["error"].(map[string]any)["details"].(map[string]any)
	if refused.errCode() != "too_many_attempts" || details["retry_after_seconds"] != float64(900) || refused.header.Get("Retry-After") != "900" {
		t.Fatalf("throttled login: %d %s", refused.status, refused.raw)
	}
	// Another address is not concerned.
	if r := e.login("real@lago.example", goodPassword, "ip", "192.0.2.77"); r.str("decision") != "allowed" {
		t.Fatalf("login from another address: %s", r.raw)
	}
	e.clock.Advance(14 * time.Minute)
	if r := e.post("/v1/logins", api.RoleLoginService, map[string]string{"email": "real@lago.example", "password": goodPassword, "ip": ip}); r.status != http.StatusTooManyRequests {
		t.Fatalf("within the cool-off: %d %s", r.status, r.raw)
	}
	e.clock.Advance(time.Minute + time.Second)
	if r := e.login("real@lago.example", goodPassword, "ip", ip); r.str("decision") != "allowed" {
		t.Fatalf("after the cool-off: %s", r.raw)
	}
	var list []map[string]any
	e.eventually("the throttle on the timeline", func() bool { list = entries(e.timeline("ip=" + ip)); return len(list) > 0 })
	if len(list) != 1 || list[0]["rule"] != "credential_stuffing" || list[0]["action"] != "address_throttled" {
		t.Fatalf("timeline: %v", list)
	}
}

// The timeline filters by address and time, pages newest first with an opaque cursor, and
// refuses bad parameters with stable codes.
func TestTimelineFiltersAndPaginates(t *testing.T) {
	e := newEnv(t, nil)
	ips := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}
	var mid time.Time
	for n, ip := range ips {
		for i := range 10 {
			e.login(fmt.Sprintf("x%d-%d@nowhere.example", n, i), "wrong password", "ip", ip)
		}
		e.eventually("throttle "+ip, func() bool { return len(entries(e.timeline("ip="+ip))) == 1 })
		e.clock.Advance(time.Minute)
		if n == 0 {
			mid = e.clock.Now()
		}
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := "limit=1"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.timeline(q)
		for _, en := range entries(r) {
			ev := en["evidence"].(map[string]any)
			seen = append(seen, fmt.Sprint(ev["addresses"]))
		}
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if fmt.Sprint(seen) != "[[203.0.113.3] [203.0.113.2] [203.0.113.1]]" {
		t.Fatalf("pages, newest first: %v", seen)
	}
	if n := len(entries(e.timeline("since=" + url.QueryEscape(mid.Format(time.RFC3339))))); n != 2 {
		t.Fatalf("since filter: %d entries, want 2", n)
	}
	if n := len(entries(e.timeline("until=" + url.QueryEscape(mid.Format(time.RFC3339))))); n != 1 {
		t.Fatalf("until filter: %d entries, want 1", n)
	}
	if n := len(entries(e.timeline("property_id=00000000-0000-4000-8000-00000000dead"))); n != 0 {
		t.Fatalf("property filter: %d entries", n)
	}
	for _, tc := range []struct {
		query string
		code  domain.Code
	}{
		{"cursor=bogus", "invalid_cursor"},
		{"since=yesterday", "invalid_time"},
		{"limit=0", "invalid_limit"},
		{"limit=1000", "invalid_limit"},
		{"ip=not-an-ip", "invalid_address"},
	} {
		if r := e.get("/v1/suspicious-activity?"+tc.query, api.RoleSecurity); r.status != http.StatusBadRequest || r.errCode() != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.query, r.status, r.raw, tc.code)
		}
	}
	if r := e.get("/v1/suspicious-activity", api.RoleLoginService); r.status != http.StatusForbidden {
		t.Errorf("login-service token read the timeline: %d", r.status)
	}
}

// What-if: a history that locked at six wrong passwords would never have locked with a
// threshold of ten.
func TestWhatIfHigherThresholdNeverLocks(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "fabio@lago.example"
	id := e.activeAccount(addr)
	from := e.clock.Now().Add(-time.Hour)
	for range 6 {
		e.login(addr, "wrong password")
		e.clock.Advance(10 * time.Second)
	}
	body := map[string]any{"policy": map[string]any{"lockout_threshold": 10}, "account_ids": []string{id},
		"from": from.Format(time.RFC3339), "to": e.clock.Now().Add(time.Hour).Format(time.RFC3339)}
	r := e.must(e.post("/v1/what-if", api.RoleSecurity, body), http.StatusOK)
	accounts, _ := r.body["accounts"].([]any)
	if len(accounts) != 1 {
		t.Fatalf("what-if: %s", r.raw)
	}
	a := accounts[0].(map[string]any)
	if a["outcome"] != "never_locked" || len(a["recorded_locks"].([]any)) != 1 || len(a["simulated_locks"].([]any)) != 0 {
		t.Fatalf("what-if account: %v", a)
	}
	totals := r.body["totals"].(map[string]any)
	if totals["never_locked"] != float64(1) || totals["recorded_locks"] != float64(1) || totals["simulated_locks"] != float64(0) {
		t.Fatalf("totals: %v", totals)
	}
	// The same history under the recorded policy changes nothing.
	body["policy"] = map[string]any{}
	same := e.must(e.post("/v1/what-if", api.RoleSecurity, body), http.StatusOK)
	if n := len(same.body["accounts"].([]any)); n != 0 {
		t.Fatalf("replay under the recorded policy differs: %s", same.raw)
	}
	for _, tc := range []struct {
		name   string
		policy map[string]any
	}{
		{"threshold 11 (over PCI's 10)", map[string]any{"lockout_threshold": 11}},
		{"a misspelt setting", map[string]any{"lockout_treshold": 10}},
		{"a setting of the wrong type", map[string]any{"lockout_threshold": "ten"}},
	} {
		body["policy"] = tc.policy
		if r := e.post("/v1/what-if", api.RoleSecurity, body); r.status != http.StatusBadRequest || r.errCode() != "invalid_policy" {
			t.Errorf("%s: %d %s, want 400 invalid_policy", tc.name, r.status, r.raw)
		}
	}
}

// restart closes the server and opens a new one on the same data directory, as an operator
// restarting accountd serve does; the clock carries on.
func (e *env) restart() {
	e.t.Helper()
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Fatal(err)
	}
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: e.data, Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(), Clock: e.clock.Now,
		Logger: testLogger(e.t), StatusWait: 300 * time.Millisecond,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	srv.Start(context.Background())
	e.srv, e.ts = srv, httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() { e.ts.Close(); srv.Close() })
}

// The detectors and the timeline, restarted in the middle of a pattern, finish it once:
// half the stuffing before the restart and half after throttle the address once; a shared
// login whose first session opened before the restart is detected once; and restarting again
// afterwards repeats nothing.
func TestDetectorsSurviveRestartMidStream(t *testing.T) {
	e := newEnv(t, nil)
	const addr = "ivo@lago.example"
	id := e.activeAccount(addr)
	const ip = "203.0.113.80"
	for i := range 5 {
		e.login(fmt.Sprintf("ghost%d@lago.example", i), "wrong password", "ip", ip)
	}
	e.login(addr, goodPassword, "ip", "192.0.2.10", "device_id", "pc")
	e.restart()
	for i := 5; i < 10; i++ {
		e.login(fmt.Sprintf("ghost%d@lago.example", i), "wrong password", "ip", ip)
	}
	e.clock.Advance(time.Minute)
	e.login(addr, goodPassword, "ip", "198.51.100.5", "device_id", "phone")
	e.eventually("both detections on the timeline", func() bool { return len(entries(e.timeline(""))) == 2 })
	e.restart()
	e.login(addr, goodPassword, "ip", "192.0.2.10", "device_id", "pc") // refused: disabled
	e.settled()
	if n := len(entries(e.timeline(""))); n != 2 {
		t.Fatalf("%d timeline entries after the second restart, want 2", n)
	}
	if n := countType(e.events("account-"+id), "suspicious_activity_detected.v1"); n != 1 {
		t.Fatalf("%d detections on the account, want 1", n)
	}
	if n := e.throttlesOf(ip); n != 1 {
		t.Fatalf("%d throttles of the address, want 1", n)
	}
}

// throttlesOf counts the throttles of an address: its stream is named by the address's
// keyed pseudonym, so they are found by their data, across the log.
func (e *env) throttlesOf(ip string) int {
	e.t.Helper()
	recs, err := e.srv.Store().ReadAll(context.Background(), 0, 1_000_000)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Type != "address_throttled.v1" {
			continue
		}
		if !strings.HasPrefix(r.Stream, "address-") || strings.Contains(r.Stream, ip) {
			e.t.Fatalf("throttle on stream %q: not named by a pseudonym", r.Stream)
		}
		if strings.Contains(string(r.Data), `"ip":"`+ip+`"`) {
			n++
		}
	}
	return n
}
