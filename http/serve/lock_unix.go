//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package serve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockDataDir takes the data directory's exclusive lock. The server holds it while it
// runs, whatever its event log, because its read models in the directory are its own: an
// offline rebuild must not rewrite them under it. The lock is a flock on the directory
// itself, which cannot be deleted away while it holds files (a lock file could be, and
// once was, letting a second server in); DataDir/accountd.lock, the lock earlier builds
// took, is taken too, so one of them still running during an upgrade keeps a new one out.
// flock belongs to the open file and dies with the process: a crash leaves no stale lock.
func LockDataDir(dir string) (release func() error, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := flock(d, dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := flock(f, path); err != nil {
		_ = d.Close()
		return nil, err
	}
	return func() error { return errors.Join(f.Close(), d.Close()) }, nil
}

// flock takes f's exclusive lock without waiting, closing f when it cannot.
func flock(f *os.File, path string) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w (%s is locked by another accountd serve or rebuild; stop it first, or use accountd rebuild, which goes through a running server)", ErrDataDirInUse, path)
		}
		return fmt.Errorf("data directory lock %s: %w", path, err)
	}
	return nil
}
