package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"accountd/domain"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
)

// OpenDB opens the read-model database. It is rebuilt from the log whenever needed, so
// synchronous=NORMAL is enough: a lost tail is replayed from the checkpoint. A missing file
// is created 0600 (it holds e-mail and IP addresses), which SQLite's -wal and -shm copy.
// secure_delete=ON: a row an erasure deletes or rewrites is overwritten in the file, not
// left on a free page or in a cell's unused space (ForgetWAL empties the WAL after it).
// Each connection keeps its prepared statements (_stmt_cache_size): the projections run the
// same few statements for every event, and without the cache a sign-in paid about 25
// compilations of them (BENCHMARKS.md, issue 16). A cached statement is reset and
// recompiled by SQLite after a schema change, so it answers as a fresh one would.
func OpenDB(path string) (*sql.DB, error) {
	_ = sqlite.CreatePrivate(path) // an error here is reported better by the open below
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	q.Set("_secure_delete", "on")
	q.Set("_stmt_cache_size", "128")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("projections: checkpoints table: %w", err)
	}
	return db, nil
}

// ForgetWAL checkpoints the WAL into the database and truncates it to nothing, so that the
// pages an erasure rewrote keep no older image there (the WAL holds whole pages, before and
// after, until a checkpoint recycles it). A reader holding an old snapshot keeps the WAL
// busy: then the checkpoint is partial and the next one finishes it, which this reports.
func ForgetWAL(ctx context.Context, db *sql.DB) error {
	var busy, logFrames, checkpointed int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("projections: wal checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("projections: wal checkpoint: %w (%d of %d frames checkpointed)", ErrWALBusy, checkpointed, logFrames)
	}
	return nil
}

// ErrWALBusy: a reader kept the WAL from being truncated.
var ErrWALBusy = errors.New("a reader holds the WAL")

// HoldsErasure reports whether a batch holds an account's erasure, after whose commit a read
// model's WAL is emptied (ForgetWAL).
func HoldsErasure(events []eventlog.Decoded) bool {
	for _, d := range events {
		if _, ok := d.Event.Data.(domain.AccountErased); ok {
			return true
		}
	}
	return false
}

// ErrDamagedDB: SQLite's integrity check found a read-model file damaged.
var ErrDamagedDB = errors.New("projections: read-model database is damaged")

// DamagedSuffix is what a damaged read-model file is renamed with, before the UTC time.
const DamagedSuffix = ".damaged-"

// OpenRebuildableDB opens a read-model database that the log can rebuild, checking it
// first (open and PRAGMA quick_check). A damaged one ("database disk image is
// malformed", not a database) is moved aside with its -wal and -shm, kept for inspection
// as path.damaged-<UTC time at now>, and a fresh file takes its place: its projections
// find no checkpoint and replay the log. One warning says so. Never use it for a file
// the log cannot rebuild (the event log itself, the streams' checkpoints).
func OpenRebuildableDB(path string, now time.Time, logger *slog.Logger) (*sql.DB, error) {
	db, err := OpenDB(path)
	if err == nil {
		if err = quickCheck(db); err == nil {
			return db, nil
		}
		db.Close()
	}
	if !IsDamaged(err) {
		return nil, err
	}
	moved, merr := moveAside(path, now)
	if merr != nil {
		return nil, errors.Join(fmt.Errorf("projections: %s is damaged (%w) and could not be moved aside", path, err), merr)
	}
	if logger != nil {
		logger.Warn("read model damaged: moved aside, rebuilding it from the log",
			"file", path, "moved_to", moved, "error", err.Error())
	}
	return OpenDB(path)
}

// IsDamaged reports whether err says a database file is damaged or not a database.
func IsDamaged(err error) bool {
	var se sqlite3.Error
	return errors.Is(err, ErrDamagedDB) || errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// quickCheck runs PRAGMA quick_check: every b-tree page is read and checked, indexes
// are not matched against their tables (integrity_check's expensive part).
func quickCheck(db *sql.DB) error {
	rows, err := db.Query(`PRAGMA quick_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return fmt.Errorf("%w: quick_check: %s", ErrDamagedDB, strings.Join(problems, "; "))
	}
	return nil
}

// moveAside renames path, path-wal and path-shm to path.damaged-<time>, keeping SQLite's
// naming so the kept copy opens with its WAL.
func moveAside(path string, now time.Time) (string, error) {
	moved := path + DamagedSuffix + now.UTC().Format("20060102T150405Z")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, moved+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return moved, err
		}
	}
	return moved, nil
}
