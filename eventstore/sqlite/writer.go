package sqlite

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// writer owns the only write connection. Everything in it is touched by the writer
// goroutine alone, which is what makes the in-memory head trustworthy.
type writer struct {
	conn  *rawConn
	now   func() time.Time
	hooks testHooks

	begin, commit, rollback        *rawStmt
	savepoint, release, rollbackTo *rawStmt
	insert                         *rawStmt
	streamHead                     *rawStmt // last revision of a stream
	findID                         *rawStmt // where an event ID is stored
	streamRange                    *rawStmt // IDs of a stream from a revision, for retries
	checkpoint                     *rawStmt // the catch-up that lets the WAL restart
	treeAt                         *rawStmt // a row's stored tree hashes
	archivedHead, archivedTree     *rawStmt // the same two where the rows are archived (archive.go)
	sinceCheckpoint                int      // events committed since the writer's last checkpoint

	// The head of the log as of the last statement the writer ran: advanced per insert,
	// rolled back with a savepoint, reloaded from the file after a failed commit.
	lastPosition  uint64
	lastHash      [32]byte
	frontier      transparency.Frontier // the transparency tree's right edge, with the head
	stale         bool                  // the head must be reloaded before the next batch
	committedHead uint64                // lastPosition as of the last successful commit

	// heads caches each stream's last revision as the open transaction sees it, saving
	// the index lookup for streams that append repeatedly. Only the writer changes
	// streams, so the cache cannot go stale except through a rollback, which clears it.
	heads map[string]uint64

	// Hashing and the ID and hash arguments of the insert reuse these, so that appending
	// an event does not allocate for them: the driver copies argument bytes into SQLite
	// before the insert returns, and idArg and hashArg box the slices once, not per event.
	hasher         eventstore.ChainHasher
	idBuf          [16]byte
	hashBuf        [32]byte
	idArg, hashArg driver.Value
	leaves         transparency.LeafHasher
	treeBuf        []tlog.Hash
	savedFrontier  transparency.Frontier // the frontier before a request, for its savepoint

	scratch [3]driver.Value
}

// maxCachedHeads bounds the head cache; when full it is simply emptied, which costs one
// lookup per stream to refill.
const maxCachedHeads = 1 << 16

const insertSQL = `INSERT INTO events (position, stream, revision, event_id, type, recorded_at, data, metadata, hash, tree)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func newWriter(conn *rawConn, cfg config) (*writer, error) {
	w := &writer{conn: conn, now: cfg.now, hooks: cfg.hooks, heads: make(map[string]uint64)}
	w.idArg, w.hashArg = w.idBuf[:], w.hashBuf[:]
	for _, p := range []struct {
		stmt  **rawStmt
		query string
	}{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT request"},
		{&w.release, "RELEASE request"},
		{&w.rollbackTo, "ROLLBACK TO request"},
		{&w.insert, insertSQL},
		{&w.streamHead, "SELECT revision FROM events WHERE stream = +? ORDER BY revision DESC LIMIT 1"},
		{&w.findID, "SELECT stream, revision FROM events WHERE event_id = ?"},
		{&w.streamRange, "SELECT position, revision, event_id FROM events WHERE stream = +? AND revision >= ? ORDER BY revision LIMIT ?"},
		{&w.checkpoint, "PRAGMA wal_checkpoint(PASSIVE)"},
		{&w.treeAt, "SELECT tree FROM events WHERE position = ?"},
		{&w.archivedHead, "SELECT last_revision FROM archive_streams WHERE stream = ?"},
		{&w.archivedTree, "SELECT hash FROM archive_frontier WHERE idx = ?"},
	} {
		s, err := conn.prepare(p.query)
		if err != nil {
			_ = w.closeStatements()
			return nil, err
		}
		*p.stmt = s
	}
	if err := w.loadHead(); err != nil {
		_ = w.closeStatements()
		return nil, err
	}
	return w, nil
}

// loadHead reads the last position and hash from the file, the point the next append
// continues the chain from.
func (w *writer) loadHead() error {
	stmt, err := w.conn.prepare("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
	if err != nil {
		return err
	}
	defer stmt.close()
	dest := w.scratch[:2]
	found, err := stmt.queryRow(dest)
	if err != nil {
		return fmt.Errorf("load head: %w", err)
	}
	clear(w.heads)
	if !found {
		w.lastPosition, w.lastHash, w.stale, w.committedHead = 0, [32]byte{}, false, 0
		w.frontier = transparency.Frontier{}
		return nil
	}
	pos, okPos := dest[0].(int64)
	hash, okHash := dest[1].([]byte)
	if !okPos || pos < 1 || !okHash || len(hash) != len(w.lastHash) {
		return fmt.Errorf("load head: %w", &eventstore.ChainBrokenError{Position: uint64(max(pos, 0)), Reason: "last event's position or hash cannot be decoded"})
	}
	w.lastPosition = uint64(pos)
	copy(w.lastHash[:], hash)
	if w.frontier, err = transparency.LoadFrontier(pos, w.treeReader()); err != nil {
		return fmt.Errorf("load head: %w", err)
	}
	w.stale = false
	w.committedHead = w.lastPosition
	return nil
}

func (w *writer) closeStatements() error {
	var errs []error
	for _, s := range []*rawStmt{w.begin, w.commit, w.rollback, w.savepoint, w.release, w.rollbackTo,
		w.insert, w.streamHead, w.findID, w.streamRange, w.checkpoint, w.treeAt, w.archivedHead, w.archivedTree} {
		if s != nil {
			errs = append(errs, s.close())
		}
	}
	return errors.Join(errs...)
}

func (w *writer) close() error {
	return errors.Join(w.closeStatements(), w.conn.close())
}
