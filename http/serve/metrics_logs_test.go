package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

// lockedBuffer is a bytes.Buffer the server's goroutines and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Split(bytes.TrimSpace(l.b.Bytes()), []byte("\n"))
}

// serverLoggingJSON is a server whose log, in the JSON format, the test reads.
func serverLoggingJSON(t *testing.T) (*serve.Server, *lockedBuffer) {
	buf := new(lockedBuffer)
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: t.TempDir(), Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(),
		Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, buf
}

// requests returns the log's request lines.
func (l *lockedBuffer) requests(t *testing.T) []map[string]any {
	var got []map[string]any
	for _, line := range l.lines() {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if rec["msg"] == "request" {
			got = append(got, rec)
		}
	}
	return got
}

// TestRequestLogCarriesCorrelation: with the JSON handler (--log-format json), each
// request line names request_id, correlation_id (the caller's X-Correlation-ID, else the
// request ID), route, status and duration.
func TestRequestLogCarriesCorrelation(t *testing.T) {
	srv, buf := serverLoggingJSON(t)

	for _, c := range []struct{ requestID, correlation string }{
		{"req-1", "flow-42"},
		{"req-2", ""},
		{"req-3", "bad value\n"}, // not plain: replaced, so a log line cannot be forged through it
	} {
		r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		r.Header.Set("X-Request-ID", c.requestID)
		if c.correlation != "" {
			r.Header.Set("X-Correlation-ID", c.correlation)
		}
		srv.Handler().ServeHTTP(httptest.NewRecorder(), r)
	}

	got := buf.requests(t)
	want := []string{"flow-42", "req-2", "req-3"}
	if len(got) != len(want) {
		t.Fatalf("%d request lines, want %d", len(got), len(want))
	}
	for i, rec := range got {
		if rec["correlation_id"] != want[i] {
			t.Errorf("line %d: correlation_id %v, want %s", i, rec["correlation_id"], want[i])
		}
		for _, k := range []string{"request_id", "route", "status", "duration"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line %d lacks %s: %v", i, k, rec)
			}
		}
		if rec["route"] != "healthz" || rec["status"] != float64(200) {
			t.Errorf("line %d: route %v status %v", i, rec["route"], rec["status"])
		}
	}
}

// TestRequestLogShowsTemplateOfSecretPaths: a route that declares its path secret (a
// session ID) logs the template, whatever the outcome; other routes log the path.
func TestRequestLogShowsTemplateOfSecretPaths(t *testing.T) {
	srv, buf := serverLoggingJSON(t)
	cases := []struct{ path, wantRoute, wantPath string }{
		{"/v1/sessions/s3cret-session-id", "sessions.check", "/v1/sessions/{id}"},
		{"/v1/accounts/acc-1/status", "accounts.status", "/v1/accounts/acc-1/status"},
	}
	for _, c := range cases {
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, c.path, nil))
	}
	got := buf.requests(t)
	if len(got) != len(cases) {
		t.Fatalf("%d request lines, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i]["route"] != c.wantRoute || got[i]["path"] != c.wantPath {
			t.Errorf("%s: logged route %v path %v, want %s %s", c.path, got[i]["route"], got[i]["path"], c.wantRoute, c.wantPath)
		}
	}
}
