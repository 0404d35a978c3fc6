package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore/transparency"
	"accountd/projections/compliance"
)

// VerifyOptions pin what a bundle is checked against. Everything else comes from the bundle.
type VerifyOptions struct {
	// VerifierKey is the key the auditor pinned (name+hash+base64). Empty: the bundle's own
	// verifier.key, which proves only that the bundle is self-consistent.
	VerifierKey string
	// Checkpoint is a signed checkpoint the auditor kept (optional). Of the same size as the
	// bundle's, its root must be the same; of another size, ConsistencyProof must prove
	// that the larger tree extends the smaller.
	Checkpoint       []byte
	ConsistencyProof *ConsistencyProof
	// Scratch ("" for the system's temporary directory) holds the scratch read model.
	Scratch string
}

// ConsistencyProof is the body of GET /v1/compliance/proofs/consistency.
type ConsistencyProof struct {
	From  uint64   `json:"from"`
	To    uint64   `json:"to"`
	Proof [][]byte `json:"proof"`
}

// Verified is what a bundle that verified (or did not) says of itself.
type Verified struct {
	Manifest Manifest
	// PinnedKey is false when the bundle's own verifier.key was used.
	PinnedKey bool
	Events    int
	// Rows counts the report rows re-derived from the events, per file.
	Rows map[string]int
}

// Mismatch lists everything in a bundle that does not verify.
type Mismatch struct{ Problems []string }

func (e *Mismatch) Error() string {
	return fmt.Sprintf("evidence bundle does not verify (%d problem(s)):\n  - %s", len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// RepeatedEntryError is a bundle holding two entries of one name (two manifest.json, say):
// a zip allows it and readers disagree on which copy is the file (the first, the last),
// so such a bundle does not verify, whatever the copies hold.
type RepeatedEntryError struct{ Names []string }

func (e *RepeatedEntryError) Error() string {
	return fmt.Sprintf("evidence bundle does not verify: repeated entry name(s) %s (a bundle holds each file once; which copy is the bundle's cannot be decided)",
		strings.Join(e.Names, ", "))
}

// Verify checks a bundle with no access to the log: the manifest's and the checkpoint's
// signatures, every file against the manifest, every event's inclusion proof against the
// checkpoint, each stream's events complete from revision 0, and then every row of every
// report against the rows the compliance projection's own code derives from those events.
// A bundle that does not verify returns *Mismatch naming each problem (a report row by
// file, row number and key), or *RepeatedEntryError, before anything is read, when an
// entry name is repeated; other errors mean the bundle could not be read at all.
func Verify(ctx context.Context, r io.ReaderAt, size int64, opt VerifyOptions) (Verified, error) {
	var v Verified
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return v, fmt.Errorf("open bundle: %w", err)
	}
	if names := repeatedNames(zr.File); len(names) > 0 {
		return v, &RepeatedEntryError{Names: names}
	}
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	// Every file is hashed as it streams; only the small ones and the reports (compared
	// row by row) are kept. events.jsonl is read again, line by line, further down.
	kept := map[string]bool{FileManifest: true, FileManifestSig: true, FileCheckpoint: true, FileVerifierKey: true}
	for _, r := range reports {
		kept[r.name] = true
	}
	entries := map[string]*zip.File{}
	sums := map[string]fileSum{}
	files := map[string][]byte{}
	for _, f := range zr.File {
		entries[f.Name] = f
		var buf bytes.Buffer
		var keep io.Writer = io.Discard
		if kept[f.Name] {
			keep = &buf
		}
		h := sha256.New()
		n, err := readEntry(f, io.MultiWriter(h, keep))
		if err != nil {
			fail("%s: cannot be read intact (the file was altered): %v", f.Name, err)
			continue
		}
		sums[f.Name] = fileSum{sha256: hex.EncodeToString(h.Sum(nil)), bytes: n}
		if kept[f.Name] {
			files[f.Name] = buf.Bytes()
		}
	}
	mb, ok := files[FileManifest]
	if !ok {
		return v, &Mismatch{append(problems, FileManifest+": missing from the bundle")}
	}
	m := &v.Manifest
	if err := json.Unmarshal(mb, m); err != nil {
		return v, &Mismatch{append(problems, FileManifest+": not a valid manifest: "+err.Error())}
	}
	if m.Format != ManifestFormat {
		fail("%s: format %q, this tool reads %q", FileManifest, m.Format, ManifestFormat)
	}

	key := opt.VerifierKey
	v.PinnedKey = key != ""
	if !v.PinnedKey {
		key = strings.TrimSpace(string(files[FileVerifierKey]))
	} else if bk := strings.TrimSpace(string(files[FileVerifierKey])); bk != key {
		fail("%s: the bundle's verifier key %q is not the pinned key %q", FileVerifierKey, bk, key)
	}
	verifier, err := transparency.ParseVerifierKey(key)
	if err != nil {
		return v, &Mismatch{append(problems, fmt.Sprintf("verifier key %q: %v", key, err))}
	}
	if _, err := note.Open(append(append(append([]byte(nil), mb...), '\n'), files[FileManifestSig]...), note.VerifierList(verifier)); err != nil {
		fail("%s: the manifest's signature does not verify with key %s: %v (the manifest was rewritten, or signed by another key)", FileManifestSig, verifier.Name(), err)
	}
	problems = append(problems, checkFiles(m, sums)...)

	tree, err := openCheckpoint(files[FileCheckpoint], verifier)
	treeOK := err == nil
	if !treeOK {
		fail("%s: %v", FileCheckpoint, err)
	} else if tree.Size != int64(m.Log.TreeSize) || base64.StdEncoding.EncodeToString(tree.Hash[:]) != m.Log.RootHash {
		fail("%s: tree %d %s, the manifest says %d %s", FileCheckpoint, tree.Size, tree.Hash, m.Log.TreeSize, m.Log.RootHash)
	}
	if len(opt.Checkpoint) > 0 && treeOK {
		problems = append(problems, checkKept(opt.Checkpoint, opt.ConsistencyProof, verifier, tree)...)
	}

	d, err := newDeriver(opt.Scratch)
	if err != nil {
		return v, err
	}
	defer d.close()
	derivable := true
	if f, ok := entries[FileEvents]; !ok {
		fail("%s: missing from the bundle", FileEvents)
	} else {
		n, eventProblems, err := checkEvents(ctx, f, tree, treeOK, d)
		if err != nil {
			fail("the reports cannot be derived from the bundle's events: %v", err)
			derivable = false
		}
		problems = append(problems, eventProblems...)
		v.Events = n
		if n != m.Log.Events {
			fail("%s: %d events, the manifest says %d", FileEvents, n, m.Log.Events)
		}
	}
	if derivable {
		q := compliance.Query{PropertyID: m.PropertyID, From: m.From, To: m.To}
		derived, err := d.reports(ctx, q, m.GeneratedAt)
		if err != nil {
			fail("the reports cannot be derived from the bundle's events: %v", err)
		} else {
			v.Rows = map[string]int{}
			for _, r := range reports {
				got, ok := files[r.name]
				if !ok {
					fail("%s: missing from the bundle", r.name)
					continue
				}
				rows, diffs := compareReport(r.name, got, derived[r.name])
				v.Rows[r.name] = rows
				problems = append(problems, diffs...)
			}
		}
	}
	if len(problems) > 0 {
		return v, &Mismatch{problems}
	}
	return v, nil
}

// repeatedNames lists, sorted, the names given to more than one entry.
func repeatedNames(files []*zip.File) []string {
	seen := make(map[string]int, len(files))
	var out []string
	for _, f := range files {
		if seen[f.Name]++; seen[f.Name] == 2 {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}

type fileSum struct {
	sha256 string
	bytes  int64
}

func readEntry(f *zip.File, w io.Writer) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(w, rc)
}

// checkFiles compares every file with its manifest entry and lists files it does not name.
func checkFiles(m *Manifest, sums map[string]fileSum) []string {
	var problems []string
	listed := map[string]bool{FileManifest: true, FileManifestSig: true}
	for _, want := range m.Files {
		listed[want.Name] = true
		got, ok := sums[want.Name]
		if !ok {
			problems = append(problems, want.Name+": listed in the manifest but missing from the bundle")
			continue
		}
		if got.sha256 != want.SHA256 {
			problems = append(problems, fmt.Sprintf("%s: SHA-256 %s does not match the manifest's %s (the file was altered)", want.Name, got.sha256, want.SHA256))
		} else if got.bytes != want.Bytes {
			problems = append(problems, fmt.Sprintf("%s: %d bytes, the manifest says %d", want.Name, got.bytes, want.Bytes))
		}
	}
	var extra []string
	for name := range sums {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, name+": in the bundle but not listed in the manifest")
	}
	return problems
}

// checkEvents reads events.jsonl line by line: it checks each leaf's inclusion proof
// against the tree (when the checkpoint could be opened), that each stream's events are
// together, in revision order from revision 0 and in log order, and that every opening
// matches its leaf; and it hands each event, as its leaf and openings disclose it, to d.
// The error is one that stops the derivation; problems are listed.
func checkEvents(ctx context.Context, f *zip.File, tree transparency.Checkpoint, treeOK bool, d *deriver) (int, []string, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	done := map[string]bool{} // streams already left behind
	var stream string
	var next, last uint64
	n := 0
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventLine)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e EventLine
		if err := json.Unmarshal(line, &e); err != nil {
			fail("%s line %d: %v", FileEvents, lineNo, err)
			continue
		}
		rec, unmatched, err := leafEvent(e.Leaf, e.Personal)
		if err != nil {
			fail("%s: event at position %d: leaf cannot be read: %v", FileEvents, e.Position, err)
			continue
		}
		n++
		for _, o := range unmatched {
			fail("%s: event at position %d: the opening of %s %q matches no commitment of its leaf (the value was altered)", FileEvents, e.Position, o.Field, o.Value)
		}
		if rec.Position != e.Position {
			fail("%s: line %d says position %d, its leaf %d", FileEvents, lineNo, e.Position, rec.Position)
		}
		if treeOK {
			p := transparency.InclusionProof{Position: int64(rec.Position), TreeSize: tree.Size, LeafHash: transparency.LeafHash(e.Leaf), Proof: hashes(e.Proof)}
			if rec.Position == 0 || int64(rec.Position) > tree.Size {
				fail("%s: event at position %d is outside the checkpoint's tree of %d events", FileEvents, rec.Position, tree.Size)
			} else if err := transparency.VerifyInclusion(p, tree.Hash); err != nil {
				fail("%s: event at position %d is not in the checkpoint's tree (altered, or not in the log): %v", FileEvents, rec.Position, err)
			}
		}
		if rec.Stream != stream {
			if done[rec.Stream] {
				fail("%s: stream %s comes back at position %d after other streams", FileEvents, rec.Stream, rec.Position)
			}
			done[stream], stream, next, last = true, rec.Stream, 0, 0
		}
		if rec.Revision != next {
			fail("%s: stream %s jumps to revision %d at position %d, want %d (events are missing)", FileEvents, rec.Stream, rec.Revision, rec.Position, next)
		}
		if rec.Position <= last {
			fail("%s: event at position %d follows position %d in stream %s (out of log order)", FileEvents, rec.Position, last, rec.Stream)
		}
		next, last = rec.Revision+1, rec.Position
		if err := d.add(ctx, rec); err != nil {
			return n, problems, err
		}
	}
	return n, problems, sc.Err()
}

// maxEventLine bounds one line of events.jsonl (an event's leaf, proof and openings).
const maxEventLine = 16 << 20

// checkKept checks the bundle's tree against a checkpoint the auditor kept.
func checkKept(kept []byte, proof *ConsistencyProof, verifier note.Verifier, tree transparency.Checkpoint) []string {
	old, err := openCheckpoint(kept, verifier)
	if err != nil {
		return []string{"--checkpoint: " + err.Error()}
	}
	small, large := old, tree
	if old.Size > tree.Size {
		small, large = tree, old
	}
	p := transparency.ConsistencyProof{From: small.Size, To: large.Size}
	if old.Size != tree.Size {
		if proof == nil {
			return []string{fmt.Sprintf("--checkpoint: trees of %d and %d events; prove that one extends the other with --consistency-proof (GET /v1/compliance/proofs/consistency?from=%d&to=%d)", old.Size, tree.Size, small.Size, large.Size)}
		}
		if int64(proof.From) != small.Size || int64(proof.To) != large.Size {
			return []string{fmt.Sprintf("--consistency-proof: from %d to %d, want from %d to %d", proof.From, proof.To, small.Size, large.Size)}
		}
		p.Proof = hashes(proof.Proof)
	}
	if err := transparency.VerifyConsistency(p, small.Hash, large.Hash); err != nil {
		return []string{fmt.Sprintf("--checkpoint: the tree of %d events does not extend the tree of %d (the log was rewritten or truncated): %v", large.Size, small.Size, err)}
	}
	return nil
}

func hashes(b [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(b))
	for i, h := range b {
		copy(out[i][:], h)
	}
	return out
}

var errNoTree = errors.New("missing")

// openCheckpoint checks a checkpoint's signature and reads its tree.
func openCheckpoint(b []byte, verifier note.Verifier) (transparency.Checkpoint, error) {
	if len(b) == 0 {
		return transparency.Checkpoint{}, errNoTree
	}
	cp, _, err := transparency.OpenCheckpoint(b, verifier)
	if err != nil {
		return cp, fmt.Errorf("signature does not verify with key %s, or not a checkpoint: %w", verifier.Name(), err)
	}
	return cp, nil
}
