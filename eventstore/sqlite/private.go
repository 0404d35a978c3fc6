package sqlite

import "os"

// CreatePrivate creates the database file at path 0600 when it is missing, before SQLite
// opens it: SQLite creates a missing file with the process umask (0644 commonly) and its
// -wal and -shm copy the main file's mode, while every accountd database holds e-mail and
// IP addresses or sealed secrets. An existing file keeps its mode.
func CreatePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
