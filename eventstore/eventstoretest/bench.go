package eventstoretest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/eventstore"
)

// BenchmarkAppend models the command side on any backend: each of writers appends one event
// at a time to its own stream with an exact expected revision and waits for the ack before
// the next. It reports events/s; newID mints the event IDs (random or time-ordered IDs land
// differently in an ID index).
func BenchmarkAppend(b *testing.B, s eventstore.Store, writers int, newID func() uuid.UUID) {
	data := []byte(`{"amount":{"units":12345,"currency":"EUR"},"reference":"bench"}`)
	metadata := []byte(`{"correlation":"9f1c2a7e-2d4b-4c1e-9a55-0b1f6f1f0d11"}`)
	var claimed atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("acct-%d", w)
			expected := eventstore.NoStream
			for claimed.Add(1) <= int64(b.N) {
				res, err := s.Append(b.Context(), stream, expected,
					eventstore.EventData{ID: newID(), Type: "Deposited", Data: data, Metadata: metadata})
				if err != nil {
					b.Error(err)
					return
				}
				expected = eventstore.Exact(res.NextRevision)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
