package serve

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of the MFA sealing key (AES-256) and of the link key (HMAC-SHA256).
const KeySize = 32

// loadOrCreateKey returns the key in path, creating it with fresh random bytes (0600, in a
// 0700 directory) the first time. The file holds the raw bytes; 64 hex digits are accepted
// too, for keys an operator wrote by hand.
func loadOrCreateKey(path string, logger *slog.Logger) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate %s: %w", path, err)
		}
		won, perr := publishNew(path, key)
		if perr != nil {
			return nil, perr
		}
		if won {
			logger.Info("generated key", "path", path)
			return key, nil
		}
		data, err = os.ReadFile(path) // another node sharing the directory made it first
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	warnIfReadableByOthers(path, logger)
	return parseKey(data, path)
}

func parseKey(data []byte, source string) ([]byte, error) {
	if len(data) == KeySize {
		return data, nil
	}
	if text := strings.TrimSpace(string(data)); len(text) == 2*KeySize {
		if key, err := hex.DecodeString(text); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%s: a key is %d raw bytes or %d hex digits", source, KeySize, 2*KeySize)
}

// publishNew makes path hold data unless it exists (won=false then, path untouched):
// written and synced under a temporary name first, then linked into place, so that
// several nodes generating the key of one shared keys directory at the same moment agree
// on one, and none ever reads a half-written key.
func publishNew(path string, data []byte) (won bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync() // the new name survives a crash
		dir.Close()
	}
	return true, nil
}

// writeNew creates a file that must not exist yet, readable by the owner only, and syncs
// it: losing a generated key after a crash would make every sealed secret unreadable.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

func warnIfReadableByOthers(path string, logger *slog.Logger) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("secret file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
}
