package serve_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// TestDisclosureTimingReport measures, over loopback HTTP against the real server with
// durable appends (synchronous=FULL) and the default argon2id cost, how long a request
// takes for a known and for an unknown address, interleaved so both see the same load. It
// reports and asserts nothing about time (the tests that guard equal cost compare work:
// appends and verifications). Run:
//
//	ACCOUNTD_TIMING_REPORT=200 go test -count=1 -run TestDisclosureTimingReport -v ./http/serve/
func TestDisclosureTimingReport(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ACCOUNTD_TIMING_REPORT"))
	if n <= 0 {
		t.Skip("set ACCOUNTD_TIMING_REPORT=<samples> to measure")
	}
	e := newEnvWith(t, testPolicy(func(p *domain.Policy) { p.Disclosure = domain.DisclosureGeneric }), func(c *serve.Config) {
		c.Sync, c.Argon2 = sqlite.Full, nil
	})
	const pw = goodPassword
	timed := func(path string, body map[string]string, status int) time.Duration {
		start := time.Now()
		e.must(e.post(path, api.RoleLoginService, body), status)
		return time.Since(start)
	}
	report := func(what string, known, unknown []time.Duration) {
		q := func(d []time.Duration, f float64) string {
			s := slices.Clone(d)
			slices.Sort(s)
			return fmt.Sprintf("%.2f", float64(s[int(f*float64(len(s)-1))].Microseconds())/1000)
		}
		t.Logf("%-44s known: median %s ms, p90 %s ms | unknown: median %s ms, p90 %s ms (n=%d each)", what, q(known, .5), q(known, .9), q(unknown, .5), q(unknown, .9), len(known))
	}
	pair := func(what string, known, unknown func(i int) time.Duration) {
		var k, u []time.Duration
		for i := range n {
			k, u = append(k, known(i)), append(u, unknown(i))
		}
		report(what, k, u)
	}

	e.activeAccount("amir@lago.example")
	e.activeAccount("lena@lago.example")
	e.register("pia@lago.example", "")
	for range 6 {
		e.login("lena@lago.example", "wrong password")
		e.login("ghost-locked@lago.example", "wrong password")
	}
	link := func(path, email string) func(int) time.Duration {
		return func(int) time.Duration { return timed(path, map[string]string{"email": email}, http.StatusAccepted) }
	}
	pair("password reset request", link("/v1/password-reset-requests", "amir@lago.example"), link("/v1/password-reset-requests", "ghost@lago.example"))
	pair("unlock-link request (locked account)", link("/v1/unlock-link-requests", "lena@lago.example"), link("/v1/unlock-link-requests", "ghost@lago.example"))
	pair("unlock-link request (account not locked)", link("/v1/unlock-link-requests", "amir@lago.example"), link("/v1/unlock-link-requests", "ghost@lago.example"))
	pair("activation-link request (pending account)", link("/v1/activation-link-requests", "pia@lago.example"), link("/v1/activation-link-requests", "ghost@lago.example"))

	login := func(email func(int) string, password string) func(int) time.Duration {
		return func(i int) time.Duration {
			return timed("/v1/logins", map[string]string{"email": email(i), "password": password, "ip": "192.0.2." + strconv.Itoa(1+i%200)}, http.StatusOK)
		}
	}
	fixed := func(s string) func(int) string { return func(int) string { return s } }
	pair("login, locked account vs locked decoy", login(fixed("lena@lago.example"), "wrong password"), login(fixed("ghost-locked@lago.example"), "wrong password"))
	disabled := e.activeAccount("dora@lago.example")
	e.must(e.post("/v1/accounts/"+disabled+"/disable", api.RoleAdmin, map[string]string{"support_reference": "T-1"}), http.StatusOK)
	pair("login, disabled account vs unknown address", login(fixed("dora@lago.example"), pw), login(fixed("ghost-disabled@lago.example"), pw))
	for i := range n {
		e.register("wrong"+strconv.Itoa(i)+"@lago.example", "")
	}
	pair("login, wrong password (first attempt)", login(func(i int) string { return "wrong" + strconv.Itoa(i) + "@lago.example" }, "wrong password"),
		login(func(i int) string { return "ghost" + strconv.Itoa(i) + "@lago.example" }, "wrong password"))
}
