package postgres

import (
	"context"
	"fmt"
	"time"

	"accountd/eventstore"

	"github.com/jackc/pgx/v5"
)

// Durability is pipelined, as in the SQLite backend. A batch's transaction commits with
// synchronous_commit off: PostgreSQL writes its commit record to the WAL buffers and
// releases the advisory lock without waiting for the flush, so the next batch, from this
// node or another, decides and writes while the flush is under way. The syncer then runs,
// on another connection, one small synchronous transaction that holds a transaction ID and
// touches no row; PostgreSQL flushes the WAL up to its commit record before it returns, and
// the batch's commit record comes earlier in the WAL. Only then does it raise the schema's durable head (the one row of the head
// table) to the batch's last position (flush below), so once the head row says n,
// positions 1..n are on disk whichever node wrote them. Only then are the batch's callers
// answered and the followers notified.
//
// Readers never go past the durable head: a committed but unflushed batch would vanish in
// a server crash (PostgreSQL keeps a prefix of the WAL), and its positions would later be
// given to other events, behind a follower that had already applied them. A lost tail is
// always a suffix, so the durable log is a prefix of the committed one, gapless and in
// commit order; the writer alone reads past the durable head, under the lock, to build on
// what was committed before it.
//
// Several batches that finish during one flush share the next: the syncer takes every
// job already queued and raises the head once, to the highest of them.
//
// A contended batch (turn.go), which lets the lock go with its COMMIT, sends the same two
// transactions itself in its round trip, after the unlock, with the head raised only if
// its last event is at its last position: its writers are answered a round trip sooner,
// and its writer would only have waited for the other node's turn meanwhile. Its job
// reaches the syncer flushed, and covers every job before it.

// syncTimeout bounds one flush transaction.
const syncTimeout = 30 * time.Second

// runSyncer answers the writer's batches in commit order once they are durable, then
// closes writerDone (after the writer has closed syncs).
func (s *Store) runSyncer() {
	defer close(s.writerDone)
	jobs := make([]syncJob, 0, 16)
	// The trailing notification of a raise that went untold (tell.go).
	trailing := time.NewTimer(time.Hour)
	trailing.Stop()
	armed := false
	tellUntold := func() {
		tell, wait := s.tell.trailing(time.Now())
		if tell {
			s.tellTrailing()
		}
		if wait > 0 && !armed {
			trailing.Reset(wait)
			armed = true
		}
	}
	for {
		var job syncJob
		select {
		case j, ok := <-s.syncs:
			if !ok {
				// Closing: an untold raise is told now rather than left to the poll.
				trailing.Stop()
				if s.tell.untoldNow() {
					s.tellTrailing()
				}
				return
			}
			job = j
		case <-trailing.C:
			armed = false
			tellUntold()
			continue
		}
		jobs = append(jobs[:0], job)
	drain:
		for {
			select {
			case j, ok := <-s.syncs:
				if !ok {
					break drain
				}
				jobs = append(jobs, j)
			default:
				break drain
			}
		}
		var upTo uint64
		wrote := false
		for _, j := range jobs {
			if j.err == nil && j.live > 0 {
				if j.flushed {
					// Durable, and so is every position before it: positions are given in
					// commit order, and the WAL is flushed as a prefix.
					s.durable = max(s.durable, j.upTo)
				} else {
					upTo = max(upTo, j.upTo)
				}
				wrote = wrote || j.events > 0
			}
		}
		var err error
		if upTo > s.durable {
			if err = s.flush(upTo, wrote && s.tell.due(time.Now())); err == nil {
				s.durable = upTo
			}
		}
		report := s.groupCommits.Load()
		for _, j := range jobs {
			if j.err == nil && j.live > 0 {
				if err != nil {
					// Committed, but not known to be durable: the caller must find out.
					for _, r := range j.batch {
						if r.err == nil {
							r.result, r.err = eventstore.AppendResult{}, fmt.Errorf(
								"group commit: flush up to position %d (the outcome is unknown: retry with the same event IDs): %w", upTo, err)
						}
					}
				} else if report != nil {
					// A batch of refusals and retries only is rolled back, not committed,
					// but it was decided all the same: reported with no events.
					(*report)(eventstore.GroupCommit{Appends: j.live, Events: j.events})
				}
			}
			for _, r := range j.batch {
				r.done <- struct{}{}
			}
		}
		if wrote && err == nil {
			s.changes.Notify()
		}
		clear(jobs)
		tellUntold()
	}
}

// flush makes positions up to upTo durable, in one round trip of two transactions. The
// first only takes a transaction ID (txid_current), so that it has a commit record of its
// own, and commits synchronously: PostgreSQL flushes the WAL up to its commit record, which comes
// after the batch's. It touches no row, so the flushes of several nodes share one WAL
// flush instead of queueing on the head row's lock for each other's (one fsync each, in
// turn, when the head row was raised in the flushing transaction). The second raises the
// head row (a no-op when another node raised it further) and, with notify (tell.go),
// notifies every node's followers; it need not wait for its own flush: what it says is
// already durable, and losing it in a crash only makes the head lag until the next flush.
func (s *Store) flush(upTo uint64, notify bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT txid_current()")
	b.Queue("COMMIT")
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit TO off")
	b.Queue(s.q.raiseDurable, int64(upTo))
	if notify {
		b.Queue("SELECT pg_notify($1, $2)", s.channel, fmt.Sprint(upTo))
	}
	b.Queue("COMMIT")
	return s.pool.SendBatch(ctx, b).Close()
}
