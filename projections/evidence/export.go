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

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
	"accountd/projections/compliance"
)

// Log is the transparency log a bundle is anchored in: the checkpointer that signs its
// fresh checkpoint, the tree its inclusion proofs come from, and the checkpoint key, which
// signs the manifest too.
type Log struct {
	Checkpoints *transparency.Checkpointer
	Tree        transparency.Tree
	Key         transparency.SigningKey
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
	// Disclose opens the sealed personal values the reports show (nil: a log with none
	// sealed, or a bundle that shows their tokens).
	Disclose Discloser
}

// Export signs a fresh checkpoint and writes to w the bundle for q anchored in it. The
// events stream through, one stream at a time, into events.jsonl and into the scratch read
// model the reports are derived from, so memory holds a batch, not the bundle.
func Export(ctx context.Context, src Source, q compliance.Query, w io.Writer) (Manifest, error) {
	if err := q.Validate(true); err != nil {
		return Manifest{}, err
	}
	signed, err := src.Log.Checkpoints.Sign(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("evidence: sign a checkpoint: %w", err)
	}
	size, root := uint64(signed.Size), signed.Hash
	if err := src.CaughtUp(ctx, size); err != nil {
		return Manifest{}, err
	}
	m := Manifest{
		Format: ManifestFormat, Tool: "accountd", ToolVersion: src.ToolVersion, PropertyID: q.PropertyID,
		From: q.From, To: q.To, GeneratedAt: src.Now().UTC(),
		Log: ManifestLog{TreeSize: size, RootHash: base64.StdEncoding.EncodeToString(root[:]), VerifierKey: src.Log.Key.VerifierKey},
	}
	d, err := newDeriver(src.Scratch)
	if err != nil {
		return m, err
	}
	defer d.close()
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
	tree := &memoTree{tree: src.Log.Tree.Tree, hashes: map[int64]tlog.Hash{}}
	if err := add(FileEvents, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		return eachEvent(ctx, src.Store, src.ReadModels, q, size, func(rec eventstore.RecordedEvent) error {
			line, err := eventLine(ctx, tree, rec, size, root, src.Disclose)
			if err != nil {
				return err
			}
			// The reports are derived from the event as the bundle discloses it, by the
			// code the verifier runs: what the verifier re-derives is what was written.
			disclosed, _, err := leafEvent(line.Leaf, line.Personal)
			if err != nil {
				return fmt.Errorf("event at position %d: %w", rec.Position, err)
			}
			if err := d.add(ctx, disclosed); err != nil {
				return err
			}
			m.Log.Events++
			return enc.Encode(line)
		})
	}); err != nil {
		return m, err
	}
	files, err := d.reports(ctx, q, m.GeneratedAt)
	if err != nil {
		return m, err
	}
	for _, r := range reports {
		if err := add(r.name, bytesOf(files[r.name])); err != nil {
			return m, err
		}
	}
	if err := add(FileCheckpoint, bytesOf(signed.Note)); err != nil {
		return m, err
	}
	if err := add(FileVerifierKey, bytesOf([]byte(src.Log.Key.VerifierKey+"\n"))); err != nil {
		return m, err
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	mb = append(mb, '\n')
	signedManifest, err := note.Sign(&note.Note{Text: string(mb)}, src.Log.Key.Signer)
	if err != nil {
		return m, fmt.Errorf("evidence: sign the manifest: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{FileManifest, mb}, {FileManifestSig, signedManifest[len(mb)+1:]}} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: m.GeneratedAt})
		if err != nil {
			return m, err
		}
		if _, err := fw.Write(f.b); err != nil {
			return m, err
		}
	}
	return m, zw.Close()
}

// eventLine makes an event's line of events.jsonl and checks its proof on the way: an
// export that would not verify fails here, naming the position. The proof is built from
// the memoised stored hashes directly (tlog.ProveRecord, as transparency.Tree does), so
// no event costs a query of its own for the head or its leaf.
func eventLine(ctx context.Context, tree *memoTree, rec eventstore.RecordedEvent, size uint64, root tlog.Hash, disclose Discloser) (EventLine, error) {
	leaf := transparency.LeafBytes(rec)
	r := transparency.Reader(ctx, tree)
	stored, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, int64(rec.Position)-1)})
	if err != nil {
		return EventLine{}, fmt.Errorf("evidence: leaf hash of position %d: %w", rec.Position, err)
	}
	if stored[0] != transparency.LeafHash(leaf) {
		return EventLine{}, &eventstore.TreeMismatchError{Position: rec.Position, Reason: "the event as stored is not the leaf the tree holds: the log was altered; no evidence exported"}
	}
	proof, err := tlog.ProveRecord(int64(size), int64(rec.Position)-1, r)
	if err != nil {
		return EventLine{}, fmt.Errorf("evidence: inclusion proof of position %d: %w", rec.Position, err)
	}
	p := transparency.InclusionProof{Position: int64(rec.Position), TreeSize: int64(size), LeafHash: stored[0], Proof: proof}
	if err := transparency.VerifyInclusion(p, root); err != nil {
		return EventLine{}, &eventstore.TreeMismatchError{Position: rec.Position, Reason: "the stored tree does not prove the event's leaf: " + err.Error()}
	}
	opened, err := openings(ctx, rec, disclose)
	if err != nil {
		return EventLine{}, err
	}
	l := EventLine{Position: rec.Position, Leaf: leaf, Proof: make([][]byte, len(proof)), Personal: opened}
	for j := range proof {
		l.Proof[j] = proof[j][:]
	}
	return l, nil
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
