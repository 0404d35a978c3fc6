package projections_test

import (
	"context"
	crand "crypto/rand"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore/memory"
	"accountd/http/api"
	"accountd/projections"
)

// BenchmarkStatusReadScaleHTTP: the status read as the login flow makes it, GET
// /v1/accounts/{id}/status with the login service's bearer token, served by the real API
// handler (authentication, routing, evaluation at the request's instant, the localised JSON
// answer), with 1,000 accounts in the read model against ACCOUNTD_BENCH_STATUS_ACCOUNTS
// (default 100,000; the figure is 1,000,000), in one run. It measures two ways:
//
//   - http: over a loopback keep-alive connection, one request at a time, each timed from
//     sending to the last byte of the answer read: what the login service waits for;
//   - handler: the handler called in-process with a discarding writer, no network: what the
//     engine adds, the part that can grow with the model.
//
// As in BenchmarkStatusReadScale, the models are filled directly, read at random over their
// accounts in alternating blocks (after untimed reads that bring the small one back into
// the caches) so that both see the same load, and each request is built before its clock
// starts.
//
//	ACCOUNTD_BENCH_STATUS_ACCOUNTS=1000000 go test -run '^$' -bench StatusReadScaleHTTP -benchtime 1x -v ./projections/
func BenchmarkStatusReadScaleHTTP(b *testing.B) {
	large := 100_000
	if v := os.Getenv("ACCOUNTD_BENCH_STATUS_ACCOUNTS"); v != "" {
		var err error
		if large, err = strconv.Atoi(v); err != nil || large < 1000 {
			b.Fatalf("ACCOUNTD_BENCH_STATUS_ACCOUNTS=%q: want a number of at least 1000", v)
		}
	}
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	const token = "bench-login-service-token"
	type model struct {
		n       int
		ids     []string
		handler http.Handler
		url     string
		lat     map[string][]time.Duration
	}
	var models []*model
	for _, n := range []int{1000, large} {
		status, _, ids := projections.FillStatus(n, now)
		m := &model{n: n, ids: ids, handler: benchAPI(b, status, now, token), lat: map[string][]time.Duration{}}
		srv := httptest.NewServer(m.handler)
		b.Cleanup(srv.Close)
		m.url = srv.URL
		models = append(models, m)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	rng := rand.New(rand.NewPCG(1, 2))
	request := func(m *model, base string) (*http.Request, string) {
		id := m.ids[rng.IntN(m.n)]
		req, err := http.NewRequest(http.MethodGet, base+"/v1/accounts/"+id+"/status", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8")
		return req, id
	}
	w := &discard{h: http.Header{}}
	buf := make([]byte, 4096)
	read := map[string]func(m *model) time.Duration{
		"http": func(m *model) time.Duration {
			req, _ := request(m, m.url)
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := res.Body.Read(buf); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
			d := time.Since(t0)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
			return d
		},
		"handler": func(m *model) time.Duration {
			req, _ := request(m, "")
			clear(w.h)
			w.status = 0
			t0 := time.Now()
			m.handler.ServeHTTP(w, req)
			d := time.Since(t0)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
			return d
		},
	}
	kinds := []string{"http", "handler"}
	const reads, block, warm = 100_000, 5_000, 1_000
	for b.Loop() {
		for range reads / block {
			for _, kind := range kinds {
				for _, m := range models {
					for range warm {
						read[kind](m)
					}
					for range block {
						m.lat[kind] = append(m.lat[kind], read[kind](m))
					}
				}
			}
		}
	}
	small, big := models[0], models[1]
	for _, kind := range kinds {
		pct := func(m *model, q float64) time.Duration {
			lat := m.lat[kind]
			slices.Sort(lat)
			return lat[int(float64(len(lat))*q)]
		}
		s50, s99, s999 := pct(small, 0.50), pct(small, 0.99), pct(small, 0.999)
		l50, l99, l999 := pct(big, 0.50), pct(big, 0.99), pct(big, 0.999)
		b.ReportMetric(float64(l99)/float64(s99), kind+"-p99-ratio")
		b.ReportMetric(float64(l50)/float64(s50), kind+"-p50-ratio")
		b.Logf("%s: 1,000 accounts p50 %s p99 %s p99.9 %s; %d accounts p50 %s p99 %s p99.9 %s; p99 ratio %.2fx, p50 ratio %.2fx",
			kind, s50, s99, s999, large, l50, l99, l999, float64(l99)/float64(s99), float64(l50)/float64(s50))
	}
}

// benchAPI is the API handler over a filled status model, its clock stopped at now. The
// write side is an empty in-memory log: a status read never touches it.
func benchAPI(b *testing.B, status *projections.Status, now time.Time, token string) http.Handler {
	b.Helper()
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	mfa, err := credentials.NewMFA(key, "accountd-bench")
	if err != nil {
		b.Fatal(err)
	}
	links, err := credentials.NewLinkKey(key)
	if err != nil {
		b.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 8, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		b.Fatal(err)
	}
	policy := domain.DefaultPolicy()
	svc, err := commands.NewService(commands.Config{Store: memory.New(), Clock: func() time.Time { return now },
		Policy: func() domain.Policy { return policy }, Hasher: hasher, MFA: mfa, Links: links})
	if err != nil {
		b.Fatal(err)
	}
	a, err := api.New(api.Config{Service: svc, Status: status, Runner: caughtUp{},
		Tokens: []api.Token{{Secret: token, Roles: []api.Role{api.RoleLoginService}}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// caughtUp is a runner whose projections have applied everything: the model is filled.
type caughtUp struct{}

func (caughtUp) WaitFor(context.Context, string, uint64) error { return nil }
func (caughtUp) Position(string) uint64                        { return ^uint64(0) }
func (caughtUp) CaughtUp(context.Context) (bool, error)        { return true, nil }

// discard is a ResponseWriter that keeps nothing, so the handler figure is the handler's.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(s int)           { d.status = s }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
