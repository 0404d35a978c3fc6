package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"accountd/eventstore/archive"
	"accountd/eventstore/sqlite"
)

// BenchmarkArchiveDemoYear builds the demo's year of history (ACCOUNTD_BENCH_ACCOUNTS
// accounts, default 300, over 12 months and 5 properties), reports the bytes per event on
// disk (events.db with its tree column, the read models, then the archive), archives all
// but the default 3 months, and reports the live events.db left, and account history
// reads (ReadStream of whole account streams) from the live log before archiving against
// the same reads reaching into the archive after, in the same run. Run with -benchtime 1x:
//
//	ACCOUNTD_BENCH_ACCOUNTS=1000 go test -run '^$' -bench ArchiveDemoYear -benchtime 1x -v ./cmd/accountd/
func BenchmarkArchiveDemoYear(b *testing.B) {
	accounts := 300
	if v, err := strconv.Atoi(os.Getenv("ACCOUNTD_BENCH_ACCOUNTS")); err == nil && v > 0 {
		accounts = v
	}
	ctx := context.Background()
	for b.Loop() {
		data := filepath.Join(b.TempDir(), "data")
		end := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
		c := demoConfig{properties: 5, accounts: accounts, months: 12, seed: 1, logEvery: time.Hour, end: end, skipMail: true}
		c.store = storeFlags{data: data, sync: "normal", store: "sqlite"}
		var out, errs bytes.Buffer
		if err := demo(ctx, c, &out, &errs); err != nil {
			b.Fatalf("demo: %v\n%s", err, errs.String())
		}
		ids, _, head := demoSubjects(b, data)
		events := float64(head)
		db := filepath.Join(data, "events.db")
		treeBytes := sqlValue(b, db, "SELECT sum(length(tree)) FROM events")
		eventsBefore := fileSize(b, db)
		models := fileSize(b, filepath.Join(data, "readmodels.db")) + fileSize(b, filepath.Join(data, "security.db")) +
			fileSize(b, filepath.Join(data, "snapshots.db"))
		b.ReportMetric(events, "events")
		b.ReportMetric(float64(eventsBefore)/events, "events.db-B/event")
		b.ReportMetric(treeBytes/events, "tree-B/event")
		b.ReportMetric(float64(models)/events, "readmodels-B/event")

		readAll := func() time.Duration {
			s, err := sqlite.Open(db)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			began := time.Now()
			for _, id := range ids {
				if _, err := s.ReadStream(ctx, "account-"+id, 0, 0); err != nil {
					b.Fatalf("read account-%s: %v", id, err)
				}
			}
			return time.Since(began)
		}
		live := readAll()

		var archOut bytes.Buffer
		if code := run([]string{"archive", "--data", data, "--as-of", end.Format(time.RFC3339)}, nil, &archOut, &errs); code != 0 {
			b.Fatalf("archive: %s", errs.String())
		}
		segs, err := archive.List(filepath.Join(data, "archive"))
		if err != nil {
			b.Fatal(err)
		}
		var archived int64
		for _, s := range segs {
			archived += s.Size
		}
		through := sqlValue(b, db, "SELECT max(last) FROM archive_segments")
		cold := readAll() // a fresh store: every segment read from its file once
		b.ReportMetric(float64(archived)/through, "archive-B/event")
		b.ReportMetric(through, "archived-events")
		b.ReportMetric(float64(fileSize(b, db)), "live-events.db-B")
		b.ReportMetric(sqlValue(b, db, "SELECT count(*) FROM archive_streams"), "archive_streams-rows")
		b.ReportMetric(float64(eventsBefore), "events.db-before-B")
		b.ReportMetric(float64(live.Microseconds())/float64(len(ids)), "live-history-µs/account")
		b.ReportMetric(float64(cold.Microseconds())/float64(len(ids)), "archive-history-µs/account")
		b.ReportMetric(float64(cold)/float64(live), "archive/live")
		b.Log(strings.TrimSpace(archOut.String()))
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func sqlValue(t testing.TB, path, query string) float64 {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v sql.NullFloat64
	if err := db.QueryRow(query).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v.Float64
}
