package snapshot

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver the SQLite event store uses

	"accountd/eventstore/sqlite"
)

// SQLite keeps snapshots in their own SQLite file beside the log's (data/snapshots.db):
// its writes never take the log's write lock nor wait behind its group commit, and losing
// the file loses only time. synchronous=NORMAL: a snapshot lost to a power cut is simply
// absent. secure_delete=ON: a deleted snapshot (an erased account's, DeleteStream) is
// overwritten in the file, not left on a free page.
type SQLite struct {
	db *sql.DB
}

const sqliteSchema = `CREATE TABLE IF NOT EXISTS snapshots (
	stream   TEXT    NOT NULL,
	version  TEXT    NOT NULL,
	revision INTEGER NOT NULL,
	at_ns    INTEGER NOT NULL,
	data     BLOB    NOT NULL,
	PRIMARY KEY (stream, version, revision)
);
CREATE INDEX IF NOT EXISTS snapshots_by_time ON snapshots(stream, version, at_ns, revision);`

// OpenSQLite opens (creating when absent) the snapshot file at path.
func OpenSQLite(path string) (*SQLite, error) {
	if err := sqlite.CreatePrivate(path); err != nil {
		return nil, fmt.Errorf("snapshot: create %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_secure_delete=on&_stmt_cache_size=32")
	if err != nil {
		return nil, fmt.Errorf("snapshot: open %s: %w", path, err)
	}
	if _, err := db.Exec(sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("snapshot: schema of %s: %w", path, err)
	}
	return &SQLite{db: db}, nil
}

func (s *SQLite) Save(ctx context.Context, r Record) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO snapshots(stream, version, revision, at_ns, data) VALUES(?, ?, ?, ?, ?)`,
		r.Stream, r.Version, int64(r.Revision), r.At.UnixNano(), r.Data)
	return err
}

func (s *SQLite) Latest(ctx context.Context, stream, version string, maxRevision int64, notAfter time.Time) (Record, bool, error) {
	var rev, atNS int64
	var data []byte
	var row *sql.Row
	if notAfter.IsZero() {
		row = s.db.QueryRowContext(ctx, `SELECT revision, at_ns, data FROM snapshots
			WHERE stream = ? AND version = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`, stream, version, maxRevision)
	} else {
		// At never decreases with the revision (it is the latest time folded), so the newest
		// snapshot by time is the newest by revision: one index seek, however many there are.
		row = s.db.QueryRowContext(ctx, `SELECT revision, at_ns, data FROM snapshots INDEXED BY snapshots_by_time
			WHERE stream = ? AND version = ? AND at_ns <= ? AND revision <= ? ORDER BY at_ns DESC, revision DESC LIMIT 1`,
			stream, version, notAfter.UnixNano(), maxRevision)
	}
	err := row.Scan(&rev, &atNS, &data)
	if err == sql.ErrNoRows {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return Record{Stream: stream, Version: version, Revision: uint64(rev), At: time.Unix(0, atNS).UTC(), Data: data}, true, nil
}

func (s *SQLite) DeleteAll(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM snapshots`)
	return err
}

// DeleteStream deletes a stream's snapshots, then truncates the WAL: the deleted pages'
// old images would otherwise stay in it until the next checkpoint.
func (s *SQLite) DeleteStream(ctx context.Context, stream string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM snapshots WHERE stream = ?`, stream)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// Count is how many snapshots the file holds.
func (s *SQLite) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM snapshots`).Scan(&n)
	return n, err
}

func (s *SQLite) Close() error { return s.db.Close() }
