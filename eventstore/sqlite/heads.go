package sqlite

import (
	"context"
	"database/sql"
	"math"
	"sync"

	"accountd/eventstore"
)

var _ eventstore.CommittedHeads = (*Store)(nil)

// CommittedRevision implements eventstore.CommittedHeads. It answers as reads do, from
// the durable log: never a revision that ReadStream would not return yet.
//
// Streams written through this Store are known without a read: the syncer records each
// one's revision once it is durable. Others are read once and remembered. If that read
// fails, the answer is a revision no caller can hold (math.MaxInt64), so the caller reads
// the stream itself and meets the error there.
func (s *Store) CommittedRevision(stream string) (uint64, bool) {
	if rev, ok := s.heads.get(stream); ok {
		return rev, true
	}
	durable := s.durable.Load()
	var rev int64
	err := s.reads.streamHead.QueryRowContext(context.Background(), stream, int64(durable)).Scan(&rev)
	if err == sql.ErrNoRows {
		// All of a stream's events may be archived: its head is recorded with them.
		s.arch.mu.RLock()
		archived := s.arch.through > 0
		s.arch.mu.RUnlock()
		if archived {
			var ok bool
			var r uint64
			if r, ok, err = s.archivedHead(context.Background(), stream); err == nil {
				if !ok {
					return 0, false
				}
				rev = int64(r)
			}
		}
	}
	switch {
	case err == sql.ErrNoRows:
		return 0, false
	case err != nil:
		return math.MaxInt64, true
	}
	// Remember it only if nothing became durable meanwhile: a commit to this stream could
	// have been recorded already, and this older answer must not replace it.
	if s.durable.Load() == durable {
		s.heads.observe(stream, uint64(rev))
	}
	return uint64(rev), true
}

// streamHeads maps streams to their last durable revision. It is bounded like the
// writer's cache, and for the same reason simply emptied when full: a miss costs one read.
type streamHeads struct {
	mu sync.RWMutex
	m  map[string]uint64
}

func (h *streamHeads) get(stream string) (uint64, bool) {
	h.mu.RLock()
	rev, ok := h.m[stream]
	h.mu.RUnlock()
	return rev, ok
}

// observe records a revision, keeping the higher one: an answer can arrive late, but a
// stream's revision never goes down.
func (h *streamHeads) observe(stream string, rev uint64) {
	h.mu.Lock()
	h.observeLocked(stream, rev)
	h.mu.Unlock()
}

// observeBatches records what the given batches wrote, once they are durable.
func (h *streamHeads) observeBatches(batches []*committedBatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range batches {
		for _, r := range b.requests {
			if r.wrote {
				h.observeLocked(r.stream, r.result.NextRevision)
			}
		}
	}
}

func (h *streamHeads) observeLocked(stream string, rev uint64) {
	if h.m == nil || len(h.m) >= maxCachedHeads {
		h.m = make(map[string]uint64)
	}
	if cur, ok := h.m[stream]; !ok || rev > cur {
		h.m[stream] = rev
	}
}
