package projections

import (
	"context"
	"sync"
	"sync/atomic"

	"accountd/eventstore"
)

// readLog sends the log to out in position order, in batches of at most size events: up to
// head with several readers at once, then on from there with one until the log is
// exhausted.
//
// Reading is the rebuild's largest stage (SQLite through database/sql and cgo), and one
// reader leaves the second core idle whenever decoding and applying wait for it. Reader r
// takes the k-th slice of positions (k*size, (k+1)*size] with ReadAll(ctx, k*size, size) for
// the k it claims; the slices are emitted in order. That covers every position up to head
// on any store: if positions have gaps, a slice's read runs past its end, and what the next
// slice repeats is dropped. Only positions up to head (committed before the rebuild began)
// are read in parallel: beyond it, a slice read before an append could miss an event that a
// later slice's read skipped past. At most window slices are held at once.
func readLog(ctx context.Context, store eventstore.Store, head uint64, size, readers, window int, out chan<- []eventstore.RecordedEvent) error {
	var last uint64
	emit := func(recs []eventstore.RecordedEvent) bool {
		i := 0
		for i < len(recs) && recs[i].Position <= last {
			i++ // repeated by an earlier slice (a store with gaps)
		}
		recs = recs[i:]
		if len(recs) == 0 {
			return true
		}
		last = recs[len(recs)-1].Position
		select {
		case out <- recs:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if readers > 1 && head > uint64(size) {
		if err := readSlices(ctx, store, head, size, readers, window, emit); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for {
		recs, err := store.ReadAll(ctx, last, size)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		if !emit(recs) {
			return ctx.Err()
		}
	}
}

// readSlices reads the slices up to head with readers goroutines and hands them to emit in
// order, each cut at head.
func readSlices(ctx context.Context, store eventstore.Store, head uint64, size, readers, window int, emit func([]eventstore.RecordedEvent) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slices := int((head + uint64(size) - 1) / uint64(size))
	type slice struct {
		recs []eventstore.RecordedEvent
		err  error
	}
	// One channel per slice in flight, taken in claim order: the emitter waits on the oldest.
	tokens := make(chan struct{}, window)
	pending := make(chan chan slice, window)
	var next atomic.Int64
	var claim sync.Mutex
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				// Claiming and queueing the slot together keeps pending in slice order.
				claim.Lock()
				k := int(next.Add(1) - 1)
				if k >= slices {
					claim.Unlock()
					<-tokens
					return
				}
				slot := make(chan slice, 1)
				pending <- slot
				claim.Unlock()
				recs, err := store.ReadAll(ctx, uint64(k)*uint64(size), size)
				n := len(recs)
				for n > 0 && recs[n-1].Position > head {
					n--
				}
				slot <- slice{recs: recs[:n], err: err}
			}
		}()
	}
	go func() { wg.Wait(); close(pending) }()
	for slot := range pending {
		s := <-slot
		<-tokens
		if s.err != nil {
			return s.err
		}
		if !emit(s.recs) {
			return ctx.Err()
		}
	}
	return nil
}
