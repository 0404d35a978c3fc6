package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// Benchmarks of the two paths the login flow calls on every sign-in, in-process through
// the real handler (auth, routing, encoding) on the real SQLite-backed server:
//
//	go test -run '^$' -bench . -benchmem ./http/api/
//
// The load test over loopback HTTP is `accountd bench` or wrk (see cmd/accountd).

const benchPassword = "Correct horse battery 42"

type benchClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *benchClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *benchClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// cheapest is the least argon2id work NewHasher accepts: the benchmarks measure the
// engine around the hash, not the hash.
var cheapest = credentials.Argon2Params{MemoryKiB: 8, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

const benchToken = "bench-login-service-token"

func benchServer(b *testing.B, sync sqlite.Synchronous, policy domain.Policy) (*serve.Server, *benchClock) {
	b.Helper()
	clock := &benchClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: b.TempDir(), Policy: &policy, Sync: sync, Argon2: &cheapest, Clock: clock.Now,
		Tokens: []api.Token{{Secret: benchToken, Roles: []api.Role{api.RoleLoginService}}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv, clock
}

// activeAccounts registers and activates n accounts on the write side directly.
func activeAccounts(b *testing.B, svc *commands.Service, n int) []string {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		reg, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: fmt.Sprintf("staff%d@lac.example", i), Password: benchPassword})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Activate(ctx, commands.Meta{}, reg.ActivationToken); err != nil {
			b.Fatal(err)
		}
		ids[i] = reg.AccountID
	}
	return ids
}

// discard is a ResponseWriter that keeps nothing, so the benchmark measures the handler.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(s int)           { d.status = s }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkStatusHandler: GET /v1/accounts/{id}/status, in parallel, as the login service
// calls it before every sign-in.
func BenchmarkStatusHandler(b *testing.B) {
	policy := domain.DefaultPolicy()
	srv, _ := benchServer(b, sqlite.Normal, policy)
	ids := activeAccounts(b, srv.Service(), 64)
	if err := srv.Runner().CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	var next sync.Mutex
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		id := ids[n%len(ids)]
		n++
		next.Unlock()
		req := httptest.NewRequest(http.MethodGet, "/v1/accounts/"+id+"/status", nil)
		req.Header.Set("Authorization", "Bearer "+benchToken)
		req.Header.Set("Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8")
		w := &discard{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

// BenchmarkLoginEngine: POST /v1/logins with the right password, sequentially: decoding,
// the aggregate decision, the append to the log (SQLite, both durability settings) and the
// answer, with argon2id at its cheapest so the hash does not hide the rest. The clock
// moves past the session lifetime after each round over the accounts, so sessions expire
// and the aggregates stay the size they have in production.
func BenchmarkLoginEngine(b *testing.B) {
	for _, tc := range []struct {
		name string
		sync sqlite.Synchronous
	}{{"sync=normal", sqlite.Normal}, {"sync=full", sqlite.Full}} {
		b.Run(tc.name, func(b *testing.B) {
			policy := domain.DefaultPolicy()
			policy.MFARequired = false
			policy.PasswordMaxAge = domain.Duration(365 * 24 * time.Hour)
			srv, clock := benchServer(b, tc.sync, policy)
			const accounts = 256
			activeAccounts(b, srv.Service(), accounts)
			h := srv.Handler()
			bodies := make([]string, accounts)
			for i := range bodies {
				bodies[i] = fmt.Sprintf(`{"email":"staff%d@lac.example","password":%q,"ip":"192.0.2.1","user_agent":"bench"}`, i, benchPassword)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i > 0 && i%accounts == 0 {
					clock.Advance(15*time.Hour + time.Minute)
				}
				req := httptest.NewRequest(http.MethodPost, "/v1/logins", strings.NewReader(bodies[i%accounts]))
				req.Header.Set("Authorization", "Bearer "+benchToken)
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
