package commands_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"accountd/commands"
	"accountd/eventstore/personal"
	"accountd/eventstore/snapshot"
	"accountd/eventstore/sqlite"
)

// BenchmarkEraseAccount: the erasure of an account (its event, the releases of its
// reservation and skeleton claim, the key destruction of a fake key store, the cache and
// snapshot deletion) on the SQLite log with fsync on every commit and SQLite snapshots,
// against the deletion of an account in the same run (one event), each on a fresh account
// that signed in twice. It reports the time of each and erase/delete.
//
//	go test -run '^$' -bench EraseAccount -benchtime 200x ./commands/
func BenchmarkEraseAccount(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	inner, err := sqlite.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer inner.Close()
	snaps, err := snapshot.OpenSQLite(filepath.Join(dir, "snapshots.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer snaps.Close()
	keys, err := personal.OpenSQLite(filepath.Join(dir, "personal-keys.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer keys.Close()
	// The real sealing store and key store: an erasure's cost includes destroying the key
	// (secure delete and a WAL truncation in personal-keys.db).
	store := personal.Seal(inner, keys)
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	cfg := serviceConfig(b, store, clock)
	cfg.Shredder, cfg.Snapshots, cfg.SnapshotKey, cfg.SnapshotEvery = store, snaps, make([]byte, 32), 4
	svc, err := commands.NewService(cfg)
	if err != nil {
		b.Fatal(err)
	}
	account := func(i int, kind string) string {
		email := fmt.Sprintf("%s%d@bench.example", kind, i)
		id := registerActive(b, ctx, svc, email, goodPassword)
		for range 2 {
			if _, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: goodPassword}); err != nil {
				b.Fatal(err)
			}
		}
		return id
	}
	var erase, del time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e, d := account(i, "erase"), account(i, "delete")
		b.StartTimer()
		t0 := time.Now()
		if _, err := svc.EraseAccount(ctx, commands.Meta{}, e, commands.Erasure{Actor: support, Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := svc.Delete(ctx, commands.Meta{}, d, support); err != nil {
			b.Fatal(err)
		}
		erase, del = erase+t1.Sub(t0), del+time.Since(t1)
	}
	b.ReportMetric(float64(erase.Nanoseconds())/float64(b.N), "erase-ns/op")
	b.ReportMetric(float64(del.Nanoseconds())/float64(b.N), "delete-ns/op")
	b.ReportMetric(float64(erase)/float64(del), "erase/delete")
}
