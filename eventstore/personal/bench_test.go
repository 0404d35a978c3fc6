package personal_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
	"accountd/eventstore/personal"
	"accountd/eventstore/sqlite"
)

// benchEvents are login events of 64 accounts: the log's commonest event, with three
// period-sealed members, the worst case of sealing short of a registration.
func benchEvents(b *testing.B, n int) ([]string, [][]eventstore.EventData) {
	streams := make([]string, n)
	events := make([][]eventstore.EventData, n)
	for i := range n {
		streams[i] = fmt.Sprintf("account-%d", i%64)
		e, err := eventlog.Encode(streams[i], domain.Metadata{CommandID: eventlog.NewCommandID()},
			[]domain.Event{{At: jan.Add(time.Duration(i) * time.Second), Data: domain.LoginSucceeded{Origin: origin, SessionID: fmt.Sprint("s", i)}}})
		if err != nil {
			b.Fatal(err)
		}
		events[i] = e
	}
	return streams, events
}

// BenchmarkSeal measures Append and ReadAll through the seal against the bare memory
// store in the same run, keys cached (the first event of each account makes its key,
// outside the timing), and reports the ratio sealed/bare of the time per event.
func BenchmarkSeal(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(b *testing.B) eventstore.Store
	}{
		{"Memory", func(b *testing.B) eventstore.Store { return memory.New() }},
		{"SQLite", func(b *testing.B) eventstore.Store {
			s, err := sqlite.Open(filepath.Join(b.TempDir(), "events.db"), sqlite.WithSynchronous(sqlite.Normal))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		b.Run(backend.name, func(b *testing.B) { benchSeal(b, backend.open) })
	}
}

func benchSeal(b *testing.B, open func(b *testing.B) eventstore.Store) {
	b.Run("Append", func(b *testing.B) {
		streams, events := benchEvents(b, b.N+64)
		bare := open(b)
		sealed := personal.Seal(open(b), personal.NewMemory())
		for i := range 64 { // make the keys
			if _, err := sealed.Append(b.Context(), streams[i], eventstore.Any, events[i]...); err != nil {
				b.Fatal(err)
			}
			if _, err := bare.Append(b.Context(), streams[i], eventstore.Any, events[i]...); err != nil {
				b.Fatal(err)
			}
		}
		var tBare, tSealed time.Duration
		b.ResetTimer()
		for i := 64; i < b.N+64; i++ {
			// Alternated, so both see the same machine load.
			start := time.Now()
			if _, err := bare.Append(b.Context(), streams[i], eventstore.Any, events[i]...); err != nil {
				b.Fatal(err)
			}
			mid := time.Now()
			if _, err := sealed.Append(b.Context(), streams[i], eventstore.Any, events[i]...); err != nil {
				b.Fatal(err)
			}
			tSealed += time.Since(mid)
			tBare += mid.Sub(start)
		}
		report(b, tBare, tSealed)
	})
	b.Run("ReadAll", func(b *testing.B) {
		const n = 4096
		streams, events := benchEvents(b, n)
		bare := open(b)
		sealed := personal.Seal(open(b), personal.NewMemory())
		for i := range n {
			if _, err := bare.Append(b.Context(), streams[i], eventstore.Any, events[i]...); err != nil {
				b.Fatal(err)
			}
			if _, err := sealed.Append(b.Context(), streams[i], eventstore.Any, events[i]...); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := sealed.ReadAll(b.Context(), 0, 0); err != nil { // warm the caches
			b.Fatal(err)
		}
		// What sealing costs on disk: the stored data of a login, bare and sealed
		// (reported after the loop: ResetTimer drops metrics reported before it).
		size := map[string]float64{}
		for _, s := range []struct {
			name  string
			store eventstore.Store
		}{{"bare", bare}, {"sealed", sealed.Unwrap()}} {
			recs, err := s.store.ReadAll(b.Context(), 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			total := 0
			for _, r := range recs {
				total += len(r.Data)
			}
			size[s.name] = float64(total) / float64(len(recs))
		}
		var tBare, tSealed, tStored time.Duration
		b.ResetTimer()
		for i := range b.N {
			after := uint64(i*256) % n
			start := time.Now()
			if _, err := bare.ReadAll(b.Context(), after, 256); err != nil {
				b.Fatal(err)
			}
			mid := time.Now()
			if _, err := sealed.ReadAll(b.Context(), after, 256); err != nil {
				b.Fatal(err)
			}
			end := time.Now()
			// The sealed log read without opening: what the larger rows cost by themselves.
			if _, err := sealed.Unwrap().ReadAll(b.Context(), after, 256); err != nil {
				b.Fatal(err)
			}
			tStored += time.Since(end)
			tSealed += end.Sub(mid)
			tBare += mid.Sub(start)
		}
		report(b, tBare/256, tSealed/256)
		b.ReportMetric(float64(tStored.Nanoseconds())/256/float64(b.N), "stored-unopened-ns/event")
		b.ReportMetric(size["bare"], "bare-data-B/event")
		b.ReportMetric(size["sealed"], "sealed-data-B/event")
	})
}

func report(b *testing.B, bare, sealed time.Duration) {
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare-ns/event")
	b.ReportMetric(float64(sealed.Nanoseconds())/float64(b.N), "sealed-ns/event")
	b.ReportMetric(float64(sealed)/float64(max(bare, 1)), "ratio")
}
