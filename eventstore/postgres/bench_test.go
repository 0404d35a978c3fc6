package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/postgres"
	"accountd/eventstore/sqlite"

	"github.com/google/uuid"
)

// The benchmarks put PostgreSQL beside SQLite (durable: fsync every commit) under the
// same load, so the cost of a shared log is a number, not a guess:
//
//	ACCOUNTD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench . -benchtime 3s ./eventstore/postgres/
//
// Without the URL only the SQLite halves run. BenchmarkAppendNodes puts one node beside
// two nodes (two Stores, each with its own pool, writer and advisory-lock turns) sharing
// one schema, 64 writers in all.

func backends(b *testing.B) map[string]func(b *testing.B) eventstore.Store {
	return map[string]func(b *testing.B) eventstore.Store{
		"sqlite": func(b *testing.B) eventstore.Store {
			s, err := sqlite.Open(filepath.Join(b.TempDir(), "events.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		},
		"postgres": func(b *testing.B) eventstore.Store {
			url := testURL(b)
			return open(b, url, freshSchema(b, url))
		},
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		for _, writers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/%dwriters", name, writers), func(b *testing.B) {
				eventstoretest.BenchmarkAppend(b, backends(b)[name](b), writers, uuid.New)
			})
		}
	}
}

func BenchmarkAppendNodes(b *testing.B) {
	for _, nodes := range []int{1, 2} {
		b.Run(fmt.Sprintf("postgres/%dnodes/64writers", nodes), func(b *testing.B) {
			url := testURL(b)
			stores, commits, appends := openNodes(b, url, nodes)
			b.ReportAllocs()
			b.ResetTimer()
			elapsed, err := appendAcross(b.Context(), stores, 64, b.N, "acct")
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(appends.Load())/float64(max(commits.Load(), 1)), "appends/commit")
		})
	}
}

// BenchmarkAppendNodesPaired is BenchmarkAppendNodes's ratio, two nodes against one, with
// 64 writers, measured in pairs of phases that alternate within one run (one node then two,
// then two then one, each phase on a fresh schema after a warm-up of a tenth of its
// appends), so that the machine's load drifting between one half and the other does not
// decide it. It reports the median ratio of the pairs, the lowest and highest, and each
// side's median events/s:
//
//	ACCOUNTD_TEST_POSTGRES_URL=... go test -run '^$' -bench AppendNodesPaired ./eventstore/postgres/
//
// ACCOUNTD_BENCH_NODE_PAIRS (7) and ACCOUNTD_BENCH_NODE_APPENDS (20000, a phase) size it.
//
// In "processes", the second node is another process, as two accountd nodes are (this
// test binary run again, nodeprocess_test.go), with 32 of the writers: in "one-process"
// both nodes share one Go runtime, so the writer that holds the append lock waits for
// the scheduler behind the other node's writers, which no deployment has.
func BenchmarkAppendNodesPaired(b *testing.B) {
	for _, mode := range []string{"processes", "one-process"} {
		b.Run(mode, func(b *testing.B) {
			url := testURL(b)
			pairs := envCount(b, "ACCOUNTD_BENCH_NODE_PAIRS", 7)
			appendsPerPhase := envCount(b, "ACCOUNTD_BENCH_NODE_APPENDS", 20000)
			var ratios, one, two []float64
			for b.Loop() {
				for p := range pairs {
					order := []int{1, 2}
					if p%2 == 1 {
						order = []int{2, 1}
					}
					var rate [3]float64
					for _, nodes := range order {
						if nodes == 2 && mode == "processes" {
							rate[2] = appendPhaseTwoProcesses(b, url, appendsPerPhase)
						} else {
							rate[nodes] = appendPhase(b, url, nodes, appendsPerPhase)
						}
					}
					ratios, one, two = append(ratios, rate[2]/rate[1]), append(one, rate[1]), append(two, rate[2])
				}
			}
			b.ReportMetric(median(ratios), "ratio")
			b.ReportMetric(slices.Min(ratios), "ratio-min")
			b.ReportMetric(slices.Max(ratios), "ratio-max")
			b.ReportMetric(median(one), "1node-events/s")
			b.ReportMetric(median(two), "2nodes-events/s")
		})
	}
}

// appendPhase opens nodes stores on a fresh schema, warms them up, and returns the events/s
// of n appends by 64 writers across them.
func appendPhase(b *testing.B, url string, nodes, n int) float64 {
	stores, _, _ := openNodes(b, url, nodes)
	defer func() {
		for _, s := range stores {
			_ = s.Close()
		}
	}()
	if _, err := appendAcross(b.Context(), stores, 64, n/10, "warm"); err != nil {
		b.Fatal(err)
	}
	elapsed, err := appendAcross(b.Context(), stores, 64, n, "acct")
	if err != nil {
		b.Fatal(err)
	}
	return float64(n) / elapsed.Seconds()
}

// openNodes opens nodes stores on one fresh schema, each counting its group commits.
func openNodes(b *testing.B, url string, nodes int) (stores []*postgres.Store, commits, appends *atomic.Int64) {
	schema := freshSchema(b, url)
	commits, appends = new(atomic.Int64), new(atomic.Int64)
	stores = make([]*postgres.Store, nodes)
	for i := range stores {
		stores[i] = open(b, url, schema)
		stores[i].ReportGroupCommits(func(gc eventstore.GroupCommit) {
			commits.Add(1)
			appends.Add(int64(gc.Appends))
		})
	}
	return stores, commits, appends
}

// appendAcross is eventstoretest.BenchmarkAppend with the writers dealt round the stores:
// writer w appends n events in all to its own stream through stores[w % len(stores)].
func appendAcross(ctx context.Context, stores []*postgres.Store, writers, n int, prefix string) (time.Duration, error) {
	data := []byte(`{"amount":{"units":12345,"currency":"EUR"},"reference":"bench"}`)
	metadata := []byte(`{"correlation":"9f1c2a7e-2d4b-4c1e-9a55-0b1f6f1f0d11"}`)
	var claimed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := time.Now()
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			stream := fmt.Sprintf("%s-%d", prefix, w)
			expected := eventstore.NoStream
			for claimed.Add(1) <= int64(n) {
				res, err := s.Append(ctx, stream, expected,
					eventstore.EventData{ID: uuid.New(), Type: "Deposited", Data: data, Metadata: metadata})
				if err != nil {
					errs <- err
					return
				}
				expected = eventstore.Exact(res.NextRevision)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, <-errs
}

func envCount(b *testing.B, name string, fallback int) int {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkLogin is whole login decisions (read the account's stream, verify the password
// with cheap argon2id parameters, append the outcome) by 1 or 64 concurrent clients, each
// on its own account.
func BenchmarkLogin(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/%dclients", name, clients), func(b *testing.B) {
				benchmarkLogin(b, backends(b)[name](b), clients)
			})
		}
	}
}

func benchmarkLogin(b *testing.B, s eventstore.Store, clients int) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	mfa, err := credentials.NewMFA(key, "accountd-bench")
	if err != nil {
		b.Fatal(err)
	}
	links, err := credentials.NewLinkKey(key)
	if err != nil {
		b.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		b.Fatal(err)
	}
	policy := domain.DefaultPolicy()
	svc, err := commands.NewService(commands.Config{
		Store: s, Clock: time.Now, Policy: func() domain.Policy { return policy },
		Hasher: hasher, MFA: mfa, Links: links,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const password = "Correct horse battery 42"
	emails := make([]string, clients)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-%d@hotel.example", i)
		reg, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: emails[i], Password: password})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Activate(ctx, commands.Meta{}, reg.ActivationToken); err != nil {
			b.Fatal(err)
		}
	}
	var claimed atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for claimed.Add(1) <= int64(b.N) {
				res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: emails[c], Password: password})
				if err != nil {
					b.Error(err)
					return
				}
				if res.AccountID == "" {
					b.Errorf("login of %s: %+v", emails[c], res)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
}
