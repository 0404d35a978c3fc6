package projections

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/memory"
)

// gapped is a log whose positions are every third number (3, 6, 9...), as a store whose
// position sequence skips values would have.
type gapped struct{ eventstore.Store }

func (g gapped) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := g.Store.ReadAll(ctx, after/3, limit)
	for i := range recs {
		recs[i].Position *= 3
	}
	return recs, err
}

func (g gapped) HeadPosition(ctx context.Context) (uint64, error) {
	h, err := g.Store.HeadPosition(ctx)
	return 3 * h, err
}

// readLog hands over every event exactly once and in order, whatever the slice size, the
// number of readers and the window, on dense and gapped positions, including the events
// appended after the head it was given (read by the sequential tail).
func TestReadLogEmitsEveryEventOnceInOrder(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	for i := range 100 {
		if _, err := mem.Append(ctx, fmt.Sprintf("s-%d", i%7), eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "t", Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, store := range []struct {
		name string
		s    eventstore.Store
	}{{"dense", mem}, {"gapped", gapped{mem}}} {
		all, err := store.s.ReadAll(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		for _, r := range all {
			want = append(want, r.Position)
		}
		for _, tc := range []struct{ size, readers, window int }{{1, 1, 1}, {4, 2, 4}, {7, 3, 2}, {10, 2, 1}, {33, 4, 8}, {200, 2, 4}} {
			for _, headAt := range []int{len(all) - 1, len(all) / 2} {
				t.Run(fmt.Sprintf("%s size %d readers %d window %d head at event %d", store.name, tc.size, tc.readers, tc.window, headAt), func(t *testing.T) {
					out := make(chan []eventstore.RecordedEvent)
					errc := make(chan error, 1)
					go func() {
						errc <- readLog(ctx, store.s, all[headAt].Position, tc.size, tc.readers, tc.window, out)
						close(out)
					}()
					var got []uint64
					for recs := range out {
						if len(recs) == 0 || len(recs) > tc.size {
							t.Errorf("a batch of %d events (size %d)", len(recs), tc.size)
						}
						for _, r := range recs {
							got = append(got, r.Position)
						}
					}
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("positions:\n got %v\nwant %v", got, want)
					}
				})
			}
		}
	}
}

// A cancelled read stops, with the context's error, without leaking its readers (the race
// detector and the test's end would show a reader still writing).
func TestReadLogStopsWhenCancelled(t *testing.T) {
	mem := memory.New()
	ctx := context.Background()
	for i := range 50 {
		mem.Append(ctx, fmt.Sprint("s", i), eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "t", Data: []byte(`{}`)})
	}
	cctx, cancel := context.WithCancel(ctx)
	out := make(chan []eventstore.RecordedEvent)
	errc := make(chan error, 1)
	go func() { errc <- readLog(cctx, mem, 50, 5, 3, 2, out) }()
	<-out
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled read returned no error")
	}
}
