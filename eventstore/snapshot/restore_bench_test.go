package snapshot_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/snapshot"
)

// BenchmarkRestoreHammered is what a cold load pays before reading the log's tail: the
// SQLite look-up of the newest of a long stream's snapshots (2,000 of them: a stream of
// 100,000 events), the codec's decoding of it, and both (snapshot.Restore).
//
//	go test -run '^$' -bench RestoreHammered ./eventstore/snapshot/
func BenchmarkRestoreHammered(b *testing.B) {
	ctx := context.Background()
	c, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, key())
	st, err := snapshot.OpenSQLite(filepath.Join(b.TempDir(), "snapshots.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := hammered()
	const stream, count = "account-a1", 2000
	for i := range count {
		s.Revision, s.At = uint64(50*i+4049), t0.Add(time.Duration(i)*time.Minute)
		snapshot.Save(ctx, st, c, stream, s)
	}
	rec, ok, err := st.Latest(ctx, stream, c.Version(), snapshot.NoRevisionLimit, time.Time{})
	if err != nil || !ok {
		b.Fatalf("no snapshot saved: %v", err)
	}
	b.Run("latest", func(b *testing.B) {
		for b.Loop() {
			if _, ok, err := st.Latest(ctx, stream, c.Version(), snapshot.NoRevisionLimit, time.Time{}); err != nil || !ok {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Decode(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := snapshot.Restore(ctx, st, c, stream, snapshot.NoRevisionLimit, time.Time{}); !ok {
				b.Fatal("no snapshot restored")
			}
		}
	})
}
