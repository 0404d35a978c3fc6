package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"accountd/commands"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

// TestReadyzWaitsForBothRunners: /readyz answers 503 while either runner is behind the
// log, including when only the security runner (detectors, timeline) is, and 200 once both
// have caught up.
func TestReadyzWaitsForBothRunners(t *testing.T) {
	ctx := context.Background()
	srv, err := serve.New(ctx, serve.Config{
		DataDir: t.TempDir(), Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(),
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	readyz := func() int {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return w.Code
	}

	if _, err := srv.Service().Register(ctx, commands.Meta{}, commands.Registration{Email: "ready@lac.example", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if got := readyz(); got != http.StatusServiceUnavailable {
		t.Fatalf("before any catch-up: %d, want 503", got)
	}
	if err := srv.Runner().CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readyz(); got != http.StatusServiceUnavailable {
		t.Fatalf("main runner caught up, security runner not: %d, want 503", got)
	}

	srv.Start(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still not 200 five seconds after start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
