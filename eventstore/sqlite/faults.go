package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mattn/go-sqlite3"

	"accountd/eventstore"
)

var (
	// ErrReadOnly: the database file (or its directory) does not take writes. Open refuses
	// it rather than accept a log every append would then fail on.
	ErrReadOnly = errors.New("sqlite: the event log is read-only")
	// ErrDamaged: SQLite reports the file as damaged or not a database. The log is the one
	// copy of the truth: nothing repairs, moves or rewrites it; restore it from a backup.
	ErrDamaged = errors.New("sqlite: the event log file is damaged")
)

// storageFault wraps err in an *eventstore.StorageError when SQLite or the OS says the
// storage itself failed: full, an I/O error, read-only. Any other error is returned as is.
func storageFault(err error) error {
	if err == nil || errors.Is(err, eventstore.ErrStorageUnavailable) {
		return err
	}
	if reason := storageReason(err); reason != "" {
		return &eventstore.StorageError{Reason: reason, Err: err}
	}
	return err
}

func storageReason(err error) string {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull:
			return eventstore.StorageFull
		case sqlite3.ErrIoErr:
			return eventstore.StorageIOError
		case sqlite3.ErrReadonly:
			return eventstore.StorageReadOnly
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return eventstore.StorageFull
	case errors.Is(err, syscall.EROFS):
		return eventstore.StorageReadOnly
	case errors.Is(err, syscall.EIO):
		return eventstore.StorageIOError
	}
	return ""
}

// isDamage reports whether err is SQLite saying the file is corrupt or not a database.
func isDamage(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// damaged words an open that failed on a damaged file: the operator must know that
// accountd leaves the log alone, and what to do instead.
func damaged(path string, err error) error {
	return fmt.Errorf("%w: %s: %v; accountd does not repair, move or rewrite the event log: "+
		"stop here, keep the file for inspection and restore the log from a backup (README, \"When something breaks\")",
		ErrDamaged, path, err)
}

// readOnly words an open refused because the log cannot be written.
func readOnly(path string, err error) error {
	return fmt.Errorf("%w: %s cannot be written (%v); make the file, its -wal and -shm files and their directory "+
		"writable by the user accountd runs as (chmod u+w, chown, or remount the volume read-write), then start again",
		ErrReadOnly, path, err)
}

// probeWritable starts a write transaction, writes the header's schema version back as
// it is, and rolls back. SQLite opens a file it may only read without complaint (every
// commit then fails with SQLITE_READONLY), and BEGIN IMMEDIATE alone passes over a
// read-only database: only a write tells. As root, file modes stop nothing, so no
// access(2) check would tell the truth either.
func probeWritable(c *rawConn) error {
	version, err := userVersion(c)
	if err != nil {
		return err
	}
	if err := c.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err = c.exec(fmt.Sprintf("PRAGMA user_version = %d", version))
	if rerr := c.exec("ROLLBACK"); err == nil {
		err = rerr
	}
	return err
}

// ProbeStorage implements eventstore.StorageProber: it writes and fsyncs a page-sized
// file next to the log and removes it again. It does not go through SQLite, whose single
// writer it must not disturb: it answers whether the file system takes writes again (free
// space, a read-write mount, no I/O error), which is what a full or failing disk took away.
// After a failed fsync of the log itself the store stays failed whatever the probe says
// (durability.go): the process must restart.
func (s *Store) ProbeStorage(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.fault(); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".accountd-probe-*")
	if err != nil {
		return storageFault(fmt.Errorf("sqlite: storage probe: %w", err))
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return storageFault(fmt.Errorf("sqlite: storage probe: %w", err))
	}
	return nil
}
