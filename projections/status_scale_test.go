package projections

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"accountd/domain"
)

// BenchmarkStatusReadScale: the latency of a status read (by e-mail, then by ID: what the
// login service asks) with 1,000 accounts in the read model against
// ACCOUNTD_BENCH_STATUS_ACCOUNTS accounts (default 100,000; the figure is
// 1,000,000), in one run. The read model is filled directly (the rows a rebuild would
// leave), each read is timed on its own, and the percentiles come from 200,000 reads
// spread at random over all accounts, while the garbage collector marks the whole heap
// as it does in the server.
//
//	ACCOUNTD_BENCH_STATUS_ACCOUNTS=1000000 go test -run '^$' -bench StatusReadScale -benchtime 1x -v ./projections/
func BenchmarkStatusReadScale(b *testing.B) {
	large := 100_000
	if v := os.Getenv("ACCOUNTD_BENCH_STATUS_ACCOUNTS"); v != "" {
		var err error
		if large, err = strconv.Atoi(v); err != nil || large < 1000 {
			b.Fatalf("ACCOUNTD_BENCH_STATUS_ACCOUNTS=%q: want a number of at least 1000", v)
		}
	}
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	policy := domain.DefaultPolicy()
	type result struct{ p50, p99, p999 time.Duration }
	results := map[int]result{}
	for _, n := range []int{1000, large} {
		b.Run(fmt.Sprintf("accounts-%d", n), func(b *testing.B) {
			s, emails, ids := fillStatus(n, now)
			runtime.GC()
			const reads = 200_000
			lat := make([]time.Duration, 0, reads)
			rng := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				lat = lat[:0]
				for range reads {
					i := rng.IntN(n)
					t0 := time.Now()
					id, ok := s.AccountIDByEmail(emails[i])
					v, ok2 := s.AccountStatus(id, now, policy)
					lat = append(lat, time.Since(t0))
					if !ok || !ok2 || v.AccountID != ids[i] {
						b.Fatalf("account %d not found", i)
					}
				}
			}
			slices.Sort(lat)
			r := result{lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)*999/1000]}
			results[n] = r
			b.ReportMetric(float64(r.p50.Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(r.p99.Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(r.p999.Nanoseconds()), "p99.9-ns")
		})
	}
	small, big := results[1000], results[large]
	b.Logf("status read by e-mail: 1,000 accounts p50 %s p99 %s p99.9 %s; %d accounts p50 %s p99 %s p99.9 %s; p99 ratio %.2fx",
		small.p50, small.p99, small.p999, large, big.p50, big.p99, big.p999, float64(big.p99)/float64(small.p99))
}

// fillStatus makes a read model of n accounts over n/20 properties, each account
// registered, activated, with a password and a sign-in history.
func fillStatus(n int, now time.Time) (*Status, []string, []string) {
	s := NewStatus()
	emails, ids := make([]string, n), make([]string, n)
	for p := range max(1, n/20) {
		id := fmt.Sprintf("prop-%07d", p)
		s.properties[id] = propertyRecord{Property: domain.Property{ID: id, Name: "Hôtel " + id}, Position: uint64(p)}
	}
	for i := range n {
		id := fmt.Sprintf("0193a1b2-c3d4-7e5f-8a9b-%012d", i)
		email := fmt.Sprintf("staff%07d@hotel-%d.example", i, i%(max(1, n/20)))
		a := domain.Account{ID: id, Email: email, Registered: true, RegisteredAt: now.AddDate(0, -3, 0), Activated: true, ActivatedAt: now.AddDate(0, -3, 0),
			Properties: []string{fmt.Sprintf("prop-%07d", i%(max(1, n/20)))}, PasswordChangedAt: now.AddDate(0, 0, -(i % 80)),
			FailedAttempts: i % 3, LastLoginAt: now.Add(-time.Duration(i%1000) * time.Minute), FirstLoginAt: now.AddDate(0, -3, 0)}
		a.MFA.Enrolled = i%2 == 0
		s.accounts[id] = accountRecord{Account: a, Position: uint64(n + i)}
		s.byEmail[domain.NormaliseEmail(email)] = id
		emails[i], ids[i] = email, id
	}
	return s, emails, ids
}
