package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"
)

// BenchmarkReadStreamArchive reads a whole account stream (history) of 20 events from the
// live table, from the archive with its blocks decompressed in the cache (warm), and with
// the cache emptied before each read (cold: the segment's header and the account's blocks
// read and decompressed), in the same run, and reports the ratios to the live read. 2,000
// accounts take turns, so an account appears in about one block in four.
func BenchmarkReadStreamArchive(b *testing.B) {
	ctx := context.Background()
	key := testKey(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	s, err := Open(filepath.Join(b.TempDir(), "events.db"), WithSynchronous(Normal), WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const accounts, perAccount = 2000, 20
	payload := []byte(`{"account_id":"0190b0c2-7d2e-7c4e-9f5a-3d2b1c0a9e8f","ip":"sealed:v1:q2Xx...","user_agent":"sealed:v1:Zm9v...","property_id":"prop-001","at":"2026-01-01T00:00:00Z"}`)
	meta := []byte(`{"occurred_at":"2026-01-01T00:00:00Z","command_id":"0190b0c2-7d2e-7c4e-9f5a-3d2b1c0a9e8f"}`)
	// Accounts 0..199 act in the first half of the log only, 200..399 in the second.
	for half := range 2 {
		for i := range perAccount * accounts / 2 {
			now = now.Add(time.Minute)
			stream := fmt.Sprintf("account-%d", half*accounts/2+i%(accounts/2))
			if _, err := s.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "login_succeeded.v1", Data: payload, Metadata: meta}); err != nil {
				b.Fatal(err)
			}
		}
	}
	cut := start.Add(time.Duration(perAccount*accounts/2+1) * time.Minute)
	if _, err := s.Seal(ctx, SealOptions{Before: cut, Signers: []note.Signer{key.Signer}}); err != nil {
		b.Fatal(err)
	}
	read := func(n int, stream func(i int) string, cold bool) time.Duration {
		began := time.Now()
		for i := range n {
			if cold {
				s.arch.cacheMu.Lock()
				s.arch.indexes, s.arch.blocks = nil, nil
				s.arch.cacheMu.Unlock()
			}
			evs, err := s.ReadStream(ctx, stream(i), 0, 0)
			if err != nil || len(evs) != perAccount {
				b.Fatalf("read %s: %d events, %v", stream(i), len(evs), err)
			}
		}
		return time.Since(began)
	}
	live := func(i int) string { return fmt.Sprintf("account-%d", accounts/2+i%(accounts/2)) }
	archived := func(i int) string { return fmt.Sprintf("account-%d", i%(accounts/2)) }
	b.ResetTimer()
	var tLive, tWarm, tCold time.Duration
	for b.Loop() {
		tLive += read(100, live, false)
		tWarm += read(100, archived, false)
		tCold += read(5, archived, true)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tLive.Nanoseconds())/n/100, "live-ns/read")
	b.ReportMetric(float64(tWarm.Nanoseconds())/n/100, "archive-warm-ns/read")
	b.ReportMetric(float64(tCold.Nanoseconds())/n/5, "archive-cold-ns/read")
	b.ReportMetric(float64(tWarm)/float64(tLive), "warm/live")
	b.ReportMetric(float64(tCold)*20/float64(tLive), "cold/live") // per read: cold ran 5, live 100
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAppendNormal64WritersArchived is BenchmarkAppendNormal64Writers on a store
// whose first 20,000 events (2,000 streams) are archived: the append path is the same,
// except that a stream the writer has not seen is looked up in archive_streams too.
// Compare the two, run one after the other.
func BenchmarkAppendNormal64WritersArchived(b *testing.B) {
	ctx := context.Background()
	s, err := Open(filepath.Join(b.TempDir(), "events.db"), WithSynchronous(Normal))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 20000 {
		if _, err := s.Append(ctx, fmt.Sprintf("old-%d", i%2000), eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t", Data: []byte(`{"a":1}`)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Seal(ctx, SealOptions{Before: time.Now().Add(time.Hour), Signers: []note.Signer{testKey(b).Signer}, Vacuum: true}); err != nil {
		b.Fatal(err)
	}
	eventstoretest.BenchmarkAppend(b, s, 64, uuid.New)
}
