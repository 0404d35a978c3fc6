package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// The transparency tree lives in the events table itself: each row's tree column holds
// the tlog stored hashes its append created (its leaf hash, then one hash per subtree it
// completed: 32 bytes times 1 + the trailing one bits of position-1, 64 bytes on
// average). A separate table would cost two more b-tree inserts per event; a column of
// the row being inserted anyway costs only its bytes. Stored hash index i is found at
// transparency.RecordOfStoredHash(i).

var _ eventstore.HashTree = (*Store)(nil)

// treeBytes flattens stored hashes into the column's bytes without copying them.
func treeBytes(hashes []tlog.Hash) []byte {
	if len(hashes) == 0 {
		return nil
	}
	return unsafe.Slice(&hashes[0][0], len(hashes)*tlog.HashSize)
}

// storedHashAt reads the hash at offset of a row's tree column.
func storedHashAt(blob []byte, offset int) (tlog.Hash, bool) {
	var h tlog.Hash
	if len(blob) < (offset+1)*tlog.HashSize {
		return h, false
	}
	copy(h[:], blob[offset*tlog.HashSize:])
	return h, true
}

// ReadTreeHashes implements eventstore.HashTree, over the durable part of the log. A long
// run of consecutive indexes (an audit) is read as one range of rows.
func (s *Store) ReadTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if s.closed() {
		return nil, fmt.Errorf("sqlite: read tree hashes: %w", eventstore.ErrClosed)
	}
	s.arch.mu.RLock()
	defer s.arch.mu.RUnlock()
	through := int64(s.arch.through)
	if through == 0 {
		return s.readLiveTreeHashes(ctx, indexes)
	}
	// Archived records from their segments, the rest from the table.
	out := make([]tlog.Hash, len(indexes))
	var live []int64
	var at []int
	for i, x := range indexes {
		if x < 0 {
			return nil, fmt.Errorf("sqlite: read tree hash %d: negative index", x)
		}
		if rec, _ := transparency.RecordOfStoredHash(x); rec < through {
			h, err := s.archivedTree(x)
			if err != nil {
				return nil, err
			}
			out[i] = h
			continue
		}
		live = append(live, x)
		at = append(at, i)
	}
	if len(live) > 0 {
		hashes, err := s.readLiveTreeHashes(ctx, live)
		if err != nil {
			return nil, err
		}
		for k, i := range at {
			out[i] = hashes[k]
		}
	}
	return out, nil
}

// readLiveTreeHashes is ReadTreeHashes of records still in the table.
func (s *Store) readLiveTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	durable := int64(s.durable.Load())
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	lo, hi := int64(-1), int64(-1)
	for _, x := range indexes {
		if x < 0 {
			return nil, fmt.Errorf("sqlite: read tree hash %d: negative index", x)
		}
		rec, _ := transparency.RecordOfStoredHash(x)
		if lo < 0 || rec < lo {
			lo = rec
		}
		hi = max(hi, rec)
	}
	if hi >= durable {
		return nil, fmt.Errorf("sqlite: read tree hashes: index needs position %d, the log holds %d", hi+1, durable)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A bounded read, not interrupted once begun: see query.
	ctx = context.WithoutCancel(ctx)
	blobs := make(map[int64][]byte)
	if hi-lo < int64(2*len(indexes)+16) {
		rows, err := s.reads.tree.QueryContext(ctx, lo+1, hi+1)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read tree hashes: %w", s.readErr(err))
		}
		defer rows.Close()
		for rows.Next() {
			var pos int64
			var blob []byte
			if err := rows.Scan(&pos, &blob); err != nil {
				return nil, fmt.Errorf("sqlite: read tree hashes: %w", err)
			}
			blobs[pos-1] = blob
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: read tree hashes: %w", s.readErr(err))
		}
	}
	for i, x := range indexes {
		rec, offset := transparency.RecordOfStoredHash(x)
		blob, ok := blobs[rec]
		if !ok {
			if err := s.reads.treeAt.QueryRowContext(ctx, rec+1).Scan(&blob); err != nil {
				return nil, fmt.Errorf("sqlite: read tree hash %d at position %d: %w", x, rec+1, s.readErr(err))
			}
			blobs[rec] = blob
		}
		h, ok := storedHashAt(blob, offset)
		if !ok {
			return nil, fmt.Errorf("sqlite: tree hash %d: position %d stores %d bytes of tree", x, rec+1, len(blob))
		}
		out[i] = h
	}
	return out, nil
}

// treeReader reads stored hashes through the writer's connection, inside its
// transaction (loading the frontier, migrating).
func (w *writer) treeReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		dest := w.scratch[:1]
		for i, x := range indexes {
			rec, offset := transparency.RecordOfStoredHash(x)
			found, err := w.treeAt.queryRow(dest, rec+1)
			if err != nil {
				return nil, err
			}
			blob, _ := dest[0].([]byte)
			h, ok := storedHashAt(blob, offset)
			if !found {
				// An archived row: the frontier only ever needs the archive's own edge.
				if found, err = w.archivedTree.queryRow(dest, x); err != nil {
					return nil, err
				}
				blob, _ = dest[0].([]byte)
				h, ok = storedHashAt(blob, 0)
			}
			if !found || !ok {
				return nil, &eventstore.TreeMismatchError{Position: uint64(rec + 1), Reason: "its stored tree hashes are missing"}
			}
			out[i] = h
		}
		return out, nil
	})
}

// migrateTree is the step from schema 1: the tree column, filled for every event already
// stored, in one transaction.
func migrateTree(c *rawConn) error {
	if err := c.exec("ALTER TABLE events ADD COLUMN tree BLOB"); err != nil {
		return err
	}
	read, err := c.prepare("SELECT position, revision, event_id, stream, type, recorded_at, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT 4096")
	if err != nil {
		return err
	}
	defer read.close()
	update, err := c.prepare("UPDATE events SET tree = ? WHERE position = ?")
	if err != nil {
		return err
	}
	defer update.close()
	var f transparency.Frontier
	var hasher transparency.LeafHasher
	var buf []tlog.Hash
	dest := make([]driver.Value, 8)
	for {
		var page []eventstore.RecordedEvent
		err := read.queryRows(dest, func() bool {
			e := eventstore.RecordedEvent{
				Position: uint64(asInt(dest[0])), Revision: uint64(asInt(dest[1])),
				Stream: asString(dest[3]), Type: asString(dest[4]),
				RecordedAt: time.Unix(0, asInt(dest[5])).UTC(),
				Data:       clip(dest[6]), Metadata: clip(dest[7]),
			}
			id, _ := dest[2].([]byte)
			e.ID, _ = uuid.FromBytes(id)
			page = append(page, e)
			return true
		}, f.Size())
		if err != nil {
			return fmt.Errorf("read events to hash: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, e := range page {
			if e.Position != uint64(f.Size()+1) {
				return &eventstore.ChainBrokenError{Position: uint64(f.Size() + 1), Reason: "missing while building the hash tree"}
			}
			buf = f.AppendTo(buf[:0], hasher.Hash(e, transparency.ViewOf(e.ID, e.Data, e.Metadata)))
			if err := update.run(treeBytes(buf), int64(e.Position)); err != nil {
				return fmt.Errorf("store tree hashes of %d: %w", e.Position, err)
			}
		}
	}
}

func asInt(v driver.Value) int64 {
	i, _ := v.(int64)
	return i
}

// clip copies a column value the driver may reuse.
func clip(v driver.Value) []byte {
	b, ok := v.([]byte)
	if !ok {
		return nil
	}
	return append([]byte(nil), b...)
}
