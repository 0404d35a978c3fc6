package serve_test

import (
	"net/http"
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
