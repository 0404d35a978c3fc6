package projections_test

import (
	"accountd/eventstore/eventlog"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/outbox"
)

// sqliteFixture is newFixture on a SQLite log, as the rebuild command sees it.
func sqliteFixture(t *testing.T, dir string) (*fixture, *credentials.LinkKey) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{ctx: context.Background(), store: store, now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	h, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	f.svc, err = commands.NewService(commands.Config{Store: store, Clock: func() time.Time { return f.now }, Policy: func() domain.Policy { return pol }, Hasher: h, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	return f, links
}

// dumpAll prints every table of the database, rows in primary-key order, so two files can
// be compared row for row whatever the projections in them.
func dumpAll(t *testing.T, db *sql.DB) string {
	t.Helper()
	names, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for names.Next() {
		var n string
		names.Scan(&n)
		tables = append(tables, n)
	}
	names.Close()
	var b strings.Builder
	for _, tbl := range tables {
		fmt.Fprintf(&b, "== %s\n", tbl)
		dumpRows(t, db, &b, `SELECT * FROM `+tbl+` ORDER BY 1, 2`)
	}
	return b.String()
}

func mailCount(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// A rebuild leaves the read-model database exactly as it was: same status answers, same rows
// in every table, and the outbox's tables and checkpoint carried over (no mail re-sent).
func TestRebuildSwapsInIdenticalReadModels(t *testing.T) {
	cases := []struct {
		name    string
		rebuild func() []projections.Projection
	}{
		{"all of readmodels.db", func() []projections.Projection {
			return []projections.Projection{projections.NewStatus(), compliance.New()}
		}},
		{"status only", func() []projections.Projection { return []projections.Projection{projections.NewStatus()} }},
		{"compliance only", func() []projections.Projection { return []projections.Projection{compliance.New()} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f, links := sqliteFixture(t, dir)
			ids := f.history(t)
			path := filepath.Join(dir, "readmodels.db")
			mails := filepath.Join(dir, "outbox")

			db, err := projections.OpenDB(path)
			if err != nil {
				t.Fatal(err)
			}
			st := projections.NewStatus()
			r, err := projections.NewRunner(f.ctx, f.store, db, nil, st, compliance.New())
			if err != nil {
				t.Fatal(err)
			}
			if err := r.CatchUp(f.ctx); err != nil {
				t.Fatal(err)
			}
			mailer, err := outbox.NewFileMailer(mails)
			if err != nil {
				t.Fatal(err)
			}
			ob, err := outbox.New(f.ctx, outbox.Config{Store: f.store, DB: db, Links: links, Mailer: mailer, PublicURL: "http://127.0.0.1:8080", From: "accountd <no-reply@localhost>", Clock: func() time.Time { return f.now }})
			if err != nil {
				t.Fatal(err)
			}
			if err := ob.CatchUp(f.ctx); err != nil {
				t.Fatal(err)
			}
			sent := mailCount(t, mails)
			if sent == 0 || ob.Position() == 0 {
				t.Fatalf("the fixture should have sent mail: %d files, outbox at %d", sent, ob.Position())
			}
			// The outbox recorded its deliveries in the log: the read models pass them too.
			if err := r.CatchUp(f.ctx); err != nil {
				t.Fatal(err)
			}
			before, beforeRows := views(st, ids, f.now), dumpAll(t, db)
			db.Close()

			var last projections.RebuildProgress
			res, err := projections.Rebuild(f.ctx, f.store, path, nil, projections.RebuildOptions{Progress: func(p projections.RebuildProgress) { last = p }}, tc.rebuild()...)
			if err != nil {
				t.Fatal(err)
			}
			head, _ := f.store.HeadPosition(f.ctx)
			if res.Head != head || last.Done != last.Total || last.Total == 0 {
				t.Errorf("rebuild reached %d of head %d; last progress %+v", res.Head, head, last)
			}
			for _, side := range []string{path + ".rebuild", path + ".rebuild-wal", path + "-wal"} {
				if _, err := os.Stat(side); err == nil {
					t.Errorf("%s left behind", side)
				}
			}

			db, err = projections.OpenDB(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st = projections.NewStatus()
			if _, err := projections.NewRunner(f.ctx, f.store, db, nil, st, compliance.New()); err != nil {
				t.Fatal(err)
			}
			if after := views(st, ids, f.now); !reflect.DeepEqual(before, after) {
				t.Fatalf("rebuild changed answers:\n%+v\n%+v", before, after)
			}
			if afterRows := dumpAll(t, db); afterRows != beforeRows {
				t.Fatalf("rebuild changed rows:\n%s\n---\n%s", beforeRows, afterRows)
			}
			var obPos uint64
			if err := db.QueryRow(`SELECT position FROM checkpoints WHERE name = ?`, outbox.CheckpointName).Scan(&obPos); err != nil || obPos != ob.Position() {
				t.Fatalf("outbox checkpoint after rebuild = %d (%v), want %d", obPos, err, ob.Position())
			}
			if n := mailCount(t, mails); n != sent {
				t.Fatalf("rebuild sent mail: %d files, was %d", n, sent)
			}
		})
	}
}

// A rebuild onto a data directory without a read-model database creates one.
func TestRebuildCreatesAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	f, _ := sqliteFixture(t, dir)
	ids := f.history(t)
	path := filepath.Join(dir, "readmodels.db")
	if _, err := projections.Rebuild(f.ctx, f.store, path, nil, projections.RebuildOptions{}, projections.NewStatus()); err != nil {
		t.Fatal(err)
	}
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := projections.NewStatus()
	if _, err := projections.NewRunner(f.ctx, f.store, db, nil, st); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Counts(); n != len(ids) {
		t.Fatalf("rebuilt status holds %d accounts, want %d", n, len(ids))
	}
}

// benchmarkLog appends N login-heavy events (default 200,000; ACCOUNTD_REBUILD_EVENTS)
// directly through eventlog.Encode: per account a registration, then logins (nine successes
// for one failure), 100 events per account. Accounts take turns, ten events at a time, so a
// batch of the log touches many accounts as a real log does, not one account's history.
func benchmarkLog(b *testing.B) (*sqlite.Store, string) {
	b.Helper()
	n := 200_000
	if v := os.Getenv("ACCOUNTD_REBUILD_EVENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	// Accounts take turns, ten events at a time, so a batch of the log touches many
	// accounts as a real log does, not one account's whole history.
	const perAccount, perTurn = 100, 10
	accounts := max(n/perAccount, 1)
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	pol := domain.PolicyInForce{MinLength: 12, HistoryDepth: 4, MaxAge: domain.Duration(90 * 24 * time.Hour)}
	for turn := 0; turn < perAccount/perTurn; turn++ {
		for a := range accounts {
			id := fmt.Sprintf("acct-%07d", a)
			var evs []domain.Event
			for i := turn * perTurn; i < (turn+1)*perTurn; i++ {
				at := t0.Add(time.Duration(i) * time.Hour)
				switch {
				case i == 0:
					evs = append(evs, domain.Event{At: at, Data: domain.AccountRegistered{AccountID: id, Email: fmt.Sprintf("staff%07d@bench.example", a), PasswordHash: "$argon2id$bench", Policy: pol}})
				case i%10 == 5:
					evs = append(evs, domain.Event{At: at, Data: domain.LoginFailed{Origin: domain.Origin{IP: "203.0.113.9", UserAgent: "bench"}, Reason: domain.ReasonInvalidCredentials, FailedAttempts: 1}})
				default:
					evs = append(evs, domain.Event{At: at, Data: domain.LoginSucceeded{Origin: domain.Origin{IP: "198.51.100.7", UserAgent: "bench"}, SessionID: fmt.Sprintf("s%d", i)}})
				}
			}
			stream := domain.AccountStream(id)
			recs, err := eventlog.Encode(stream, domain.Metadata{CommandID: fmt.Sprintf("bench-%s-%d", id, turn)}, evs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := store.Append(ctx, stream, eventstore.Any, recs...); err != nil {
				b.Fatal(err)
			}
		}
	}
	return store, dir
}

// BenchmarkRebuild measures the rebuild rate of the status projection (the one the login
// flow reads) over benchmarkLog. Target: 200,000 events/s (10 million events in under a
// minute).
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	store, dir := benchmarkLog(b)
	head, _ := store.HeadPosition(ctx)
	path := filepath.Join(dir, "readmodels.db")
	b.ResetTimer()
	start, runs := time.Now(), 0
	for b.Loop() {
		runs++
		if _, err := projections.Rebuild(ctx, store, path, nil, projections.RebuildOptions{}, projections.NewStatus()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(head)*float64(runs)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkStatusApply measures the live path's apply rate: a runner catching the status
// projection up over benchmarkLog in its own batches of 1,024 events, each read, decoded and
// committed with its checkpoint, as a server does after a restart or behind a burst.
func BenchmarkStatusApply(b *testing.B) {
	ctx := context.Background()
	store, dir := benchmarkLog(b)
	head, _ := store.HeadPosition(ctx)
	runs := 0
	for b.Loop() {
		b.StopTimer()
		db, err := projections.OpenDB(filepath.Join(dir, fmt.Sprintf("apply-%d.db", runs)))
		if err != nil {
			b.Fatal(err)
		}
		r, err := projections.NewRunner(ctx, store, db, nil, projections.NewStatus())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := r.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
		runs++
	}
	// Elapsed counts only the timed catch-ups.
	b.ReportMetric(float64(head)*float64(runs)/b.Elapsed().Seconds(), "events/s")
}
