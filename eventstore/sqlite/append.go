package sqlite

import (
	"context"
	"fmt"
	"sync"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// Append implements eventstore.Store. It returns once the events are as durable as the
// store's Synchronous setting promises.
//
// Context: if ctx ends before the writer picks the request up, nothing is written and
// Append returns ctx's error. Once the writer has it, the request is part of a group
// commit and its fate is the commit's: Append still returns ctx's error at once, but the
// events may be committed. Retrying with the same event IDs reveals which, since a retry
// of a stored append returns the original result.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append: %w", err)
	}
	if s.closed() {
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w", stream, eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w", stream, err)
	}

	s.appending.Add(1)
	defer s.appending.Add(-1)
	r := newRequest(ctx, stream, expected, events)
	select {
	case s.requests <- r:
	case <-ctx.Done():
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w", stream, ctx.Err())
	case <-s.closing:
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w", stream, eventstore.ErrClosed)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		// The writer still holds r; it is not recycled.
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w (it may still commit: retry with the same event IDs to find out)", stream, ctx.Err())
	case <-s.stopped:
		select {
		case <-r.done: // answered just before the store stopped
		default: // queued after the writer's last drain: never seen, never written
			return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w", stream, eventstore.ErrClosed)
		}
	}
	res, err := r.result, r.err
	releaseRequest(r)
	if err != nil {
		// A full disk, an I/O error, a read-only file: the storage's failure, not the
		// append's (ErrStorageUnavailable), which the caller may retry as it is.
		return eventstore.AppendResult{}, fmt.Errorf("sqlite: append to %q: %w", stream, storageFault(err))
	}
	return res, nil
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// These keep one huge append from pinning its buffers in the pool forever.
const (
	maxPooledArena  = 64 << 10
	maxPooledEvents = 256
)

// newRequest copies the events' bytes into one buffer: the writer reads them after Append
// may have returned (a cancelled context), and a caller reusing its buffers then must not
// change what gets hashed and stored.
func newRequest(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) *request {
	r := requestPool.Get().(*request)
	r.ctx, r.stream, r.expected = ctx, stream, expected
	size := 0
	for i := range events {
		size += len(events[i].Data) + len(events[i].Metadata)
	}
	if cap(r.arena) < size {
		r.arena = make([]byte, 0, size)
	}
	arena := r.arena[:0]
	r.events = append(r.events[:0], events...)
	for i := range r.events {
		e := &r.events[i]
		e.Data, arena = carve(arena, e.Data)
		e.Metadata, arena = carve(arena, e.Metadata)
	}
	r.arena = arena
	// The leaf views cost a JSON decode and encode per event: done here, in parallel
	// across callers, not in the single writer.
	r.views = r.views[:0]
	for i := range r.events {
		e := &r.events[i]
		r.views = append(r.views, transparency.ViewOf(e.ID, e.Data, e.Metadata))
	}
	return r
}

// carve copies b into the arena and returns the copy, keeping nil as nil so that a nil
// payload is stored as NULL and read back as nil.
func carve(arena, b []byte) (copied, rest []byte) {
	if b == nil {
		return nil, arena
	}
	start := len(arena)
	arena = append(arena, b...)
	return arena[start:len(arena):len(arena)], arena
}

func releaseRequest(r *request) {
	if cap(r.arena) > maxPooledArena {
		r.arena = nil
	}
	if cap(r.events) > maxPooledEvents {
		r.events = nil
	}
	if cap(r.views) > maxPooledEvents {
		r.views = nil
	}
	clear(r.events)
	clear(r.views)
	*r = request{done: r.done, arena: r.arena[:0], events: r.events[:0], views: r.views[:0]}
	requestPool.Put(r)
}
