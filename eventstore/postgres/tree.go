package postgres

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// As in the SQLite backend, each row's tree column holds the tlog stored hashes its
// append created; stored hash index i is at transparency.RecordOfStoredHash(i). The
// frontier is extended under the append's advisory lock, inside its transaction, so the
// tree commits or rolls back with the events whichever node writes.

func treeBytes(hashes []tlog.Hash) []byte {
	if len(hashes) == 0 {
		return nil
	}
	return append([]byte(nil), unsafe.Slice(&hashes[0][0], len(hashes)*tlog.HashSize)...)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func readTreeHashes(ctx context.Context, q querier, query string, indexes []int64) ([]tlog.Hash, error) {
	positions := make([]int64, 0, len(indexes))
	for _, x := range indexes {
		if x < 0 {
			return nil, fmt.Errorf("postgres: tree hash %d: negative index", x)
		}
		rec, _ := transparency.RecordOfStoredHash(x)
		positions = append(positions, rec+1)
	}
	rows, err := q.Query(ctx, query, positions)
	if err != nil {
		return nil, fmt.Errorf("postgres: read tree hashes: %w", err)
	}
	blobs := map[int64][]byte{}
	for rows.Next() {
		var pos int64
		var blob []byte
		if err := rows.Scan(&pos, &blob); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: read tree hashes: %w", err)
		}
		blobs[pos] = blob
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read tree hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		rec, offset := transparency.RecordOfStoredHash(x)
		blob := blobs[rec+1]
		if len(blob) < (offset+1)*tlog.HashSize {
			return nil, fmt.Errorf("postgres: tree hash %d: position %d stores %d bytes of tree", x, rec+1, len(blob))
		}
		copy(out[i][:], blob[offset*tlog.HashSize:])
	}
	return out, nil
}

// ReadTreeHashes implements eventstore.HashTree.
func (s *Store) ReadTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if s.closed() {
		return nil, fmt.Errorf("postgres: read tree hashes: %w", eventstore.ErrClosed)
	}
	return readTreeHashes(ctx, s.pool, s.q.treeAt, indexes)
}

// blobReader reads stored hashes from tree columns already fetched, by position.
func blobReader(blobs map[int64][]byte) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			rec, offset := transparency.RecordOfStoredHash(x)
			blob := blobs[rec+1]
			if len(blob) < (offset+1)*tlog.HashSize {
				return nil, &eventstore.TreeMismatchError{Position: uint64(rec + 1), Reason: "its stored tree hashes are missing"}
			}
			copy(out[i][:], blob[offset*tlog.HashSize:])
		}
		return out, nil
	})
}

// migrateTree hashes the events of a schema 1 log into the new tree column.
func (s *Store) migrateTree(ctx context.Context, tx pgx.Tx) error {
	var f transparency.Frontier
	var hasher transparency.LeafHasher
	t := pgx.Identifier{s.schema}.Sanitize() + ".events"
	for {
		rows, err := tx.Query(ctx, "SELECT position, stream, revision, event_id, type, recorded_at, data, metadata FROM "+t+
			" WHERE position > $1 ORDER BY position LIMIT 4096", f.Size())
		if err != nil {
			return err
		}
		var page []eventstore.RecordedEvent
		for rows.Next() {
			var e eventstore.RecordedEvent
			var pos, rev, at int64
			var id pgtype.UUID
			if err := rows.Scan(&pos, &e.Stream, &rev, &id, &e.Type, &at, &e.Data, &e.Metadata); err != nil {
				rows.Close()
				return err
			}
			e.Position, e.Revision, e.ID, e.RecordedAt = uint64(pos), uint64(rev), id.Bytes, time.Unix(0, at).UTC()
			page = append(page, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, e := range page {
			if e.Position != uint64(f.Size()+1) {
				return &eventstore.ChainBrokenError{Position: uint64(f.Size() + 1), Reason: "missing while building the hash tree"}
			}
			hs := f.Append(hasher.Hash(e, transparency.ViewOf(e.ID, e.Data, e.Metadata)))
			if _, err := tx.Exec(ctx, "UPDATE "+t+" SET tree = $1 WHERE position = $2", treeBytes(hs), int64(e.Position)); err != nil {
				return err
			}
		}
	}
}
