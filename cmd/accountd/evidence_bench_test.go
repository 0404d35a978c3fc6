package main

import (
	"accountd/eventstore/eventlog"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/projections"
	"accountd/projections/compliance"
)

// BenchmarkEvidenceExport times the evidence export (chain verification, compliance catch-up
// and the reports) on a data set of N accounts of one property over two years
// (registration, a password change every 80 days, one in ten lapsing to 120 days once, a
// successful login every 14 days and a failed one every 30), appended directly through
// eventlog.Encode:
//
//	ACCOUNTD_BENCH_ACCOUNTS=10000 go test -run '^$' -bench EvidenceExport -benchtime 3x ./cmd/accountd/
//
// ACCOUNTD_BENCH_ACCOUNTS defaults to 1,000 (about 86k events). With ACCOUNTD_BENCH_DATA=DIR
// the data set is written there and kept, for timing the built binary's export and its
// memory (see BENCHMARKS.md).
func BenchmarkEvidenceExport(b *testing.B) {
	data := os.Getenv("ACCOUNTD_BENCH_DATA")
	if data == "" {
		data = b.TempDir()
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("ACCOUNTD_BENCH_ACCOUNTS")); err == nil && v > 0 {
		n = v
	}
	store, events := generateEvidenceData(b, data, n)
	store.Close() // the export opens the log itself, as the command does
	q := compliance.Query{PropertyID: "bench", From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}
	b.ResetTimer()
	for b.Loop() {
		sf := storeFlags{data: data, sync: "normal", store: "sqlite"}
		if _, err := exportFromLog(context.Background(), sf, exportOptions{out: filepath.Join(b.TempDir(), "out.zip")}, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// generateEvidenceData writes the data set into data and runs the compliance projection.
func generateEvidenceData(t testing.TB, data string, n int) (*sqlite.Store, uint64) {
	ctx := context.Background()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(data, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	if _, err := commands.ChangePolicy(ctx, store, func() time.Time { return t0 }, domain.DefaultPolicy(), domain.Actor{Kind: domain.ActorSystem}); err != nil {
		t.Fatal(err)
	}
	const dayD = 24 * time.Hour
	pol := domain.PolicyInForce{MinLength: 12, HistoryDepth: 4, MaxAge: domain.Duration(90 * dayD)}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id := fmt.Sprintf("acct-%06d", i)
				reg := t0.Add(time.Duration(i%30) * dayD)
				evs := []domain.Event{{At: reg, Data: domain.AccountRegistered{AccountID: id, Email: fmt.Sprintf("staff%06d@bench.example", i), PropertyID: "bench", PasswordHash: "$argon2id$bench", Policy: pol}}}
				lapse := i%10 == 0
				for d, k := 80, 0; d < 730; k++ {
					evs = append(evs, domain.Event{At: reg.Add(time.Duration(d) * dayD), Data: domain.PasswordChanged{Cause: domain.PasswordChangedBySelf, PasswordHash: "$argon2id$bench", Policy: pol}})
					if lapse && k == 3 {
						d += 120
					} else {
						d += 80
					}
				}
				for d := 14; d < 730; d += 14 {
					evs = append(evs, domain.Event{At: reg.Add(time.Duration(d)*dayD + time.Hour), Data: domain.LoginSucceeded{Origin: domain.Origin{IP: "198.51.100.7", UserAgent: "bench"}, SessionID: "s"}})
				}
				for d := 30; d < 730; d += 30 {
					evs = append(evs, domain.Event{At: reg.Add(time.Duration(d)*dayD + 2*time.Hour), Data: domain.LoginFailed{Origin: domain.Origin{IP: "203.0.113.66", UserAgent: "bench"}, Reason: domain.ReasonInvalidCredentials, FailedAttempts: 1}})
				}
				stream := domain.AccountStream(id)
				recs, err := eventlog.Encode(stream, domain.Metadata{CommandID: "bench-" + id}, evs)
				if err == nil {
					_, err = store.Append(ctx, stream, eventstore.NoStream, recs...)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	head, _ := store.HeadPosition(ctx)
	t.Logf("appended %d events for %d accounts in %s", head, n, time.Since(start))
	start = time.Now()
	db, err := projections.OpenDB(filepath.Join(data, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := projections.NewRunner(ctx, store, db, slog.New(slog.DiscardHandler), compliance.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("compliance projection caught up in %s", time.Since(start))
	return store, head
}
