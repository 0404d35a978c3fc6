package sqlite

import (
	"context"
	"fmt"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// request is one Append waiting for the writer. The writer fills result and err; the
// syncer signals done once the outcome is durable. After that neither touches the request
// again, so the caller may recycle it.
type request struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	arena    []byte              // owns the copies of the events' Data and Metadata
	views    []transparency.View // each event's leaf view, computed by the caller's goroutine
	result   eventstore.AppendResult
	wrote    bool // result describes new events, not an earlier append this one repeats
	err      error
	done     chan struct{} // capacity 1, so replying never blocks on a caller that left

	// exclusive, when set, is work the writer runs alone between two batches (a seal's
	// commit, a vacuum), in a transaction of its own when exclusiveTx.
	exclusive   func(*writer) error
	exclusiveTx bool
}

// committedBatch is a finished group commit on its way to the syncer: its requests are
// decided but not yet answered, and head is the log's last position after it.
type committedBatch struct {
	requests []*request
	head     uint64
}

// Batching. A commit writes every page it touched to the WAL, and with random event IDs
// and many streams most events touch pages of their own, so the writer's time goes mostly
// into per-event work whatever the batch size; what a batch of 8 wastes compared with a
// batch of 40 is the per-commit part, paid five times. Under load, the callers answered
// by the last fsync come straight back, a few microseconds apart, and the first of them
// would otherwise leave in a batch of its own. So after taking what is queued, the writer
// waits up to lingerMax for the appends it knows are coming: callers inside Append that
// are neither in this batch nor waiting for an fsync, that is, still copying their events
// or answered and not yet returned. It waits only when at least lingerMin more are
// expected, so a lone caller, or a handful, never waits (PostgreSQL's commit_delay and
// commit_siblings, in short). Measured on BenchmarkAppendDurable64Writers: batches of
// about 8 grew to about 35, and throughput rose from about 29,000 to 35,000 events/s.
const (
	lingerMax = 100 * time.Microsecond
	lingerMin = 4
)

// runWriter is the single writer goroutine. It serves batches until Close, then fails
// whatever is still queued with ErrClosed and stops the syncer.
func (s *Store) runWriter() {
	defer close(s.committed)
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
		case x := <-s.exclusives:
			// Alone, never part of a batch; answered by the syncer after the batches
			// before it, like any request.
			if err := s.fault(); err != nil {
				x.err = err
			} else {
				s.runExclusive(x)
			}
			s.awaitingSync.Add(1)
			s.committed <- &committedBatch{requests: []*request{x}, head: s.w.committedHead}
			continue
		}
		if h := s.w.hooks.pickedUp; h != nil {
			h()
		}
		batch = s.fill(batch)
		if err := s.fault(); err != nil {
			failAll(batch, err)
		} else {
			gc, ok := s.w.commitBatch(batch)
			s.ckpt.notify(gc.Events)
			// Before the hand-off: once the syncer answers, a caller that reads the
			// metrics must find its batch counted.
			if report := s.groupCommits.Load(); ok && report != nil {
				(*report)(gc)
			}
		}
		s.awaitingSync.Add(int64(len(batch)))
		s.committed <- &committedBatch{requests: batch, head: s.w.committedHead}
	}
}

// fill adds whatever is already queued, then lingers for the appends on their way.
func (s *Store) fill(batch []*request) []*request {
	for len(batch) < s.maxBatch {
		select {
		case r := <-s.requests:
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	expected := min(int(s.appending.Load()-s.awaitingSync.Load()), s.maxBatch)
	if expected-len(batch) < lingerMin {
		return batch
	}
	s.linger.Reset(lingerMax)
	defer s.linger.Stop()
	for len(batch) < expected {
		select {
		case r := <-s.requests:
			batch = append(batch, r)
		case <-s.linger.C:
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

func (s *Store) answer(r *request) { r.done <- struct{}{} }

// ReportGroupCommits implements eventstore.GroupCommitReporter. The report of a batch
// comes right after its COMMIT, before the syncer makes it durable and answers it.
func (s *Store) ReportGroupCommits(report func(eventstore.GroupCommit)) {
	if report == nil {
		s.groupCommits.Store(nil)
		return
	}
	s.groupCommits.Store(&report)
}

// commitBatch applies every request of the batch in one transaction and leaves each
// request's outcome in it. Nothing is answered here: the syncer answers once the commit
// is durable. It returns what the commit decided, ok=false when the batch failed as a
// whole or decided nothing (every caller had left).
func (w *writer) commitBatch(batch []*request) (gc eventstore.GroupCommit, ok bool) {
	if w.stale {
		if err := w.loadHead(); err != nil {
			failAll(batch, fmt.Errorf("group commit: %w", err))
			return gc, false
		}
	}
	if w.sinceCheckpoint >= restartEvery {
		// Between transactions, so that the next one can restart the WAL (checkpoint.go).
		// An incomplete or failed pass costs only WAL growth: the next batch tries again.
		if complete, err := checkpoint(w.checkpoint, w.scratch[:3]); complete && err == nil {
			w.sinceCheckpoint = 0
		}
	}
	if err := w.begin.run(); err != nil {
		failAll(batch, fmt.Errorf("group commit: begin: %w", err))
		return gc, false
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
			return gc, false
		}
		gc.Appends++
	}
	if h := w.hooks.beforeCommit; h != nil {
		if err := h(); err != nil {
			w.abort(batch, fmt.Errorf("group commit: commit: %w", err))
			return gc, false
		}
	}
	if err := w.commit.run(); err != nil {
		w.abort(batch, fmt.Errorf("group commit: commit: %w", err))
		return gc, false
	}
	gc.Events = int(w.lastPosition - w.committedHead)
	w.sinceCheckpoint += gc.Events
	w.committedHead = w.lastPosition
	return gc, gc.Appends > 0
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
		r.result, r.wrote, r.err = eventstore.AppendResult{}, false, err
	}
}
