package transparency

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Signed is a checkpoint with its signed note, byte for byte as signed.
type Signed struct {
	Checkpoint
	Note []byte
}

// CheckpointLog keeps the most recent signed checkpoints as files in a folder
// (DATA/checkpoints), one note per file named by its tree size. It sits beside the event
// log, not in it: the log can be rebuilt without it, and an auditor keeps copies of
// their own elsewhere, since whoever holds both this disk and the signing key could
// re-sign anything.
type CheckpointLog struct {
	Dir  string
	Keep int // how many to keep; below one means 1000
}

const checkpointExt = ".checkpoint"

func (l CheckpointLog) path(size int64) string {
	return filepath.Join(l.Dir, fmt.Sprintf("%020d%s", size, checkpointExt))
}

// Save writes s atomically (temporary file, fsync, rename) and drops the oldest beyond Keep.
func (l CheckpointLog) Save(s Signed) error {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(l.Dir, "signing-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(s.Note); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), l.path(s.Size)); err != nil {
		return err
	}
	names, err := l.names()
	if err != nil {
		return err
	}
	keep := l.Keep
	if keep < 1 {
		keep = 1000
	}
	for len(names) > keep {
		_ = os.Remove(filepath.Join(l.Dir, names[0]))
		names = names[1:]
	}
	return nil
}

func (l CheckpointLog) names() ([]string, error) {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), checkpointExt) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // zero-padded sizes sort by size
	return names, nil
}

// List returns the kept notes, smallest tree first, unverified: callers open them with
// the keys they trust.
func (l CheckpointLog) List() ([][]byte, error) {
	names, err := l.names()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(l.Dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
