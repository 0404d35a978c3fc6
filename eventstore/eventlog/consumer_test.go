package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
)

// reader is a consumer's reader: it keeps its checkpoint and what it applied, and fails the
// batches it is told to.
type reader struct {
	mu      sync.Mutex
	pos     uint64
	applied []uint64
	failAt  map[uint64]int // position -> how many more batches holding it fail
	moved   chan struct{}  // closed and replaced each time pos moves
}

func newReader() *reader { return &reader{failAt: map[uint64]int{}, moved: make(chan struct{})} }

func (r *reader) checkpoint() uint64 { r.mu.Lock(); defer r.mu.Unlock(); return r.pos }

func (r *reader) handle(_ context.Context, recs []eventstore.RecordedEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range recs {
		if rec.Position <= r.pos {
			continue
		}
		if r.failAt[rec.Position] > 0 {
			r.failAt[rec.Position]--
			return fmt.Errorf("failing at %d", rec.Position)
		}
		r.applied = append(r.applied, rec.Position)
		r.pos = rec.Position
		close(r.moved)
		r.moved = make(chan struct{})
	}
	return nil
}

// waitFor waits until the reader has applied position or ctx ends.
func (r *reader) waitFor(ctx context.Context, position uint64) error {
	for {
		r.mu.Lock()
		pos, moved := r.pos, r.moved
		r.mu.Unlock()
		if pos >= position {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("at %d waiting for %d: %w", pos, position, ctx.Err())
		case <-moved:
		}
	}
}

func appendEvents(t *testing.T, s eventstore.Store, n int) {
	t.Helper()
	for range n {
		if _, err := s.Append(t.Context(), "s-"+uuid.NewString(), eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "t", Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConsumerCatchUp(t *testing.T) {
	cases := []struct {
		name  string
		batch int
		head  uint64
		want  uint64
	}{
		{"stops at the head given, inside a batch", 4, 6, 6},
		{"stops at the head given, on a batch boundary", 3, 6, 6},
		{"everything", 4, eventlog.Everything, 10},
		{"nothing before the checkpoint", 4, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := memory.New()
			appendEvents(t, store, 10)
			r := newReader()
			c := &eventlog.Consumer{Name: "test", Store: store, Batch: tc.batch, Checkpoint: r.checkpoint, Handle: r.handle}
			if err := c.CatchUp(t.Context(), tc.head); err != nil {
				t.Fatal(err)
			}
			if r.checkpoint() != tc.want || len(r.applied) != int(tc.want) {
				t.Fatalf("checkpoint %d, applied %v; want %d", r.checkpoint(), r.applied, tc.want)
			}
		})
	}
}

// A batch that fails is read again from the checkpoint: Run neither skips nor repeats an event.
func TestConsumerRunRestartsFromTheCheckpoint(t *testing.T) {
	store := memory.New()
	appendEvents(t, store, 5)
	r := newReader()
	r.failAt[3] = 2 // the batch holding position 3 fails twice
	c := &eventlog.Consumer{Name: "test", Store: store, Batch: 2, Checkpoint: r.checkpoint, Handle: r.handle}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	if err := r.waitFor(t.Context(), 5); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, store, 2) // followed live after the restarts
	if err := r.waitFor(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	want := []uint64{1, 2, 3, 4, 5, 6, 7}
	if fmt.Sprint(r.applied) != fmt.Sprint(want) {
		t.Fatalf("applied %v, want %v", r.applied, want)
	}
}

// A handler that returns without moving its checkpoint would make CatchUp loop for ever.
func TestConsumerCatchUpRefusesAHandlerThatDoesNotMove(t *testing.T) {
	store := memory.New()
	appendEvents(t, store, 3)
	c := &eventlog.Consumer{Name: "stuck", Store: store, Checkpoint: func() uint64 { return 0 },
		Handle: func(context.Context, []eventstore.RecordedEvent) error { return nil }}
	if err := c.CatchUp(t.Context(), eventlog.Everything); err == nil {
		t.Fatal("CatchUp returned nil for a handler that never moves its checkpoint")
	}
}
