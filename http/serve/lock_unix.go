//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package serve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockDataDir takes the data directory's exclusive lock (DataDir/accountd.lock). The
// server holds it while it runs, whatever its event log, because its read models in the
// directory are its own: an offline rebuild must not rewrite them under it. flock belongs
// to the open file and dies with the process, so a crash leaves no stale lock.
func LockDataDir(dir string) (release func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrDataDirInUse, path)
		}
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	return f.Close, nil
}
