package archive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
)

// Info is one segment file of a directory.
type Info struct {
	File        string // base name, FileName(First, Last)
	First, Last uint64
	Size        int64
	SHA256      [32]byte // of the whole file
}

// List returns the directory's segment files in log order. A missing directory holds
// none. Files of other names (a temporary file a crash left) are ignored.
func List(dir string) ([]Info, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive: list %s: %w", dir, err)
	}
	var out []Info
	for _, e := range entries {
		first, last, ok := ParseFileName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("archive: list %s: %w", dir, err)
		}
		out = append(out, Info{File: e.Name(), First: first, Last: last, Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First < out[j].First })
	return out, nil
}

// Read reads and decodes one segment file.
func Read(dir, file string) (*Segment, [32]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, [32]byte{}, &SegmentError{File: file, Reason: err.Error()}
	}
	s, err := Decode(file, b)
	if err != nil {
		return nil, [32]byte{}, err
	}
	if name := FileName(s.First, s.Last); name != file {
		return nil, [32]byte{}, &SegmentError{File: file, Reason: fmt.Sprintf("holds positions %d..%d, which is %s", s.First, s.Last, name)}
	}
	return s, sha256.Sum256(b), nil
}

// Write stores s in dir under FileName, durably: a temporary file, fsynced, renamed into
// place, the directory fsynced. An existing segment of the same name is an error unless
// it holds the same bytes (a seal that crashed before the log recorded it, run again).
func Write(dir string, s *Segment) (Info, error) {
	b, err := s.Encode()
	if err != nil {
		return Info{}, err
	}
	info := Info{File: FileName(s.First, s.Last), First: s.First, Last: s.Last, Size: int64(len(b)), SHA256: sha256.Sum256(b)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Info{}, fmt.Errorf("archive: %w", err)
	}
	path := filepath.Join(dir, info.File)
	if old, err := os.ReadFile(path); err == nil {
		if sha256.Sum256(old) == info.SHA256 {
			return info, nil
		}
		// The same events signed again give other signature bytes: the rerun's copy wins,
		// the earlier one was never recorded by the log.
	}
	tmp, err := os.CreateTemp(dir, ".segment-*")
	if err != nil {
		return Info{}, fmt.Errorf("archive: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		return Info{}, fmt.Errorf("archive: write %s: %w", info.File, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return Info{}, fmt.Errorf("archive: write %s: %w", info.File, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return Info{}, fmt.Errorf("archive: sync %s: %w", info.File, err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("archive: write %s: %w", info.File, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Info{}, fmt.Errorf("archive: %w", err)
	}
	return info, syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("archive: sync %s: %w", dir, err)
	}
	return nil
}

// VerifyDir checks every segment of dir on its own (layout, body hash, chain, tree,
// checkpoint signature against verifiers) and that each continues the one before it, the
// first from the start of the log. It returns the segments and where the last one ends,
// which the live log must continue. The first failure is a *SegmentError naming the file.
func VerifyDir(dir string, verifiers ...note.Verifier) ([]Info, End, error) {
	infos, err := List(dir)
	if err != nil {
		return nil, End{}, err
	}
	var end End // the empty log: position 0, zero hash, empty tree edge
	for i := range infos {
		s, sum, err := Read(dir, infos[i].File)
		if err != nil {
			return infos[:i], end, err
		}
		infos[i].SHA256 = sum
		if err := s.Follows(end); err != nil {
			return infos[:i], end, err
		}
		if end, err = s.Verify(verifiers...); err != nil {
			return infos[:i], end, err
		}
	}
	return infos, end, nil
}

// ReadIndex reads a segment's header and block layout, without its events, for a reader
// that decompresses blocks one at a time (ReadBlock): only the first bytes of the file.
// It does not check the body's SHA-256 (VerifyDir does); each block's zstd frame carries
// its own checksum, which ReadBlock checks.
func ReadIndex(dir, file string) (*Segment, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, &SegmentError{File: file, Reason: err.Error()}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &SegmentError{File: file, Reason: err.Error()}
	}
	// The header is a few kilobytes: 64 KiB holds it for any segment Encode writes.
	head := make([]byte, min(fi.Size(), 64<<10))
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, &SegmentError{File: file, Reason: err.Error()}
	}
	s, _, _, _, err := decodeHeader(file, head, fi.Size())
	if err != nil {
		return nil, err
	}
	if name := FileName(s.First, s.Last); name != file {
		return nil, &SegmentError{File: file, Reason: fmt.Sprintf("holds positions %d..%d, which is %s", s.First, s.Last, name)}
	}
	return s, nil
}

// ReadBlock reads and decompresses block i of the segment s (from ReadIndex) in its file.
func ReadBlock(dir, file string, s *Segment, i int) ([]eventstore.RecordedEvent, [][]tlog.Hash, error) {
	if i < 0 || i >= len(s.Blocks) {
		return nil, nil, &SegmentError{File: file, Reason: fmt.Sprintf("no block %d", i)}
	}
	bl := s.Blocks[i]
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, nil, &SegmentError{File: file, Reason: err.Error()}
	}
	defer f.Close()
	frame := make([]byte, bl.Len)
	if _, err := f.ReadAt(frame, bl.Offset); err != nil {
		return nil, nil, &SegmentError{File: file, Reason: fmt.Sprintf("block %d: %v", i, err)}
	}
	events, trees, _, err := decodeBlock(file, s, bl, frame)
	return events, trees, err
}

// BlockOf is the index of the block holding position p of s.
func (s *Segment) BlockOf(p uint64) int { return int((p - s.First) / uint64(s.BlockEvents)) }
