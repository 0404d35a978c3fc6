package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"accountd/eventstore"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// ReadStream implements eventstore.Store. A limit below one means no limit.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if s.closed() {
		return nil, fmt.Errorf("postgres: read stream %q: %w", stream, eventstore.ErrClosed)
	}
	events, err := s.query(ctx, s.q.readStream, stream, clampInt64(from), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream %q: %w", stream, err)
	}
	if len(events) > 0 {
		return events, nil
	}
	// Empty: either the stream is absent or the read starts past its end.
	exists := false
	if from > 0 {
		if err := s.pool.QueryRow(ctx, s.q.streamExists, stream).Scan(&exists); err != nil {
			return nil, fmt.Errorf("postgres: read stream %q: %w", stream, err)
		}
	}
	if !exists {
		return nil, fmt.Errorf("postgres: read stream %q: %w", stream, eventstore.ErrStreamNotFound)
	}
	return []eventstore.RecordedEvent{}, nil
}

// ReadAll implements eventstore.Store. A limit below one means no limit. Because appends
// commit in position order (see the package comment), a plain range scan never returns a
// position whose predecessor is still uncommitted.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if s.closed() {
		return nil, fmt.Errorf("postgres: read all after %d: %w", after, eventstore.ErrClosed)
	}
	events, err := s.query(ctx, s.q.readAll, clampInt64(after), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: read all after %d: %w", after, err)
	}
	return events, nil
}

// HeadPosition implements eventstore.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if s.closed() {
		return 0, fmt.Errorf("postgres: head position: %w", eventstore.ErrClosed)
	}
	var head int64
	if err := s.pool.QueryRow(ctx, s.q.headPosition).Scan(&head); err != nil {
		return 0, fmt.Errorf("postgres: head position: %w", err)
	}
	return uint64(head), nil
}

func (s *Store) query(ctx context.Context, sql string, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []eventstore.RecordedEvent{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEvent(rows pgx.Rows) (eventstore.RecordedEvent, error) {
	var e eventstore.RecordedEvent
	var pos, rev, at int64
	var hash []byte
	var id pgtype.UUID
	if err := rows.Scan(&pos, &e.Stream, &rev, &id, &e.Type, &at, &e.Data, &e.Metadata, &hash); err != nil {
		return e, err
	}
	e.ID, e.Position, e.Revision = id.Bytes, uint64(pos), uint64(rev)
	e.RecordedAt = time.Unix(0, at).UTC()
	if copy(e.Hash[:], hash) != len(e.Hash) {
		return e, fmt.Errorf("position %d: stored hash has %d bytes", pos, len(hash))
	}
	return e, nil
}

// verifyPage bounds each query of VerifyChain, so verifying a large log does not hold one
// snapshot (and its memory) for the whole walk.
const verifyPage = 4096

// VerifyChain implements eventstore.ChainVerifier: it walks the whole log in position
// order, recomputing every hash from the previous one, and stops at the first event that
// is missing, undecodable or whose stored hash differs. It proves nothing about events
// after the returned head having been dropped; compare the head with one recorded
// elsewhere for that.
func (s *Store) VerifyChain(ctx context.Context) (eventstore.ChainHead, error) {
	var head eventstore.ChainHead
	for {
		if s.closed() {
			return head, fmt.Errorf("postgres: verify chain: %w", eventstore.ErrClosed)
		}
		rows, err := s.pool.Query(ctx, s.q.readAll, clampInt64(head.Position), verifyPage)
		if err != nil {
			return head, fmt.Errorf("postgres: verify chain after %d: %w", head.Position, err)
		}
		n := 0
		for rows.Next() {
			n++
			want := head.Position + 1
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return head, &eventstore.ChainBrokenError{Position: want, Reason: fmt.Sprintf("row cannot be decoded: %v", err)}
			}
			if e.Position != want {
				rows.Close()
				return head, &eventstore.ChainBrokenError{Position: want, Reason: fmt.Sprintf("missing: the next stored position is %d", e.Position)}
			}
			if eventstore.ChainHash(head.Hash, e) != e.Hash {
				rows.Close()
				return head, &eventstore.ChainBrokenError{Position: want, Reason: "stored hash differs from the hash recomputed from the event"}
			}
			head = eventstore.ChainHead{Position: e.Position, Hash: e.Hash, Events: head.Events + 1}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return head, fmt.Errorf("postgres: verify chain after %d: %w", head.Position, err)
		}
		if n < verifyPage {
			return head, nil
		}
	}
}

// sqlLimit maps "no limit" to NULL, which LIMIT reads as ALL.
func sqlLimit(limit int) *int64 {
	if limit < 1 {
		return nil
	}
	l := int64(limit)
	return &l
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
