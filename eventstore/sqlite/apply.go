package sqlite

import (
	"bytes"
	"database/sql/driver"
	"fmt"
	"time"

	"accountd/eventstore"
)

// apply runs one request inside the open group-commit transaction and records its outcome
// in r. A refusal (wrong expected revision, duplicate ID) is the request's own answer and
// leaves the transaction exactly as it found it, so the rest of the batch still commits.
// A fatal error means the transaction can no longer be trusted; the caller abandons the
// batch.
//
// The common case is one INSERT per event: the stream's head usually comes from the
// writer's cache, and stored IDs are not looked up in advance. The UNIQUE index on
// event_id finds them during the insert, and only then does apply work out whether the
// request is a retry. The outcome is the same as checking idempotency first, as
// EventStoreDB does: a retry succeeds even if its expected revision no longer holds.
func (w *writer) apply(r *request, at time.Time) (fatal error) {
	current, exists, err := w.head(r.stream)
	if err != nil {
		return err
	}
	if !r.expected.Matches(current, exists) {
		retried, err := w.retry(r)
		if err != nil || retried || r.err != nil {
			return err
		}
		r.err = fmt.Errorf("%w: expected %s, stream is at %s", eventstore.ErrWrongExpectedVersion, r.expected, describe(current, exists))
		return nil
	}

	next := uint64(0)
	if exists {
		next = current + 1
	}
	// A failed INSERT undoes only itself, so a single-event request needs no savepoint;
	// a longer one must take back the events it inserted before the one that failed.
	multi := len(r.events) > 1
	if multi {
		if err := w.savepoint.run(); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
	}
	startPosition, startHash := w.lastPosition, w.lastHash
	w.savedFrontier.CopyFrom(&w.frontier)
	positions := make([]uint64, len(r.events))
	var stream driver.Value = r.stream // boxed once for the whole request
	for i := range r.events {
		e := &r.events[i]
		rec := eventstore.RecordedEvent{
			ID:         e.ID,
			Stream:     r.stream,
			Type:       e.Type,
			Revision:   next + uint64(i),
			Position:   w.lastPosition + 1,
			RecordedAt: at,
			Data:       e.Data,
			Metadata:   e.Metadata,
		}
		hash := w.hasher.Hash(w.lastHash, rec)
		w.idBuf, w.hashBuf = e.ID, hash
		w.treeBuf = w.frontier.AppendTo(w.treeBuf[:0], w.leaves.Hash(rec, r.views[i]))
		err := w.insert.run(int64(rec.Position), stream, int64(rec.Revision), w.idArg, e.Type,
			at.UnixNano(), e.Data, e.Metadata, w.hashArg, treeBytes(w.treeBuf))
		if err != nil {
			w.lastPosition, w.lastHash = startPosition, startHash
			w.frontier.CopyFrom(&w.savedFrontier)
			if !isConstraint(err) {
				return fmt.Errorf("insert at position %d: %w", rec.Position, err)
			}
			if multi {
				if err := w.undo(); err != nil {
					return err
				}
			}
			retried, rerr := w.retry(r)
			if rerr != nil || retried {
				return rerr
			}
			if r.err == nil { // no stored ID explains the violation: not a refusal, a bug
				return fmt.Errorf("insert at position %d: %w", rec.Position, err)
			}
			return nil
		}
		w.lastPosition, w.lastHash = rec.Position, hash
		positions[i] = rec.Position
	}
	if multi {
		if err := w.release.run(); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	r.result = eventstore.AppendResult{NextRevision: next + uint64(len(r.events)) - 1, Positions: positions}
	r.wrote = true
	w.cacheHead(r.stream, r.result.NextRevision)
	return nil
}

func (w *writer) undo() error {
	if err := w.rollbackTo.run(); err != nil {
		return fmt.Errorf("rollback to savepoint: %w", err)
	}
	if err := w.release.run(); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// head returns the stream's last revision as the transaction sees it, earlier requests of
// the same batch included.
func (w *writer) head(stream string) (current uint64, exists bool, err error) {
	if rev, ok := w.heads[stream]; ok {
		return rev, true, nil
	}
	dest := w.scratch[:1]
	found, err := w.streamHead.queryRow(dest, stream)
	if err != nil {
		return 0, false, fmt.Errorf("read head of %q: %w", stream, err)
	}
	if !found {
		// A stream whose events are all archived keeps its head in archive_streams.
		found, err := w.archivedHead.queryRow(dest, stream)
		if err != nil {
			return 0, false, fmt.Errorf("read archived head of %q: %w", stream, err)
		}
		if !found {
			return 0, false, nil
		}
	}
	rev, _ := dest[0].(int64)
	w.cacheHead(stream, uint64(rev))
	return uint64(rev), true, nil
}

func (w *writer) cacheHead(stream string, revision uint64) {
	if len(w.heads) >= maxCachedHeads {
		clear(w.heads)
	}
	w.heads[stream] = revision
}

// retry decides whether r repeats an append already stored. If the first event's ID is
// stored, r is a retry when all its events sit, in order, at consecutive revisions of the
// same stream from there; the stored positions are then r's result. Any other reuse of a
// stored ID is a refusal with ErrDuplicateEventID (set in r.err). It reports true only for
// a recognised retry; the error is fatal.
func (w *writer) retry(r *request) (bool, error) {
	first := r.events[0].ID
	dest := w.scratch[:2]
	found, err := w.findID.queryRow(dest, first[:])
	if err != nil {
		return false, fmt.Errorf("look up event ID %s: %w", first, err)
	}
	if !found {
		for _, e := range r.events[1:] {
			found, err := w.findID.queryRow(dest, e.ID[:])
			if err != nil {
				return false, fmt.Errorf("look up event ID %s: %w", e.ID, err)
			}
			if found {
				r.err = fmt.Errorf("%w: %s is already stored in stream %q", eventstore.ErrDuplicateEventID, e.ID, asString(dest[0]))
				return false, nil
			}
		}
		return false, nil
	}
	if stored := asString(dest[0]); stored != r.stream {
		r.err = fmt.Errorf("%w: %s is already stored in stream %q", eventstore.ErrDuplicateEventID, first, stored)
		return false, nil
	}
	from, _ := dest[1].(int64)

	positions := make([]uint64, 0, len(r.events))
	matches := true
	row := w.scratch[:3]
	err = w.streamRange.queryRows(row, func() bool {
		i := len(positions)
		pos, _ := row[0].(int64)
		rev, _ := row[1].(int64)
		id, _ := row[2].([]byte)
		if rev != from+int64(i) || !bytes.Equal(id, r.events[i].ID[:]) {
			matches = false
			return false
		}
		positions = append(positions, uint64(pos))
		return true
	}, r.stream, from, int64(len(r.events)))
	if err != nil {
		return false, fmt.Errorf("read stored append of %s: %w", first, err)
	}
	if !matches || len(positions) != len(r.events) {
		r.err = fmt.Errorf("%w: %s was stored by an append with other events", eventstore.ErrDuplicateEventID, first)
		return false, nil
	}
	r.result = eventstore.AppendResult{NextRevision: uint64(from) + uint64(len(r.events)) - 1, Positions: positions}
	return true, nil
}

func asString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return fmt.Sprint(v)
}

func describe(current uint64, exists bool) string {
	if !exists {
		return "no stream"
	}
	return fmt.Sprintf("revision %d", current)
}
