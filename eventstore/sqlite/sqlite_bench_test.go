package sqlite

import (
	"path/filepath"
	"testing"

	"accountd/eventstore/eventstoretest"

	"github.com/google/uuid"
)

// The append benchmarks model the command side: every writer appends one event at a time
// to its own account stream with an exact expected revision, and waits for the ack before
// the next. Throughput with many writers is what group commit buys; one writer pays a
// full fsync per event.
//
// Event IDs are random (UUIDv4) unless the name says otherwise: the worst case, since each
// one lands on a random page of the event_id index. The TimeOrderedIDs variant uses UUIDv7,
// whose index inserts all go to the rightmost page.

func BenchmarkAppendDurable64Writers(b *testing.B) { benchmarkAppend(b, 64, Full, uuid.New) }
func BenchmarkAppendDurable1Writer(b *testing.B)   { benchmarkAppend(b, 1, Full, uuid.New) }
func BenchmarkAppendNormal64Writers(b *testing.B)  { benchmarkAppend(b, 64, Normal, uuid.New) }
func BenchmarkAppendNormal1Writer(b *testing.B)    { benchmarkAppend(b, 1, Normal, uuid.New) }

func BenchmarkAppendDurable64WritersTimeOrderedIDs(b *testing.B) {
	benchmarkAppend(b, 64, Full, func() uuid.UUID { return uuid.Must(uuid.NewV7()) })
}

func benchmarkAppend(b *testing.B, writers int, durability Synchronous, newID func() uuid.UUID) {
	s, err := Open(filepath.Join(b.TempDir(), "events.db"), WithSynchronous(durability))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	eventstoretest.BenchmarkAppend(b, s, writers, newID)
}
