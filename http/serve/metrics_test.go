package serve_test

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsAfterLoginAndStatus: after a sign-in and a status read, /metrics (no token)
// exposes every family the operators' dashboards are built on.
func TestMetricsAfterLoginAndStatus(t *testing.T) {
	e := newEnv(t, nil)
	id := e.activeAccount("metrics@lac.example")
	r := e.login("metrics@lac.example", goodPassword)
	e.status(id, r.position())

	// The security runner follows the log on its own; its lag settles at zero.
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for {
		body = scrape(t, e)
		if strings.Contains(body, `accountd_projection_lag_events{projection="detectors",runner="security"} 0`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`accountd_http_request_duration_seconds_bucket{route="logins.create",status="200",le=`,
		`accountd_http_request_duration_seconds_count{route="accounts.status",status="200"} 1`,
		`accountd_login_decisions_total{decision="` + r.str("decision") + `",reason="`,
		`accountd_eventstore_append_duration_seconds_count{result="ok"}`,
		`accountd_eventstore_events_appended_total `,
		`accountd_eventstore_head_position{runner="main"}`,
		`accountd_projection_position{projection="account_status",runner="main"}`,
		`accountd_projection_lag_events{projection="account_status",runner="main"}`,
		`accountd_projection_position{projection="detectors",runner="security"}`,
		`accountd_projection_lag_events{projection="detectors",runner="security"} 0`,
		`go_goroutines `,
		`accountd_password_hashes_total `,
		`accountd_password_hash_cpu_seconds_total `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func scrape(t *testing.T, e *env) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/metrics", nil)
	res, b := e.rawCall(req)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// TestPasswordHashCPU: the server counts its argon2id computations (registration and
// sign-in here) and, on Linux, the CPU time they took on their own threads: with the test
// parameters a little, but more than none.
func TestPasswordHashCPU(t *testing.T) {
	e := newEnv(t, nil)
	before := scrape(t, e)
	e.activeAccount("hashcpu@lac.example")
	e.login("hashcpu@lac.example", goodPassword)
	after := scrape(t, e)
	if n := metricValue(t, after, "accountd_password_hashes_total") - metricValue(t, before, "accountd_password_hashes_total"); n < 2 {
		t.Errorf("%v argon2id computations counted for a registration and a sign-in, want at least 2", n)
	}
	cpu := metricValue(t, after, "accountd_password_hash_cpu_seconds_total") - metricValue(t, before, "accountd_password_hash_cpu_seconds_total")
	if runtime.GOOS == "linux" && cpu <= 0 {
		t.Errorf("hash CPU %v s, want more than 0", cpu)
	}
}

// metricValue is the value of an unlabelled series in a /metrics body.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}
