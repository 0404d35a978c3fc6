package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// BenchmarkStatusHandlerMetrics is BenchmarkStatusHandler without and with the metrics,
// one after the other in one process, so the instrumentation's cost on the hot path is read
// from the same machine state rather than from two runs on a shared box.
func BenchmarkStatusHandlerMetrics(b *testing.B) {
	for _, tc := range []struct {
		name    string
		disable bool
	}{{"off", true}, {"on", false}} {
		b.Run(tc.name, func(b *testing.B) {
			policy := domain.DefaultPolicy()
			clock := &benchClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			srv, err := serve.New(context.Background(), serve.Config{
				DataDir: b.TempDir(), Policy: &policy, Sync: sqlite.Normal, Argon2: &cheapest, Clock: clock.Now,
				Tokens: []api.Token{{Secret: benchToken, Roles: []api.Role{api.RoleLoginService}}},
				Logger: slog.New(slog.DiscardHandler), DisableMetrics: tc.disable,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { srv.Close() })
			id := activeAccounts(b, srv.Service(), 1)[0]
			if err := srv.Runner().CatchUp(context.Background()); err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			req := httptest.NewRequest(http.MethodGet, "/v1/accounts/"+id+"/status", nil)
			req.Header.Set("Authorization", "Bearer "+benchToken)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				w.status = 0
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
