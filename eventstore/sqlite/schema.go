package sqlite

import (
	"database/sql/driver"
	"fmt"
)

// schemaVersion is stored in PRAGMA user_version. Bump it with every schema change and
// teach migrate the step from the previous one.
const schemaVersion = 3

// The events table is the whole log. position is the rowid, so reading by position is a
// walk of the table's own b-tree; UNIQUE(stream, revision) is both the index that reads a
// stream and the last line of defence against two events claiming one revision. There is
// no separate streams table: the stream's head is the last entry of that index, one more
// b-tree write per event would buy nothing. recorded_at holds Unix nanoseconds because the
// hash covers exactly that number; a TEXT or REAL timestamp would not round-trip it.
var schemaV1 = []string{
	`CREATE TABLE events (
		position    INTEGER PRIMARY KEY,
		stream      TEXT    NOT NULL,
		revision    INTEGER NOT NULL,
		event_id    BLOB    NOT NULL UNIQUE,
		type        TEXT    NOT NULL,
		recorded_at INTEGER NOT NULL,
		data        BLOB,
		metadata    BLOB,
		hash        BLOB    NOT NULL,
		UNIQUE (stream, revision)
	)`,
}

// Schema 2 adds the column of transparency tree hashes (tree.go): migrateTree adds it to
// a version 1 file and hashes the events already there. Schema 3 adds the archive's
// tables (archive.go), empty until the first seal.

// checkVersion refuses a file written by a newer accountd: an older binary would misread,
// or worse rewrite, a layout it does not know.
func checkVersion(c *rawConn) error {
	version, err := userVersion(c)
	if err != nil {
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("%w: file has schema version %d, this build knows up to %d; upgrade accountd",
			ErrSchemaTooNew, version, schemaVersion)
	}
	return nil
}

// migrate brings a new file to the current schema.
func migrate(c *rawConn) error {
	version, err := userVersion(c)
	if err != nil {
		return err
	}
	switch {
	case version == schemaVersion:
		return nil
	case version > schemaVersion:
		return checkVersion(c)
	case version < 0 || version > 2:
		return fmt.Errorf("unknown schema version %d", version)
	}
	if err := c.exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin schema creation: %w", err)
	}
	var steps []string
	if version == 0 {
		steps = schemaV1
	}
	for _, stmt := range steps {
		if err := c.exec(stmt); err != nil {
			_ = c.exec("ROLLBACK")
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if version < 2 {
		if err := migrateTree(c); err != nil {
			_ = c.exec("ROLLBACK")
			return fmt.Errorf("add the hash tree to schema %d: %w", version, err)
		}
	}
	for _, stmt := range archiveSchema {
		if err := c.exec(stmt); err != nil {
			_ = c.exec("ROLLBACK")
			return fmt.Errorf("add the archive tables to schema %d: %w", version, err)
		}
	}
	if err := c.exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		_ = c.exec("ROLLBACK")
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := c.exec("COMMIT"); err != nil {
		_ = c.exec("ROLLBACK")
		return fmt.Errorf("commit schema: %w", err)
	}
	return nil
}

func userVersion(c *rawConn) (int64, error) {
	stmt, err := c.prepare("PRAGMA user_version")
	if err != nil {
		return 0, err
	}
	defer stmt.close()
	dest := make([]driver.Value, 1)
	if _, err := stmt.queryRow(dest); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	v, _ := dest[0].(int64)
	return v, nil
}
