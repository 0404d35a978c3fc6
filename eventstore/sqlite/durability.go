package sqlite

import (
	"fmt"
	"os"

	"accountd/eventstore"
)

// Durability is pipelined. SQLite's own synchronous=FULL would fsync the WAL inside
// COMMIT, leaving the single writer idle for the whole flush while the next batch waits.
// Instead the writer connection runs with synchronous=NORMAL (a commit writes its WAL
// frames and returns; SQLite still syncs around checkpoints and WAL resets), and the syncer
// goroutine fsyncs the WAL after each group commit while the writer is already applying
// the next one. A request is answered only after the fsync that covers its commit, so
// Full keeps its promise: an acknowledged append survives power loss.
//
// Between the commit and that fsync the events are in the file but not yet durable, and a
// power loss could take them back. Readers must therefore not see them: every read is
// capped at the durable head, which the syncer advances after each fsync. WAL recovery
// keeps a prefix of the commits, so the durable log is always a prefix of the committed
// one and the cap never hides a hole.
//
// If an fsync fails, the kernel may already have dropped the dirty pages: which of the
// covered appends reached the disk is unknowable. The store then fails those appends and
// every later one with the fsync error (reads keep working up to the last durable head);
// the process should be restarted, and a client retrying with the same event IDs learns
// the real outcome from the idempotency check.

// runSyncer answers committed batches in commit order, after making them durable. It
// exits when the writer closes s.committed.
func (s *Store) runSyncer() {
	defer close(s.stopped)
	pending := make([]*committedBatch, 0, 16)
	for first := range s.committed {
		// Several commits that finished during the previous fsync share the next one.
		pending = append(pending[:0], first)
	drain:
		for {
			select {
			case b, ok := <-s.committed:
				if !ok {
					break drain
				}
				pending = append(pending, b)
			default:
				break drain
			}
		}
		// After a failed fsync nothing is made durable any more, not even commits that
		// were already under way when it failed.
		head := pending[len(pending)-1].head
		advanced := false
		err := s.fault()
		if err == nil && head > s.durable.Load() {
			if err = s.syncWAL(); err != nil {
				// Whatever the OS said, the storage failed: an unavailable storage, for
				// good (until a restart), not an append's own mistake.
				err = fmt.Errorf("fsync write-ahead log: %w", err)
				if storageReason(err) == "" {
					err = &eventstore.StorageError{Reason: eventstore.StorageIOError, Err: err}
				}
				s.setFault(storageFault(err))
			} else {
				// Durable head first: the recorded revisions must never run ahead of
				// what reads return.
				s.durable.Store(head)
				s.heads.observeBatches(pending)
				advanced = true
			}
		}
		if err != nil {
			for _, b := range pending {
				failAll(b.requests, err)
			}
		}
		for _, b := range pending {
			s.awaitingSync.Add(-int64(len(b.requests)))
			for _, r := range b.requests {
				s.answer(r)
			}
		}
		clear(pending)
		if advanced {
			s.changes.Notify()
		}
	}
}

func (s *Store) syncWAL() error {
	if s.wal == nil { // Normal: SQLite syncs at checkpoints only, by choice
		return nil
	}
	if h := s.w.hooks.sync; h != nil {
		if err := h(); err != nil {
			return err
		}
	}
	return syncData(s.wal)
}

// openWAL opens the write-ahead log for the syncer and makes everything already in the
// file durable, so that the durable head can start at the last stored event: a previous
// process may have crashed with commits still in the page cache.
func openWAL(dbPath string) (*os.File, error) {
	wal, err := os.OpenFile(dbPath+"-wal", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open write-ahead log: %w", err)
	}
	if err := syncData(wal); err != nil {
		_ = wal.Close()
		return nil, fmt.Errorf("fsync write-ahead log: %w", err)
	}
	db, err := os.Open(dbPath)
	if err == nil {
		err = db.Sync()
		_ = db.Close()
	}
	if err != nil {
		_ = wal.Close()
		return nil, fmt.Errorf("fsync database: %w", err)
	}
	return wal, nil
}

func (s *Store) fault() error {
	if p := s.faultErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) setFault(err error) { s.faultErr.CompareAndSwap(nil, &err) }
