package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// testLog builds n events as a store would store them: chained, with their tree hashes.
func testLog(t *testing.T, n int) ([]eventstore.RecordedEvent, [][]tlog.Hash) {
	t.Helper()
	var events []eventstore.RecordedEvent
	var trees [][]tlog.Hash
	var f transparency.Frontier
	var prev [32]byte
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		e := eventstore.RecordedEvent{
			ID: uuid.New(), Stream: "account-" + string(rune('a'+i%3)), Type: "login_succeeded.v1",
			Revision: uint64(i / 3), Position: uint64(i + 1), RecordedAt: at.Add(time.Duration(i) * time.Minute),
			Data: []byte(`{"account_id":"a","ip":"sealed:xyz"}`), Metadata: []byte(`{"occurred_at":"2026-01-01T00:00:00Z"}`),
		}
		switch i % 5 {
		case 1:
			e.Metadata = nil // NULL and empty payloads come back as stored
		case 2:
			e.Data = []byte{}
		}
		e.Hash = eventstore.ChainHash(prev, e)
		prev = e.Hash
		events = append(events, e)
		trees = append(trees, f.Append(transparency.LeafHash(transparency.AppendLeaf(nil, e, transparency.ViewOf(e.ID, e.Data, e.Metadata)))))
	}
	return events, trees
}

func TestSegmentRoundTripAndContinuity(t *testing.T) {
	key, err := transparency.GenerateSigningKey("archive.test")
	if err != nil {
		t.Fatal(err)
	}
	events, trees := testLog(t, 23)
	dir := t.TempDir()
	var end End
	for _, r := range []struct{ from, to int }{{0, 7}, {7, 8}, {8, 23}} {
		seg, err := Build(events[r.from:r.to], trees[r.from:r.to], end.Hash, end.Frontier, key.Signer)
		if err != nil {
			t.Fatalf("build %d..%d: %v", r.from+1, r.to, err)
		}
		if _, err := Write(dir, seg); err != nil {
			t.Fatal(err)
		}
		if end, err = seg.End(); err != nil {
			t.Fatal(err)
		}
	}
	infos, got, err := VerifyDir(dir, key.Verifier)
	if err != nil || len(infos) != 3 || got.Position != 23 || got.Hash != events[22].Hash {
		t.Fatalf("verify: %v, %d segments, end %d", err, len(infos), got.Position)
	}
	// Everything as stored, NULL payloads included.
	var back []eventstore.RecordedEvent
	for _, info := range infos {
		s, _, err := Read(dir, info.File)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, s.Events...)
	}
	for i := range events {
		a, b := events[i], back[i]
		if a.ID != b.ID || a.Stream != b.Stream || a.Type != b.Type || a.Revision != b.Revision || a.Position != b.Position ||
			!a.RecordedAt.Equal(b.RecordedAt) || !bytes.Equal(a.Data, b.Data) || !bytes.Equal(a.Metadata, b.Metadata) ||
			(a.Data == nil) != (b.Data == nil) || (a.Metadata == nil) != (b.Metadata == nil) || a.Hash != b.Hash {
			t.Fatalf("event %d: got %+v, want %+v", i, b, a)
		}
	}
	// The root the last checkpoint signs is the tree's over the whole range.
	root, err := tlog.TreeHash(23, tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			rec, off := transparency.RecordOfStoredHash(x)
			out[i] = trees[rec][off]
		}
		return out, nil
	}))
	last, _, _ := Read(dir, infos[2].File)
	cp, _, err := transparency.OpenCheckpoint(last.Checkpoint, key.Verifier)
	if err != nil || cp.Size != 23 || cp.Hash != root {
		t.Fatalf("checkpoint %+v, %v; want size 23 root %x", cp, err, root)
	}

	// Another node's key does not verify them.
	other, _ := transparency.GenerateSigningKey("archive.test")
	if _, _, err := VerifyDir(dir, other.Verifier); !errors.Is(err, ErrBadSegment) || !strings.Contains(err.Error(), infos[0].File) {
		t.Fatalf("verify with another key: %v", err)
	}
	// A missing middle segment breaks continuity, named at the one after the gap.
	if err := os.Rename(filepath.Join(dir, infos[1].File), filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyDir(dir, key.Verifier); !errors.Is(err, ErrBadSegment) || !strings.Contains(err.Error(), infos[2].File) {
		t.Fatalf("verify with a gap: %v", err)
	}
}

// Every byte of a segment matters: changing any one of them fails Decode or Verify, with
// the file named.
func TestSegmentEveryByteIsCovered(t *testing.T) {
	key, _ := transparency.GenerateSigningKey("archive.test")
	events, trees := testLog(t, 9)
	seg, err := Build(events, trees, [32]byte{}, nil, key.Signer)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := seg.Encode()
	name := FileName(1, 9)
	for i := range file {
		b := bytes.Clone(file)
		b[i] ^= 0x01
		s, err := Decode(name, b)
		if err == nil {
			_, err = s.Verify(key.Verifier)
		}
		var se *SegmentError
		if !errors.As(err, &se) || se.File != name {
			t.Fatalf("byte %d of %d flipped: %v", i, len(file), err)
		}
	}
}

func TestBuildRefusesABrokenChain(t *testing.T) {
	key, _ := transparency.GenerateSigningKey("archive.test")
	events, trees := testLog(t, 4)
	tests := []struct {
		name   string
		break_ func()
	}{
		{"payload changed", func() { events[2].Data = []byte(`{}`) }},
		{"tree hash changed", func() { trees[1][0][0] ^= 1 }},
		{"gap", func() { events = append(events[:1:1], events[2:]...); trees = append(trees[:1:1], trees[2:]...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, trees = testLog(t, 4)
			tt.break_()
			if _, err := Build(events, trees, [32]byte{}, nil, key.Signer); !errors.Is(err, ErrBadSegment) {
				t.Fatalf("build: %v", err)
			}
		})
	}
}

// A reader decompresses one block alone, and a changed byte in it is caught by the
// frame's checksum even without the body's SHA-256.
func TestReadBlock(t *testing.T) {
	key, _ := transparency.GenerateSigningKey("archive.test")
	events, trees := testLog(t, 2*BlockEvents+17)
	seg, err := Build(events, trees, [32]byte{}, nil, key.Signer)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	info, err := Write(dir, seg)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ReadIndex(dir, info.File)
	if err != nil || len(idx.Blocks) != 3 || idx.Events != nil {
		t.Fatalf("index: %+v, %v", idx, err)
	}
	for _, p := range []uint64{1, BlockEvents, BlockEvents + 1, 2*BlockEvents + 17} {
		i := idx.BlockOf(p)
		got, tr, err := ReadBlock(dir, info.File, idx, i)
		if err != nil {
			t.Fatal(err)
		}
		k := p - idx.Blocks[i].First
		if got[k].Position != p || got[k].Hash != events[p-1].Hash || tr[k][0] != trees[p-1][0] {
			t.Fatalf("position %d: got %d", p, got[k].Position)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, info.File))
	mid := idx.Blocks[1]
	b[mid.Offset+int64(mid.Len)/2] ^= 0x10
	if err := os.WriteFile(filepath.Join(dir, info.File), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadBlock(dir, info.File, idx, 1); !errors.Is(err, ErrBadSegment) {
		t.Fatalf("read a changed block: %v", err)
	}
}
