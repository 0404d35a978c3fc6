package evidence

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
	"accountd/projections/compliance"
)

// Log is the transparency log a bundle is anchored in: what an export needs of it.
type Log interface {
	// SignCheckpoint signs a checkpoint of the log as it is now and returns the note
	// exactly as signed, with its tree size and root hash.
	SignCheckpoint(ctx context.Context) (note []byte, treeSize uint64, root tlog.Hash, err error)
	// InclusionProof is the RFC 9162 audit path of the event at position (leaf
	// position-1) in the tree of treeSize leaves.
	InclusionProof(ctx context.Context, position, treeSize uint64) (tlog.RecordProof, error)
	// SignNote signs text (ending in a newline) as a note with the checkpoint's key and
	// returns the signed note.
	SignNote(text []byte) ([]byte, error)
	// VerifierKey is the checkpoint key's verifier key (name+hash+base64).
	VerifierKey() string
}

// Source is what an export reads.
type Source struct {
	Store eventstore.Store
	Log   Log
	// ReadModels holds the compliance read model; CaughtUp waits until it has applied the
	// log up to a position. The export uses it only to find the property's members.
	ReadModels *sql.DB
	CaughtUp   func(ctx context.Context, position uint64) error
	// ToolVersion is recorded in the manifest; Now dates it; Scratch ("" for the system's
	// temporary directory) holds the scratch read model the reports are derived in.
	ToolVersion string
	Now         func() time.Time
	Scratch     string
}

// Export signs a fresh checkpoint and writes to w the bundle for q anchored in it.
func Export(ctx context.Context, src Source, q compliance.Query, w io.Writer) (Manifest, error) {
	if err := q.Validate(true); err != nil {
		return Manifest{}, err
	}
	note, size, root, err := src.Log.SignCheckpoint(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("evidence: sign a checkpoint: %w", err)
	}
	if err := src.CaughtUp(ctx, size); err != nil {
		return Manifest{}, err
	}
	events, err := selectEvents(ctx, src.Store, src.ReadModels, q, size)
	if err != nil {
		return Manifest{}, fmt.Errorf("evidence: read the events: %w", err)
	}
	m := Manifest{
		Format: ManifestFormat, Tool: "accountd", ToolVersion: src.ToolVersion, PropertyID: q.PropertyID,
		From: q.From, To: q.To, GeneratedAt: src.Now().UTC(),
		Log: ManifestLog{TreeSize: size, RootHash: base64.StdEncoding.EncodeToString(root[:]), VerifierKey: src.Log.VerifierKey(), Events: len(events)},
	}
	lines, err := eventLines(ctx, src.Log, events, size, root)
	if err != nil {
		return m, err
	}
	// The reports are derived from the events as the bundle discloses them, by the code
	// the verifier runs: what the verifier re-derives is what was written.
	disclosed := make([]eventstore.RecordedEvent, len(lines))
	for i, l := range lines {
		if disclosed[i], _, err = leafEvent(l.Leaf, l.Personal); err != nil {
			return m, fmt.Errorf("evidence: event at position %d: %w", l.Position, err)
		}
	}
	files, err := derive(ctx, disclosed, q, m.GeneratedAt, src.Scratch)
	if err != nil {
		return m, err
	}
	zw := zip.NewWriter(w)
	add := func(name string, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.GeneratedAt})
		if err != nil {
			return err
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(fw, h)}
		if err := write(cw); err != nil {
			return fmt.Errorf("evidence: %s: %w", name, err)
		}
		m.Files = append(m.Files, ManifestFile{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: cw.n})
		return nil
	}
	bytesOf := func(b []byte) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(b); return err }
	}
	for _, r := range reports {
		if err := add(r.name, bytesOf(files[r.name])); err != nil {
			return m, err
		}
	}
	if err := add(FileEvents, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return m, err
	}
	if err := add(FileCheckpoint, bytesOf(note)); err != nil {
		return m, err
	}
	if err := add(FileVerifierKey, bytesOf([]byte(src.Log.VerifierKey()+"\n"))); err != nil {
		return m, err
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	mb = append(mb, '\n')
	signed, err := src.Log.SignNote(mb)
	if err != nil {
		return m, fmt.Errorf("evidence: sign the manifest: %w", err)
	}
	for name, b := range map[string][]byte{FileManifest: mb, FileManifestSig: signed[len(mb)+1:]} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.GeneratedAt})
		if err != nil {
			return m, err
		}
		if _, err := fw.Write(b); err != nil {
			return m, err
		}
	}
	return m, zw.Close()
}

// eventLines makes each event's line of events.jsonl and checks its proof on the way: an
// export that would not verify fails here, naming the position.
func eventLines(ctx context.Context, log Log, events []eventstore.RecordedEvent, size uint64, root tlog.Hash) ([]EventLine, error) {
	lines := make([]EventLine, len(events))
	for i, rec := range events {
		leaf := transparency.LeafBytes(rec)
		proof, err := log.InclusionProof(ctx, rec.Position, size)
		if err != nil {
			return nil, fmt.Errorf("evidence: inclusion proof of position %d: %w", rec.Position, err)
		}
		if err := tlog.CheckRecord(proof, int64(size), root, int64(rec.Position)-1, tlog.RecordHash(leaf)); err != nil {
			return nil, fmt.Errorf("evidence: the log's tree does not hold the event at position %d as stored: %w", rec.Position, err)
		}
		l := EventLine{Position: rec.Position, Leaf: leaf, Proof: make([][]byte, len(proof)), Personal: openings(rec)}
		for j := range proof {
			l.Proof[j] = proof[j][:]
		}
		lines[i] = l
	}
	return lines, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
