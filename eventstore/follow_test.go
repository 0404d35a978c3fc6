package eventstore

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// silentStore serves ReadAll from a slice and never notifies, so Follow can only learn
// of new events through its fallback poll.
type silentStore struct {
	Store // unused methods panic via the nil interface
	mu    sync.Mutex
	log   []RecordedEvent
	reads atomic.Int64
}

func (s *silentStore) add() {
	s.mu.Lock()
	s.log = append(s.log, RecordedEvent{Position: uint64(len(s.log)) + 1})
	s.mu.Unlock()
}

func (s *silentStore) ReadAll(_ context.Context, after uint64, limit int) ([]RecordedEvent, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if after >= uint64(len(s.log)) {
		return nil, nil
	}
	tail := s.log[after:]
	if len(tail) > limit {
		tail = tail[:limit]
	}
	return append([]RecordedEvent(nil), tail...), nil
}

func (s *silentStore) Changes() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }

func TestFollowFallsBackToPollingAndDoesNotSpin(t *testing.T) {
	s := &silentStore{}
	for range 5 {
		s.add()
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() {
		done <- FollowPolling(ctx, s, 0, 2, 20*time.Millisecond, func(_ context.Context, events []RecordedEvent) error {
			for _, e := range events {
				got <- e.Position
			}
			return nil
		})
	}()
	for want := uint64(1); want <= 5; want++ {
		if p := <-got; p != want {
			t.Fatalf("delivered position %d, want %d", p, want)
		}
	}
	// Caught up and never notified: reads may only come from the poll ticker, so five more
	// reads span four ticks, more than three poll intervals however the first falls (a
	// spinning Follow does them in microseconds; a loaded machine only makes them slower).
	before, since := s.reads.Load(), time.Now()
	for s.reads.Load() < before+5 {
		runtime.Gosched()
	}
	if took := time.Since(since); took < 3*20*time.Millisecond {
		t.Fatalf("five idle reads in %s with a 20ms poll: Follow is spinning", took)
	}
	s.add()
	select {
	case p := <-got:
		if p != 6 {
			t.Fatalf("delivered position %d, want 6", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an event appended without notification was never delivered")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow returned %v, want context.Canceled", err)
	}
}
