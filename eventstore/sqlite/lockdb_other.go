//go:build !linux

package sqlite

import (
	"errors"
	"os"
)

// lockDatabase only creates a missing database file 0600 here (so SQLite's -wal and -shm,
// which copy its mode, are 0600 too). Only Linux has per-file-description byte locks that
// cannot meet SQLite's own (flock and fcntl locks interact on the BSDs and macOS): there
// the lock file of lockWriter is the only guard.
func lockDatabase(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, readOnly(path, err)
		}
		return nil, err
	}
	return func() error { return nil }, f.Close()
}
