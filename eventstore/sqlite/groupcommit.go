package sqlite

import (
	"context"
	"fmt"
	"time"

	"accountd/eventstore"
)

// request is one Append waiting for the writer. The writer fills result and err; the
// syncer signals done once the outcome is durable. After that neither touches the request
// again, so the caller may recycle it.
type request struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	arena    []byte // owns the copies of the events' Data and Metadata
	result   eventstore.AppendResult
	err      error
	done     chan struct{} // capacity 1, so replying never blocks on a caller that left
}

// committedBatch is a finished group commit on its way to the syncer: its requests are
// decided but not yet answered, and head is the log's last position after it.
type committedBatch struct {
	requests []*request
	head     uint64
}

// lingerMax bounds how long the writer waits for appends it knows are on their way.
// Every commit rewrites the pages it touches into the WAL, so a batch of 5 costs nearly
// as much I/O per event as 5 batches of 1 would: measured on the 64-writer benchmark,
// letting batches fill cut the CPU spent per event by about a third. The wait is only
// ever for requests already counted in inFlight, so a lone writer never waits.
const lingerMax = 200 * time.Microsecond

// runWriter is the single writer goroutine. It serves batches until Close, then fails
// whatever is still queued with ErrClosed and stops the syncer.
func (s *Store) runWriter() {
	defer close(s.committed)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var batch []*request
		select {
		case <-s.closing:
			s.failQueued()
			return
		case first := <-s.requests:
			// Each batch gets its own slice: it is handed to the syncer with the requests.
			batch = make([]*request, 1, min(s.maxBatch, 64))
			batch[0] = first
		}
		if h := s.w.hooks.pickedUp; h != nil {
			h()
		}
		batch = s.fill(batch, linger)
		if err := s.fault(); err != nil {
			failAll(batch, err)
		} else {
			s.w.commitBatch(batch)
			s.ckpt.notify()
		}
		s.awaitingSync.Add(int64(len(batch)))
		s.committed <- &committedBatch{requests: batch, head: s.w.committedHead}
	}
}

// fill adds whatever is already queued, then waits (at most lingerMax) for the appends
// that have started but are not queued yet: their callers are still copying events, or
// were just answered and are coming back with the next one.
func (s *Store) fill(batch []*request, linger *time.Timer) []*request {
	for len(batch) < s.maxBatch {
		select {
		case r := <-s.requests:
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	expected := min(int(s.inFlight.Load()-s.awaitingSync.Load()), s.maxBatch)
	if len(batch) >= expected {
		return batch
	}
	linger.Reset(lingerMax)
	defer linger.Stop()
	for len(batch) < expected {
		select {
		case r := <-s.requests:
			batch = append(batch, r)
		case <-linger.C:
			return batch
		case <-s.closing:
			return batch
		}
	}
	return batch
}

func (s *Store) failQueued() {
	for {
		select {
		case r := <-s.requests:
			r.err = eventstore.ErrClosed
			s.answer(r)
		default:
			return
		}
	}
}

// answer wakes the request's caller. inFlight drops first, so the writer never waits for
// an append whose caller has already been answered.
func (s *Store) answer(r *request) {
	s.inFlight.Add(-1)
	r.done <- struct{}{}
}

// commitBatch applies every request of the batch in one transaction and leaves each
// request's outcome in it. Nothing is answered here: the syncer answers once the commit
// is durable.
func (w *writer) commitBatch(batch []*request) {
	if h := w.hooks.batch; h != nil {
		h(len(batch))
	}
	if w.stale {
		if err := w.loadHead(); err != nil {
			failAll(batch, fmt.Errorf("group commit: %w", err))
			return
		}
	}
	if w.sinceCheckpoint >= restartEvery {
		// Between transactions, so that the next one can restart the WAL (checkpoint.go).
		// A failure here costs only WAL growth; the next round tries again.
		_ = checkpoint(w.checkpoint, w.scratch[:3])
		w.sinceCheckpoint = 0
	}
	if err := w.begin.run(); err != nil {
		failAll(batch, fmt.Errorf("group commit: begin: %w", err))
		return
	}
	// One timestamp per commit: the events of a batch become visible together.
	at := time.Unix(0, w.now().UnixNano()).UTC()
	for _, r := range batch {
		// A caller that gave up before the writer got to it is not written: its Append
		// has already returned the context's error.
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if fatal := w.apply(r, at); fatal != nil {
			w.abort(batch, fmt.Errorf("group commit: %w", fatal))
			return
		}
	}
	if h := w.hooks.beforeCommit; h != nil {
		if err := h(); err != nil {
			w.abort(batch, fmt.Errorf("group commit: commit: %w", err))
			return
		}
	}
	if err := w.commit.run(); err != nil {
		w.abort(batch, fmt.Errorf("group commit: commit: %w", err))
		return
	}
	w.sinceCheckpoint += int(w.lastPosition - w.committedHead)
	w.committedHead = w.lastPosition
}

// abort rolls the transaction back and fails every request of the batch, refusals
// included: they were decided against writes that are now gone. The head is reloaded from
// the file rather than rewound in memory, because after an I/O error the file is the only
// authority on what was kept.
func (w *writer) abort(batch []*request, err error) {
	if !w.conn.conn.AutoCommit() { // SQLite may already have rolled back on its own
		_ = w.rollback.run()
	}
	w.stale = true
	clear(w.heads)
	failAll(batch, err)
}

func failAll(batch []*request, err error) {
	for _, r := range batch {
		r.result, r.err = eventstore.AppendResult{}, err
	}
}
