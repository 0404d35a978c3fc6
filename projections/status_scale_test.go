package projections

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"accountd/domain"
)

// BenchmarkStatusReadScale: the latency of a status read (by e-mail, then by ID: what the
// login service asks) with 1,000 accounts in the read model against
// ACCOUNTD_BENCH_STATUS_ACCOUNTS accounts (default 100,000; the figure is
// 1,000,000), in one run. The read models are filled directly (the rows a rebuild would
// leave), each read is timed on its own, and the percentiles come from 200,000 reads of
// each model spread at random over its accounts.
//
// The two models are read in alternating blocks of 10,000 (after 2,000 untimed reads that
// bring the small one back into the caches), so that both see the same load on a shared
// machine: read one after the other, a change of load between them moved the ratio more
// than the model's size did. The address a read asks for is copied before its clock starts,
// as a request's address is fresh in the cache, so the benchmark does not time its own
// misses on a slice of a million test addresses. It also reports how long a full GC cycle
// takes with each model in the heap.
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
	type model struct {
		n        int
		s        *Status
		emails   []string
		ids      []string
		lat      []time.Duration
		gc       time.Duration
		p50, p99 time.Duration
		p999     time.Duration
	}
	const reads, block, warm = 200_000, 10_000, 2_000
	var models []*model
	for _, n := range []int{1000, large} {
		s, emails, ids := fillStatus(n, now)
		runtime.GC() // the filling's garbage
		t0 := time.Now()
		runtime.GC()
		models = append(models, &model{n: n, s: s, emails: emails, ids: ids, gc: time.Since(t0), lat: make([]time.Duration, 0, reads)})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	read := func(m *model, timed bool) {
		i := rng.IntN(m.n)
		email := strings.Clone(m.emails[i])
		t0 := time.Now()
		id, ok := m.s.AccountIDByEmail(email)
		v, ok2 := m.s.AccountStatus(id, now, policy)
		d := time.Since(t0)
		if !ok || !ok2 || v.AccountID != m.ids[i] {
			b.Fatalf("account %d of %d not found", i, m.n)
		}
		if timed {
			m.lat = append(m.lat, d)
		}
	}
	for b.Loop() {
		for _, m := range models {
			m.lat = m.lat[:0]
		}
		for range reads / block {
			for _, m := range models {
				for range warm {
					read(m, false)
				}
				for range block {
					read(m, true)
				}
			}
		}
	}
	for _, m := range models {
		slices.Sort(m.lat)
		m.p50, m.p99, m.p999 = m.lat[len(m.lat)/2], m.lat[len(m.lat)*99/100], m.lat[len(m.lat)*999/1000]
	}
	small, big := models[0], models[1]
	b.Logf("huge pages in this process: %s", hugePagesInUse())
	b.ReportMetric(float64(small.p99.Nanoseconds()), "small-p99-ns")
	b.ReportMetric(float64(big.p99.Nanoseconds()), "large-p99-ns")
	b.ReportMetric(float64(big.p99)/float64(small.p99), "p99-ratio")
	b.ReportMetric(float64(big.p50)/float64(small.p50), "p50-ratio")
	b.Logf("status read by e-mail: 1,000 accounts p50 %s p99 %s p99.9 %s (full GC %s); %d accounts p50 %s p99 %s p99.9 %s (full GC %s); p99 ratio %.2fx, p50 ratio %.2fx",
		small.p50, small.p99, small.p999, small.gc, large, big.p50, big.p99, big.p999, big.gc,
		float64(big.p99)/float64(small.p99), float64(big.p50)/float64(small.p50))
}

// fillStatus makes a read model of n accounts over n/20 properties, each account
// registered, activated, with a password and a sign-in history.
func fillStatus(n int, now time.Time) (*Status, []string, []string) {
	s := NewStatus()
	emails, ids := make([]string, n), make([]string, n)
	for p := range max(1, n/20) {
		id := fmt.Sprintf("prop-%07d", p)
		s.properties[id] = propertyRecord{Property: domain.Property{ID: id, Name: "Hôtel " + id}, Position: uint64(p)}
		s.gates.put(id, s.properties[id])
	}
	for i := range n {
		id := fmt.Sprintf("0193a1b2-c3d4-7e5f-8a9b-%012d", i)
		email := fmt.Sprintf("staff%07d@hotel-%d.example", i, i%(max(1, n/20)))
		a := domain.Account{ID: id, Email: email, Registered: true, RegisteredAt: now.AddDate(0, -3, 0), Activated: true, ActivatedAt: now.AddDate(0, -3, 0),
			Properties: []string{fmt.Sprintf("prop-%07d", i%(max(1, n/20)))}, PasswordChangedAt: now.AddDate(0, 0, -(i % 80)),
			FailedAttempts: i % 3, LastLoginAt: now.Add(-time.Duration(i%1000) * time.Minute), FirstLoginAt: now.AddDate(0, -3, 0)}
		a.MFA.Enrolled = i%2 == 0
		s.accounts.put(id, emailKey(email), accountRecord{Account: a, Position: uint64(n + i)})
		emails[i], ids[i] = email, id
	}
	return s, emails, ids
}

// hugePagesInUse is the process's anonymous memory on transparent huge pages, as Linux
// counts it, so a run says whether the tables got them (offheap.go).
func hugePagesInUse() string {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
