package sqlite

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dbLockOffset is the byte of the database file the writer's lock covers. Advisory locks
// do not stop reads or writes of the byte; they only exclude each other. SQLite's own
// POSIX locks sit at 0x40000000 and the 512 bytes after it; a byte at 1 TiB overlaps
// none of them, so this lock and SQLite's never meet.
const dbLockOffset = 1 << 40

// lockDatabase holds an exclusive open-file-description lock (F_OFD_SETLK) on the
// database file itself: unlike a lock file, it cannot be deleted away while the store
// runs (deleting events.db would delete the log), it is per open file, so a second Open in
// the same process is refused too, it dies with the process, and closing another
// descriptor of the file does not drop it (as it would a classic fcntl lock). The file is
// created 0600 when missing, so SQLite's -wal and -shm, which copy its mode, are 0600 too.
func lockDatabase(path string) (release func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EROFS) {
			return nil, readOnly(path, err)
		}
		return nil, fmt.Errorf("open for the writer's lock: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: dbLockOffset, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w (another accountd holds a lock on %s itself)", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f.Close, nil
}
