package personal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver the SQLite event store uses

	"accountd/eventstore/sqlite"
)

// SQLite keeps the keys in their own SQLite file (by default data/personal-keys.db),
// never in the log's: the log is copied to backups and archives, the keys must not be.
//
// A destroyed key must leave no copy in the file: the file is created 0600,
// secure_delete=ON makes SQLite overwrite the freed bytes of the row with zeros, and
// after every destroy wal_checkpoint(TRUNCATE) writes the WAL back into the file and
// truncates it, so the page images that still held the key in the WAL are gone too. A key
// row is never deleted, only its key set to NULL (the tombstone), so no later
// get-or-create can make a new key for a destroyed subject.
type SQLite struct {
	db  *sql.DB
	now func() time.Time
}

const sqliteKeysSchema = `
CREATE TABLE IF NOT EXISTS subject_keys (
	subject      TEXT PRIMARY KEY,
	key          BLOB,             -- NULL: destroyed (a tombstone)
	created_at   INTEGER NOT NULL, -- Unix seconds
	destroyed_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS period_keys (
	month        TEXT PRIMARY KEY, -- YYYY-MM, UTC
	key          BLOB,
	created_at   INTEGER NOT NULL,
	destroyed_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS period_floor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	month TEXT NOT NULL            -- every month before it is destroyed
);`

// OpenSQLite opens (creating when absent, 0600) the key file at path.
func OpenSQLite(path string) (*SQLite, error) {
	if err := sqlite.CreatePrivate(path); err != nil {
		return nil, fmt.Errorf("personal: create %s: %w", path, err)
	}
	// One connection: the checkpoint after a destroy must not wait behind a reader of
	// this pool holding an old snapshot, and key look-ups are cached above (Cache).
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_secure_delete=on&_txlock=immediate&_stmt_cache_size=32")
	if err != nil {
		return nil, fmt.Errorf("personal: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(sqliteKeysSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("personal: schema of %s: %w", path, err)
	}
	var on int
	if err := db.QueryRow(`PRAGMA secure_delete`).Scan(&on); err != nil || on != 1 {
		db.Close()
		return nil, fmt.Errorf("personal: %s: secure_delete is not on (%d, %v)", path, on, err)
	}
	return &SQLite{db: db, now: time.Now}, nil
}

var _ Keys = (*SQLite)(nil)

func (s *SQLite) SubjectKey(ctx context.Context, subject string, create bool) ([]byte, error) {
	if err := CheckSubject(subject); err != nil {
		return nil, err
	}
	return s.getOrCreate(ctx, `subject_keys`, `subject`, subject, create, "")
}

func (s *SQLite) PeriodKey(ctx context.Context, month string, create bool) ([]byte, error) {
	if err := CheckMonth(month); err != nil {
		return nil, err
	}
	return s.getOrCreate(ctx, `period_keys`, `month`, month, create, month)
}

// getOrCreate reads the key and, when absent and asked to, inserts one in the same
// transaction (BEGIN IMMEDIATE: one writer at a time on the file).
func (s *SQLite) getOrCreate(ctx context.Context, table, column, name string, create bool, month string) ([]byte, error) {
	var key []byte
	var found bool
	read := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) error {
		err := q.QueryRowContext(ctx, `SELECT key FROM `+table+` WHERE `+column+` = ?`, name).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return nil
		}
		found = err == nil
		return err
	}
	if err := read(s.db); err != nil {
		return nil, err
	}
	if !found && month != "" {
		if below, err := s.belowFloor(ctx, s.db, month); err != nil || below {
			return nil, orDestroyed(err)
		}
	}
	switch {
	case found && key == nil:
		return nil, ErrDestroyed
	case found:
		return key, nil
	case !create:
		return nil, ErrNoKey
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if month != "" {
		if below, err := s.belowFloor(ctx, tx, month); err != nil || below {
			return nil, orDestroyed(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO `+table+`(`+column+`, key, created_at) VALUES(?, ?, ?)`, name, newKey(), s.now().Unix()); err != nil {
		return nil, err
	}
	if err := read(tx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, ErrDestroyed
	}
	return key, nil
}

func orDestroyed(err error) error {
	if err != nil {
		return err
	}
	return ErrDestroyed
}

func (s *SQLite) belowFloor(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, month string) (bool, error) {
	var floor string
	err := q.QueryRowContext(ctx, `SELECT month FROM period_floor WHERE id = 1`).Scan(&floor)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return month < floor, err
}

func (s *SQLite) DestroySubject(ctx context.Context, subject string) error {
	if err := CheckSubject(subject); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO subject_keys(subject, key, created_at, destroyed_at) VALUES(?, NULL, ?, ?)
		ON CONFLICT(subject) DO UPDATE SET key = NULL, destroyed_at = coalesce(destroyed_at, excluded.destroyed_at)`,
		subject, s.now().Unix(), s.now().Unix())
	if err != nil {
		return fmt.Errorf("personal: destroy %s: %w", subject, err)
	}
	return s.purge(ctx)
}

func (s *SQLite) DestroyPeriodsBefore(ctx context.Context, month string) (int, error) {
	if err := CheckMonth(month); err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO period_floor(id, month) VALUES(1, ?)
		ON CONFLICT(id) DO UPDATE SET month = max(month, excluded.month)`, month); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE period_keys SET key = NULL, destroyed_at = ? WHERE month < ? AND key IS NOT NULL`, s.now().Unix(), month)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int(n), s.purge(ctx)
}

// purge moves the WAL's pages into the file (where secure_delete zeroed the key) and
// truncates the WAL, so that no copy of a destroyed key stays in data/personal-keys.db-wal.
func (s *SQLite) purge(ctx context.Context) error {
	var busy, logPages, checkpointed int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &checkpointed); err != nil {
		return fmt.Errorf("personal: checkpoint after destroy: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("personal: checkpoint after destroy could not complete (busy); the WAL may still hold the key until the next one")
	}
	return nil
}

func (s *SQLite) Close() error { return s.db.Close() }
