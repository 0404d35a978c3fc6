package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/archive"
	"accountd/eventstore/transparency"
)

// Archival. The oldest events leave the events table for archive segments
// (accountd/eventstore/archive): compressed, signed files in the archive directory, each
// a contiguous range of positions. The log itself does not change: positions, revisions,
// bytes, chain and tree hashes are the same, and every read below reaches into the
// segments where the table no longer holds a position. What the live path needs stays in
// the file, in three small tables:
//
//   - archive_segments: every segment sealed, with the SHA-256 of its file, so that a
//     missing, swapped or altered segment is found by VerifyArchive;
//   - archive_streams: one row per stream with archived events: its last archived revision
//     (the head of a stream all of whose events are archived, for the writer's
//     expected-revision check) and the segment blocks holding it with the first revision
//     it has in each (what a ReadStream decompresses), packed as varints: about three
//     bytes per block a stream appears in, not a row;
//   - archive_frontier: the transparency tree's right edge where the archive ends, which
//     is all the writer's tree frontier can ever need from the archived part.
//
// The archived prefix is [1, through]; readers hold arch.mu shared for the length of one
// read, and a seal takes it exclusively only for the commit that deletes a segment's
// rows, so a reader sees each position either in the table or in a segment, never in
// neither. The append path does not take it: the chain's last hash and the stream heads
// are in the writer's memory or in the table as before.
//
// Event IDs of archived events are no longer checked for reuse: an append retried months
// later, or an ID minted twice, is the only case this misses (IDs are UUIDv7).

var archiveSchema = []string{
	`CREATE TABLE archive_segments (
		first  INTEGER PRIMARY KEY,
		last   INTEGER NOT NULL,
		file   TEXT    NOT NULL,
		sha256 BLOB    NOT NULL,
		head   BLOB    NOT NULL
	)`,
	`CREATE TABLE archive_streams (
		stream        TEXT    PRIMARY KEY,
		last_revision INTEGER NOT NULL,
		segments      BLOB    NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE archive_frontier (
		idx  INTEGER PRIMARY KEY,
		hash BLOB    NOT NULL
	)`,
}

// DefaultSegmentEvents caps the events of one segment (about 5 MB). A read decompresses
// only the blocks of archive.BlockEvents events it needs, so the size of a segment sets
// the number of files (at 50,000 staff accounts, about 220 a year), not the cost of a read.
const DefaultSegmentEvents = 32768

// Readers keep the headers of recently read segments and their decompressed blocks.
const (
	indexCacheSize = 1024
	blockCacheSize = 64 // of archive.BlockEvents events each
)

type segmentRef struct {
	first, last uint64
	file        string
	sha         [32]byte
}

type archiveState struct {
	dir string

	mu       sync.RWMutex // shared by reads, exclusive for a seal's commit
	through  uint64       // positions 1..through are archived
	head     [32]byte     // chain hash of position through
	frontier []tlog.Hash  // the tree's edge at size through
	segments []segmentRef

	sealing sync.Mutex // one seal at a time

	cacheMu sync.Mutex
	indexes map[uint64]*archive.Segment // headers and block layouts, by first position
	blocks  []*cachedBlock              // most recently used last
}

// cachedBlock is one decompressed block of a segment, its streams indexed.
type cachedBlock struct {
	first   uint64
	events  []eventstore.RecordedEvent
	trees   [][]tlog.Hash
	streams map[string][]int // indexes into events, by revision
}

// archiveStatements are the read pool's statements over the archive tables.
type archiveStatements struct {
	stream   *sql.Stmt
	sealRead *sql.Stmt
}

func (r *archiveStatements) prepare(db *sql.DB) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&r.stream, "SELECT last_revision, segments FROM archive_streams WHERE stream = ?"},
		{&r.sealRead, "SELECT " + eventColumns + ", tree FROM events WHERE position > ? AND position <= ? ORDER BY position"},
	} {
		s, err := db.Prepare(p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = s
	}
	return nil
}

func (r *archiveStatements) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{r.stream, r.sealRead} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// loadArchive reads what is archived from the file.
func (s *Store) loadArchive() error {
	a := &s.arch
	rows, err := s.readers.Query("SELECT first, last, file, sha256, head FROM archive_segments ORDER BY first")
	if err != nil {
		return fmt.Errorf("load archive: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref segmentRef
		var sha, head []byte
		if err := rows.Scan(&ref.first, &ref.last, &ref.file, &sha, &head); err != nil {
			return fmt.Errorf("load archive: %w", err)
		}
		if len(sha) != 32 || len(head) != 32 || ref.first != a.through+1 {
			return fmt.Errorf("load archive: segment %s: %w", ref.file, &eventstore.ChainBrokenError{Position: a.through + 1, Reason: "archive segments do not follow each other"})
		}
		copy(ref.sha[:], sha)
		copy(a.head[:], head)
		a.through = ref.last
		a.segments = append(a.segments, ref)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load archive: %w", err)
	}
	idx := transparency.FrontierIndexes(int64(a.through))
	a.frontier = make([]tlog.Hash, len(idx))
	for i, x := range idx {
		var h []byte
		if err := s.readers.QueryRow("SELECT hash FROM archive_frontier WHERE idx = ?", x).Scan(&h); err != nil || len(h) != tlog.HashSize {
			return fmt.Errorf("load archive: tree edge hash %d at size %d: %v", x, a.through, err)
		}
		copy(a.frontier[i][:], h)
	}
	return nil
}

// block returns the decompressed block holding the archived position p, from the cache.
// Only that block of its segment is read: an account's events are spread thinly over the
// log, and a history read then decompresses a few hundred events per archived event of
// the account instead of whole segments.
func (s *Store) block(p uint64) (*cachedBlock, error) {
	a := &s.arch
	i := sort.Search(len(a.segments), func(i int) bool { return a.segments[i].last >= p })
	if i == len(a.segments) || a.segments[i].first > p {
		return nil, fmt.Errorf("sqlite: position %d is archived in no segment", p)
	}
	ref := a.segments[i]
	a.cacheMu.Lock()
	idx := a.indexes[ref.first]
	if idx != nil {
		bi := idx.BlockOf(p)
		first := idx.Blocks[bi].First
		for j, c := range a.blocks {
			if c.first == first {
				a.blocks = append(append(a.blocks[:j:j], a.blocks[j+1:]...), c)
				a.cacheMu.Unlock()
				return c, nil
			}
		}
	}
	a.cacheMu.Unlock()

	if idx == nil {
		seg, err := archive.ReadIndex(a.dir, ref.file)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read archive: %w", err)
		}
		if seg.First != ref.first || seg.Last != ref.last {
			return nil, fmt.Errorf("sqlite: read archive: %w", &archive.SegmentError{File: ref.file, Reason: "holds other positions than the log recorded"})
		}
		idx = seg
		a.cacheMu.Lock()
		if a.indexes == nil || len(a.indexes) >= indexCacheSize {
			a.indexes = make(map[uint64]*archive.Segment)
		}
		a.indexes[ref.first] = idx
		a.cacheMu.Unlock()
	}
	bi := idx.BlockOf(p)
	events, trees, err := archive.ReadBlock(a.dir, ref.file, idx, bi)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read archive: %w", err)
	}
	c := &cachedBlock{first: idx.Blocks[bi].First, events: events, trees: trees, streams: make(map[string][]int)}
	for k, e := range events {
		c.streams[e.Stream] = append(c.streams[e.Stream], k)
	}
	a.cacheMu.Lock()
	a.blocks = append(a.blocks, c)
	if len(a.blocks) > blockCacheSize {
		a.blocks = append(a.blocks[:0:0], a.blocks[len(a.blocks)-blockCacheSize:]...)
	}
	a.cacheMu.Unlock()
	return c, nil
}

// readArchived returns archived events after position after, at most limit (< 1: all).
// The caller holds arch.mu shared.
func (s *Store) readArchived(after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for p := after + 1; p <= s.arch.through && (limit < 1 || len(out) < limit); {
		c, err := s.block(p)
		if err != nil {
			return nil, err
		}
		evs := c.events[p-c.first:]
		if limit > 0 {
			evs = evs[:min(len(evs), limit-len(out))]
		}
		for _, e := range evs {
			out = append(out, cloneEvent(e))
		}
		p = evs[len(evs)-1].Position + 1
	}
	return out, nil
}

// readArchivedStream returns the archived events of stream from revision from, at most
// limit. The caller holds arch.mu shared.
func (s *Store) readArchivedStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	var last int64
	var blob []byte
	err := s.archReads.stream.QueryRowContext(ctx, stream).Scan(&last, &blob)
	if errors.Is(err, sql.ErrNoRows) || err == nil && uint64(last) < from {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	spans, err := decodeSpans(blob)
	if err != nil {
		return nil, fmt.Errorf("archived segments of %q: %w", stream, err)
	}
	var out []eventstore.RecordedEvent
	for i, sp := range spans {
		if i+1 < len(spans) && spans[i+1].revision <= from {
			continue // every revision of the stream in this segment is before from
		}
		c, err := s.block(sp.segment + sp.block*archive.BlockEvents)
		if err != nil {
			return nil, err
		}
		for _, k := range c.streams[stream] {
			if e := c.events[k]; e.Revision >= from {
				if limit > 0 && len(out) >= limit {
					return out, nil
				}
				out = append(out, cloneEvent(e))
			}
		}
	}
	return out, nil
}

func asBytes(v driver.Value) []byte {
	b, _ := v.([]byte)
	return b
}

// cloneEvent copies an event's payloads out of the block cache, so a caller that
// changes what it read does not change what the next reader gets.
func cloneEvent(e eventstore.RecordedEvent) eventstore.RecordedEvent {
	if e.Data != nil {
		e.Data = append([]byte{}, e.Data...)
	}
	if e.Metadata != nil {
		e.Metadata = append([]byte{}, e.Metadata...)
	}
	return e
}

// archivedHead is the last archived revision of stream.
func (s *Store) archivedHead(ctx context.Context, stream string) (uint64, bool, error) {
	var rev int64
	var blob []byte
	err := s.archReads.stream.QueryRowContext(ctx, stream).Scan(&rev, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return uint64(rev), true, nil
}

// span is one block a stream appears in: the segment's first position, the block's index
// in it, and the stream's first revision there.
type span struct{ segment, block, revision uint64 }

// appendSpan packs a span after the previous one: the segment and revision as varint
// deltas, the block as a varint (usually one byte).
func appendSpan(b []byte, prev, sp span) []byte {
	b = binary.AppendUvarint(b, sp.segment-prev.segment)
	b = binary.AppendUvarint(b, sp.block)
	return binary.AppendUvarint(b, sp.revision-prev.revision)
}

func decodeSpans(b []byte) ([]span, error) {
	var out []span
	var prev span
	for len(b) > 0 {
		ds, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("malformed segment list")
		}
		bl, m := binary.Uvarint(b[n:])
		if m <= 0 {
			return nil, errors.New("malformed segment list")
		}
		dr, k := binary.Uvarint(b[n+m:])
		if k <= 0 {
			return nil, errors.New("malformed segment list")
		}
		b = b[n+m+k:]
		prev = span{prev.segment + ds, bl, prev.revision + dr}
		out = append(out, prev)
	}
	return out, nil
}

// archivedTree returns stored hash x of an archived record. The caller holds arch.mu shared.
func (s *Store) archivedTree(x int64) (tlog.Hash, error) {
	rec, offset := transparency.RecordOfStoredHash(x)
	c, err := s.block(uint64(rec + 1))
	if err != nil {
		return tlog.Hash{}, err
	}
	tree := c.trees[uint64(rec+1)-c.first]
	if offset >= len(tree) {
		return tlog.Hash{}, fmt.Errorf("sqlite: tree hash %d: archived position %d stores %d hashes", x, rec+1, len(tree))
	}
	return tree[offset], nil
}

// SealOptions say what Seal archives.
type SealOptions struct {
	// Before: events whose Age is before it are sealed, oldest first, stopping at the first
	// that is not (the archive is always a prefix of the log).
	Before time.Time
	// Age is an event's time for Before. Nil: its RecordedAt. The command side records the
	// domain time in the metadata (eventlog.Decode), which a caller may prefer.
	Age func(eventstore.RecordedEvent) time.Time
	// Signers sign each segment's checkpoint (the node's transparency key first).
	Signers []note.Signer
	// SegmentEvents caps a segment; below one, DefaultSegmentEvents.
	SegmentEvents int
	// Keep is how many of the last events stay live at least (below one: one). The last
	// event always stays: it is where the writer continues the chain on open.
	Keep uint64
	// Vacuum returns the freed pages to the file system after sealing. The first time it
	// rewrites the file (VACUUM, switching it to incremental auto-vacuum), which stalls
	// appends for as long; later seals free pages incrementally.
	Vacuum bool
}

// SealReport is what a Seal did.
type SealReport struct {
	Segments []archive.Info
	Events   uint64
	Through  uint64 // the last archived position after the seal
	// FileBefore and FileAfter are the size of the database file and its WAL.
	FileBefore, FileAfter int64
}

// ErrNoSigner: Seal needs a key to sign the segments' checkpoints.
var ErrNoSigner = errors.New("sqlite: seal needs a checkpoint signer")

// ArchiveDir is where the store keeps its archive segments.
func (s *Store) ArchiveDir() string { return s.arch.dir }

// ArchivedThrough is the last archived position (0: nothing is archived).
func (s *Store) ArchivedThrough() uint64 {
	s.arch.mu.RLock()
	defer s.arch.mu.RUnlock()
	return s.arch.through
}

// Seal moves the events opts selects into archive segments. It is safe while the store
// serves: each segment is written and synced first, then one short transaction of the
// writer records it and deletes its rows, during which reads wait. A crash at any point
// leaves either the rows or the recorded segment; a segment file written but not
// recorded is written again by the next seal.
func (s *Store) Seal(ctx context.Context, opts SealOptions) (SealReport, error) {
	if len(opts.Signers) == 0 {
		return SealReport{}, ErrNoSigner
	}
	if opts.Age == nil {
		opts.Age = func(e eventstore.RecordedEvent) time.Time { return e.RecordedAt }
	}
	if opts.SegmentEvents < 1 {
		opts.SegmentEvents = DefaultSegmentEvents
	}
	opts.Keep = max(opts.Keep, 1)
	a := &s.arch
	a.sealing.Lock()
	defer a.sealing.Unlock()
	rep := SealReport{FileBefore: s.fileSize(), Through: s.ArchivedThrough()}
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		durable := s.durable.Load()
		if durable <= opts.Keep || a.through >= durable-opts.Keep {
			break
		}
		upTo := min(durable-opts.Keep, a.through+uint64(opts.SegmentEvents))
		events, trees, err := s.sealRead(ctx, a.through, upTo, opts)
		if err != nil {
			return rep, err
		}
		if len(events) == 0 {
			break
		}
		seg, err := archive.Build(events, trees, a.head, a.frontier, opts.Signers...)
		if err != nil {
			return rep, fmt.Errorf("sqlite: seal: %w", err)
		}
		info, err := archive.Write(a.dir, seg)
		if err != nil {
			return rep, fmt.Errorf("sqlite: seal: %w", err)
		}
		end, err := seg.End()
		if err != nil {
			return rep, fmt.Errorf("sqlite: seal: %w", err)
		}
		if err := s.recordSegment(ctx, seg, info, end); err != nil {
			return rep, fmt.Errorf("sqlite: seal %s: %w", info.File, err)
		}
		rep.Segments = append(rep.Segments, info)
		rep.Events += uint64(len(events))
		rep.Through = end.Position
		if len(events) < int(upTo-events[0].Position+1) {
			break // stopped at an event not old enough
		}
	}
	if opts.Vacuum && len(rep.Segments) > 0 {
		if err := s.exclusive(ctx, false, (*writer).vacuum); err != nil {
			return rep, fmt.Errorf("sqlite: seal: vacuum: %w", err)
		}
	}
	rep.FileAfter = s.fileSize()
	return rep, nil
}

// sealRead reads the live events after position after up to upTo, with their tree hashes,
// stopping before the first that is not old enough.
func (s *Store) sealRead(ctx context.Context, after, upTo uint64, opts SealOptions) ([]eventstore.RecordedEvent, [][]tlog.Hash, error) {
	rows, err := s.archReads.sealRead.QueryContext(ctx, clampInt64(after), clampInt64(upTo))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: seal: %w", err)
	}
	defer rows.Close()
	var events []eventstore.RecordedEvent
	var trees [][]tlog.Hash
	var row eventRow
	for rows.Next() {
		var blob []byte
		row.data, row.metadata = nil, nil
		if err := rows.Scan(&row.position, &row.stream, &row.revision, &row.id, &row.typ, &row.recordedAt, &row.data, &row.metadata, &row.hash, &blob); err != nil {
			return nil, nil, fmt.Errorf("sqlite: seal: %w", err)
		}
		e, err := row.event()
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: seal: %w", err)
		}
		if !opts.Age(e).Before(opts.Before) {
			break
		}
		tree := make([]tlog.Hash, len(blob)/tlog.HashSize)
		for i := range tree {
			copy(tree[i][:], blob[i*tlog.HashSize:])
		}
		events = append(events, e)
		trees = append(trees, tree)
	}
	return events, trees, rows.Err()
}

// recordSegment commits a written segment: its rows leave the table, the archive tables
// record it, and readers switch to it, all while they wait.
func (s *Store) recordSegment(ctx context.Context, seg *archive.Segment, info archive.Info, end archive.End) error {
	// Per stream, the first revision it has in each block it appears in, and its last.
	type revs struct {
		blocks []span
		last   uint64
	}
	streams := map[string]*revs{}
	for i, e := range seg.Events {
		bl := uint64(i / archive.BlockEvents)
		r, ok := streams[e.Stream]
		if !ok {
			r = &revs{}
			streams[e.Stream] = r
		}
		if len(r.blocks) == 0 || r.blocks[len(r.blocks)-1].block != bl {
			r.blocks = append(r.blocks, span{seg.First, bl, e.Revision})
		}
		r.last = e.Revision
	}
	a := &s.arch
	a.mu.Lock()
	defer a.mu.Unlock()
	err := s.exclusive(ctx, true, func(w *writer) error {
		if err := w.execArgs("INSERT INTO archive_segments (first, last, file, sha256, head) VALUES (?, ?, ?, ?, ?)",
			int64(seg.First), int64(seg.Last), info.File, info.SHA256[:], seg.Head[:]); err != nil {
			return err
		}
		get, err := w.conn.prepare("SELECT segments FROM archive_streams WHERE stream = ?")
		if err != nil {
			return err
		}
		defer get.close()
		put, err := w.conn.prepare(`INSERT INTO archive_streams (stream, last_revision, segments) VALUES (?, ?, ?)
			ON CONFLICT (stream) DO UPDATE SET last_revision = excluded.last_revision, segments = excluded.segments`)
		if err != nil {
			return err
		}
		defer put.close()
		dest := make([]driver.Value, 1)
		for name, r := range streams {
			found, err := get.queryRow(dest, name)
			if err != nil {
				return err
			}
			var blob []byte
			var prev span
			if found {
				blob = append(blob, asBytes(dest[0])...)
				spans, err := decodeSpans(blob)
				if err != nil || len(spans) == 0 {
					return fmt.Errorf("archived segments of %q: %v", name, err)
				}
				prev = spans[len(spans)-1]
			}
			for _, sp := range r.blocks {
				blob = appendSpan(blob, prev, sp)
				prev = sp
			}
			if err := put.run(name, int64(r.last), blob); err != nil {
				return err
			}
		}
		if err := w.conn.exec("DELETE FROM archive_frontier"); err != nil {
			return err
		}
		for i, x := range transparency.FrontierIndexes(int64(end.Position)) {
			if err := w.execArgs("INSERT INTO archive_frontier (idx, hash) VALUES (?, ?)", x, end.Frontier[i][:]); err != nil {
				return err
			}
		}
		return w.execArgs("DELETE FROM events WHERE position >= ? AND position <= ?", int64(seg.First), int64(seg.Last))
	})
	if err != nil {
		return err
	}
	a.through, a.head, a.frontier = end.Position, end.Hash, end.Frontier
	a.segments = append(a.segments, segmentRef{first: seg.First, last: seg.Last, file: info.File, sha: info.SHA256})
	return nil
}

func (w *writer) execArgs(query string, args ...driver.Value) error {
	stmt, err := w.conn.prepare(query)
	if err != nil {
		return err
	}
	defer stmt.close()
	return stmt.run(args...)
}

// vacuum gives freed pages back to the file system and empties the WAL.
func (w *writer) vacuum() error {
	mode := w.scratch[:1]
	stmt, err := w.conn.prepare("PRAGMA auto_vacuum")
	if err != nil {
		return err
	}
	_, err = stmt.queryRow(mode)
	_ = stmt.close()
	if err != nil {
		return err
	}
	if m, _ := mode[0].(int64); m != 2 {
		// Once: incremental auto-vacuum only takes effect through a VACUUM.
		if err := w.conn.exec("PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
			return err
		}
		if err := w.conn.exec("VACUUM"); err != nil {
			return err
		}
	} else if err := w.conn.exec("PRAGMA incremental_vacuum"); err != nil {
		return err
	}
	return w.conn.exec("PRAGMA wal_checkpoint(TRUNCATE)")
}

// exclusive runs fn on the writer between two group commits, inside a transaction when
// tx, and waits until it is durable.
func (s *Store) exclusive(ctx context.Context, tx bool, fn func(*writer) error) error {
	r := &request{ctx: ctx, done: make(chan struct{}, 1), exclusive: fn, exclusiveTx: tx}
	select {
	case s.exclusives <- r:
	case <-s.closing:
		return eventstore.ErrClosed
	}
	// Once queued it runs: waiting here, not on ctx, keeps arch.mu held until the commit
	// is decided either way.
	select {
	case <-r.done:
	case <-s.stopped:
		select {
		case <-r.done:
		default:
			return eventstore.ErrClosed
		}
	}
	return r.err
}

// runExclusive is the writer's side of exclusive.
func (s *Store) runExclusive(r *request) {
	w := s.w
	if w.stale {
		if err := w.loadHead(); err != nil {
			r.err = err
			return
		}
	}
	if !r.exclusiveTx {
		r.err = r.exclusive(w)
		return
	}
	if err := w.begin.run(); err != nil {
		r.err = err
		return
	}
	if err := r.exclusive(w); err != nil {
		if !w.conn.conn.AutoCommit() {
			_ = w.rollback.run()
		}
		r.err = err
		return
	}
	if err := w.commit.run(); err != nil {
		if !w.conn.conn.AutoCommit() {
			_ = w.rollback.run()
		}
		w.stale = true
		clear(w.heads)
		r.err = err
		return
	}
	if err := s.syncWAL(); err != nil {
		r.err = fmt.Errorf("fsync write-ahead log: %w", err)
	}
}

func (s *Store) fileSize() int64 {
	var n int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// ArchiveReport is what VerifyArchive checked.
type ArchiveReport struct {
	Segments []archive.Info
	Through  uint64
}

// VerifyArchive checks every segment of the archive directory offline (layout, body hash,
// chain and tree recomputed, checkpoint signature against verifiers, each continuing the
// one before), that they are exactly the segments this log recorded, byte for byte, and
// that the live log continues the last one: its first event's chain link and the tree
// edge it extends. A failure in a segment is an *archive.SegmentError naming its file.
func (s *Store) VerifyArchive(ctx context.Context, verifiers ...note.Verifier) (ArchiveReport, error) {
	a := &s.arch
	a.sealing.Lock() // the directory does not change under the walk
	defer a.sealing.Unlock()
	a.mu.RLock()
	recorded := append([]segmentRef(nil), a.segments...)
	through, head, frontier := a.through, a.head, a.frontier
	a.mu.RUnlock()

	infos, end, err := archive.VerifyDir(a.dir, verifiers...)
	rep := ArchiveReport{Segments: infos, Through: end.Position}
	if err != nil {
		return rep, err
	}
	for i, ref := range recorded {
		if i >= len(infos) || infos[i].File != ref.file {
			return rep, &archive.SegmentError{File: ref.file, Reason: "recorded by the log, missing from " + a.dir}
		}
		if infos[i].SHA256 != ref.sha {
			return rep, &archive.SegmentError{File: ref.file, Reason: "file differs from the one the log recorded (SHA-256)"}
		}
	}
	if len(infos) > len(recorded) {
		return rep, &archive.SegmentError{File: infos[len(recorded)].File, Reason: "in the archive directory but not recorded by the log"}
	}
	if end.Position != through || end.Hash != head || len(end.Frontier) != len(frontier) {
		return rep, &eventstore.ChainBrokenError{Position: through + 1, Reason: "the live log does not continue the archive"}
	}
	for i := range frontier {
		if frontier[i] != end.Frontier[i] {
			return rep, &eventstore.TreeMismatchError{Position: through + 1, Reason: "the live tree edge differs from the archive's"}
		}
	}
	live, err := s.ReadAll(ctx, through, 1)
	if err != nil {
		return rep, err
	}
	if len(live) == 1 && eventstore.ChainHash(head, live[0]) != live[0].Hash {
		return rep, &eventstore.ChainBrokenError{Position: through + 1, Reason: "the first live event does not chain to the archive's last"}
	}
	return rep, nil
}

// defaultArchiveDir is <directory of the database>/archive.
func defaultArchiveDir(dbPath string) string { return filepath.Join(filepath.Dir(dbPath), "archive") }
