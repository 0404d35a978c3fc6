package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"accountd/eventstore"
)

// Reads go through a pool of read-only connections, each query in its own WAL snapshot.
// A snapshot holds only committed transactions, and the single writer assigns positions in
// commit order inside the transaction, so every snapshot holds exactly positions
// 1..head: a reader can never see position n+1 before n, nor a gap that a slower
// transaction fills in later (the hazard of autoincrement ids with concurrent writers).
// Every read is further capped at the durable head (see durability.go), which is itself
// such a prefix.
//
// Limits are applied by stopping the scan rather than with LIMIT ?: SQLite re-prepares a
// statement each time a LIMIT parameter is rebound. For the same reason the stream is
// compared with "+?", which keeps the index but stops the ORDER BY analysis from marking
// the parameter as plan-relevant.

const eventColumns = "position, stream, revision, event_id, type, recorded_at, data, metadata, hash"

type readStatements struct {
	all, stream, streamExists, streamHead *sql.Stmt
	tree, treeAt                          *sql.Stmt // the transparency tree column (tree.go)
}

func (r *readStatements) prepare(db *sql.DB) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&r.all, "SELECT " + eventColumns + " FROM events WHERE position > ? AND position <= ? ORDER BY position"},
		{&r.stream, "SELECT " + eventColumns + " FROM events WHERE stream = +? AND revision >= ? AND position <= ? ORDER BY revision"},
		{&r.streamExists, "SELECT EXISTS (SELECT 1 FROM events WHERE stream = +? AND position <= ?)"},
		{&r.streamHead, "SELECT revision FROM events WHERE stream = +? AND position <= ? ORDER BY revision DESC LIMIT 1"},
		{&r.tree, "SELECT position, tree FROM events WHERE position >= ? AND position <= ? ORDER BY position"},
		{&r.treeAt, "SELECT tree FROM events WHERE position = ?"},
	} {
		s, err := db.Prepare(p.query)
		if err != nil {
			_ = r.close()
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = s
	}
	return nil
}

func (r *readStatements) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{r.all, r.stream, r.streamExists, r.streamHead, r.tree, r.treeAt} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// ReadStream implements eventstore.Store. A limit below one means no limit.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	s.arch.mu.RLock()
	defer s.arch.mu.RUnlock()
	durable := int64(s.durable.Load())
	// Most reads are a cached aggregate's short tail.
	events, err := s.query(ctx, s.reads.stream, limit, 16, stream, clampInt64(from), durable)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read stream %q from %d: %w", stream, from, s.readErr(err))
	}
	if len(events) > 0 && (events[0].Revision == from || s.arch.through == 0) {
		return events, nil
	}
	if s.arch.through > 0 {
		// The revisions before the first live one, if any, are archived.
		archived, err := s.readArchivedStream(ctx, stream, from, limit)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read stream %q from %d: %w", stream, from, s.readErr(err))
		}
		if len(archived) > 0 {
			events = append(archived, events...)
			if limit > 0 && len(events) > limit {
				events = events[:limit]
			}
			return events, nil
		}
		if len(events) > 0 {
			return events, nil
		}
	}
	// Nothing from here on: either the stream is shorter, or it does not exist.
	var exists bool
	if err := s.reads.streamExists.QueryRowContext(ctx, stream, durable).Scan(&exists); err != nil {
		return nil, fmt.Errorf("sqlite: read stream %q: %w", stream, s.readErr(err))
	}
	if !exists && s.arch.through > 0 {
		_, exists, err = s.archivedHead(ctx, stream)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read stream %q: %w", stream, s.readErr(err))
		}
	}
	if !exists {
		return nil, fmt.Errorf("sqlite: read stream %q: %w", stream, eventstore.ErrStreamNotFound)
	}
	return events, nil
}

// ReadAll implements eventstore.Store. A limit below one means no limit.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	s.arch.mu.RLock()
	defer s.arch.mu.RUnlock()
	if after < s.arch.through {
		if s.closed() {
			return nil, fmt.Errorf("sqlite: read all after %d: %w", after, eventstore.ErrClosed)
		}
		archived, err := s.readArchived(after, limit)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read all after %d: %w", after, err)
		}
		if limit > 0 && len(archived) >= limit {
			return archived, nil
		}
		if limit > 0 {
			limit -= len(archived)
		}
		live, err := s.readAllLive(ctx, s.arch.through, limit)
		return append(archived, live...), err
	}
	return s.readAllLive(ctx, after, limit)
}

// readAllLive is ReadAll of the positions still in the table.
func (s *Store) readAllLive(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	durable := s.durable.Load()
	// Positions are dense, so the read returns exactly min(limit, durable-after) events:
	// sized once, a rebuild's 32,768-event batches are not copied over and over as they grow.
	// An unbounded read of a large log still starts from at most 65,536.
	expect := 0
	if durable > after {
		expect = int(min(durable-after, 1<<16))
	}
	if limit > 0 {
		expect = min(expect, limit)
	}
	events, err := s.query(ctx, s.reads.all, limit, expect, clampInt64(after), int64(durable))
	if err != nil {
		return nil, fmt.Errorf("sqlite: read all after %d: %w", after, s.readErr(err))
	}
	return events, nil
}

// HeadPosition implements eventstore.Store: the durable head, which is where reads stop.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: head position: %w", err)
	}
	if s.closed() {
		return 0, fmt.Errorf("sqlite: head position: %w", eventstore.ErrClosed)
	}
	return s.durable.Load(), nil
}

// query returns the first limit rows (all of them if limit < 1), in a slice sized for
// expect rows.
func (s *Store) query(ctx context.Context, stmt *sql.Stmt, limit, expect int, args ...any) ([]eventstore.RecordedEvent, error) {
	if s.closed() {
		return nil, eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// ctx is checked between rows rather than handed to database/sql, which watches a
	// context that can be cancelled with a goroutine of its own for every query: one more
	// goroutine for every follower on every commit (BENCHMARKS.md, issue 16).
	rows, err := stmt.QueryContext(context.WithoutCancel(ctx), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if limit < 1 {
		limit = math.MaxInt
	}
	events := make([]eventstore.RecordedEvent, 0, min(limit, expect))
	var row eventRow
	for len(events) < limit && rows.Next() {
		if len(events)%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		e, err := row.scan(rows)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return events, nil
}

// readErr turns the read pool's "database is closed" into ErrClosed for reads that raced
// with Close.
func (s *Store) readErr(err error) error {
	if s.closed() && !errors.Is(err, eventstore.ErrClosed) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", eventstore.ErrClosed, err)
	}
	return err
}

// eventRow holds the scan destinations for one row, reused across rows. The fixed-size
// columns are scanned as RawBytes and copied into the event's arrays, which costs no
// allocation; Data and Metadata need their own copies anyway.
type eventRow struct {
	position, revision, recordedAt int64
	stream, typ                    string
	id, hash                       sql.RawBytes
	data, metadata                 []byte
}

func (r *eventRow) scan(rows *sql.Rows) (eventstore.RecordedEvent, error) {
	r.data, r.metadata = nil, nil
	if err := rows.Scan(&r.position, &r.stream, &r.revision, &r.id, &r.typ, &r.recordedAt, &r.data, &r.metadata, &r.hash); err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode event: %w", err)
	}
	return r.event()
}

func (r *eventRow) event() (eventstore.RecordedEvent, error) {
	e := eventstore.RecordedEvent{
		Stream:     r.stream,
		Type:       r.typ,
		Revision:   uint64(r.revision),
		Position:   uint64(r.position),
		RecordedAt: time.Unix(0, r.recordedAt).UTC(),
		Data:       r.data,
		Metadata:   r.metadata,
	}
	if r.position < 1 || r.revision < 0 || len(r.id) != len(e.ID) || len(r.hash) != len(e.Hash) {
		return e, fmt.Errorf("decode event at position %d: malformed position, revision, ID or hash", r.position)
	}
	copy(e.ID[:], r.id)
	copy(e.Hash[:], r.hash)
	return e, nil
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
