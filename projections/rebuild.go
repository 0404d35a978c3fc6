package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"accountd/commands"
	"accountd/eventstore"
)

// RebuildProgress is reported while a rebuild replays the log: Done is the log position every
// rebuilt projection has applied, Total the log's head when the rebuild began. Every batch
// goes to every projection, so one position measures them all.
type RebuildProgress struct {
	Done, Total uint64
}

// RebuildResult describes a finished rebuild.
type RebuildResult struct {
	Path        string
	Projections []string
	Head        uint64 // the log position every rebuilt projection reached
	Elapsed     time.Duration
}

// rebuildSuffix names the file a rebuild writes before swapping it in.
const rebuildSuffix = ".rebuild"

// progressEvery is how often Rebuild samples the runner's positions for the progress callback.
const progressEvery = 200 * time.Millisecond

// Rebuild replays the log into fresh tables for ps and swaps them in atomically as the
// read-model database at path. Every other table in the file (other projections, the
// outbox's checkpoint and sent/attempt/dead-letter tables, anything else) is carried over
// byte for byte, so rebuilding never re-sends mail and never moves another projection.
//
// How: the current file is copied with VACUUM INTO (a consistent snapshot that includes the
// WAL's committed content), the rebuilt projections' tables and checkpoint rows are dropped in
// the copy, fresh projection instances replay the log into it up to the head (see replay),
// and the copy is closed (which checkpoints its WAL into the file), fsynced and renamed over
// path. rename(2) within one directory is atomic: a process that opens path sees the whole old
// database or the whole new one, never a mix, and a crash at any point before the rename
// leaves the old file untouched (the stray .rebuild file is removed at the next rebuild).
//
// A process that already holds the old file open keeps reading the old inode: the server
// must be stopped (it opens readmodels.db once at start). With the SQLite event log the
// exclusive lock on events.db enforces that, since the caller could not open the log otherwise.
// Callers pass fresh projection instances; progress may be nil.
func Rebuild(ctx context.Context, store eventstore.Store, path string, logger *slog.Logger, progress func(RebuildProgress), ps ...Projection) (RebuildResult, error) {
	if logger == nil {
		logger = slog.Default()
	}
	start := time.Now()
	res := RebuildResult{Path: path}
	for _, p := range ps {
		res.Projections = append(res.Projections, p.Name())
	}
	tmp := path + rebuildSuffix
	if err := removeDB(tmp); err != nil {
		return res, err
	}
	if err := snapshot(ctx, path, tmp); err != nil {
		return res, err
	}
	head, err := build(ctx, store, tmp, logger, progress, ps)
	if err != nil {
		_ = removeDB(tmp)
		return res, err
	}
	if err := swap(tmp, path); err != nil {
		return res, err
	}
	res.Head, res.Elapsed = head, time.Since(start)
	return res, nil
}

// snapshot copies the database at path into tmp, or leaves tmp absent when there is none.
func snapshot(ctx context.Context, path, tmp string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	old, err := OpenDB(path)
	if err != nil {
		return err
	}
	_, err = old.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	// Closing the last connection checkpoints the old WAL into the file and deletes it, so no
	// stale path-wal can be replayed onto the new file after the rename.
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("projections: rebuild: copy %s: %w", path, err)
	}
	return nil
}

// build drops ps's tables and checkpoints in the database at tmp and replays the log into
// ps up to its head, reporting progress. It returns the head it measured against.
func build(ctx context.Context, store eventstore.Store, tmp string, logger *slog.Logger, progress func(RebuildProgress), ps []Projection) (uint64, error) {
	db, err := OpenDB(tmp)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for _, p := range ps {
		for _, t := range p.Tables() {
			if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
				return 0, fmt.Errorf("projections: rebuild: drop %s: %w", t, err)
			}
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM checkpoints WHERE name = ?`, p.Name()); err != nil {
			return 0, fmt.Errorf("projections: rebuild: checkpoint of %s: %w", p.Name(), err)
		}
	}
	// The head is read before catching up: events appended meanwhile (a detector's action)
	// are applied too, but progress is measured against the head we saw.
	head, err := store.HeadPosition(ctx)
	if err != nil {
		return 0, err
	}
	// NewRunner creates the fresh tables and loads the (empty) projections; the replay below
	// then feeds them itself, because a rebuild can do better than CatchUp (see replay).
	if _, err := NewRunner(ctx, store, db, logger, ps...); err != nil {
		return 0, err
	}
	if err := replay(ctx, store, db, ps, head, progress); err != nil {
		return 0, err
	}
	// Fold the WAL into the file now so the close leaves one self-contained file.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, fmt.Errorf("projections: rebuild: checkpoint: %w", err)
	}
	return head, db.Close()
}

// rebuildBatch is how many events a rebuild reads, decodes and applies at once. A rebuild has
// no reader waiting on each commit, and a projection like status writes each account a batch
// touched once per batch: on a log where thousands of accounts interleave (the demo's), 32768
// halves the status rebuild time against 8192 (BENCHMARKS.md). Memory: one batch decoded
// and one in flight, a few tens of MB.
const rebuildBatch = 32768

// replay applies the log from its start to ps, as Runner.CatchUp would, with two
// differences that matter on a large log: each batch is read and decoded once for all of
// ps (CatchUp reads the whole log once per projection), and reading and decoding the next
// batch overlaps applying this one, on another core. Each projection still commits every
// batch together with its checkpoint, in the runner's own checkpoints format, so an
// interrupted rebuild leaves a consistent (if unfinished) copy that is never swapped in.
func replay(ctx context.Context, store eventstore.Store, db *sql.DB, ps []Projection, head uint64, progress func(RebuildProgress)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		events []commands.Decoded
		err    error
	}
	batches := make(chan batch, 2)
	// send gives up when the applier has returned (an error), so the reader never leaks.
	send := func(b batch) bool {
		select {
		case batches <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// Three stages on their own goroutines: read, decode (JSON, the largest cost, split in
	// two halves per batch), apply. On two cores they keep both busy.
	raw := make(chan []eventstore.RecordedEvent, 2)
	go func() {
		defer close(raw)
		var after uint64
		for {
			recs, err := store.ReadAll(ctx, after, rebuildBatch)
			if err != nil {
				send(batch{err: err})
				return
			}
			if len(recs) == 0 {
				return
			}
			after = recs[len(recs)-1].Position
			select {
			case raw <- recs:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer close(batches)
		for recs := range raw {
			decoded, err := decodeAll(recs)
			if err != nil {
				send(batch{err: err})
				return
			}
			if !send(batch{events: decoded}) {
				return
			}
		}
	}()
	var last time.Time
	var done uint64
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		for _, p := range ps {
			if err := applyRebuildBatch(ctx, db, p, b.events); err != nil {
				return err
			}
		}
		done = b.events[len(b.events)-1].Recorded.Position
		if progress != nil && time.Since(last) >= progressEvery {
			last = time.Now()
			progress(RebuildProgress{Done: min(done, head), Total: head})
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if progress != nil {
		progress(RebuildProgress{Done: min(done, head), Total: head})
	}
	return nil
}

// decodeAll decodes a batch, its two halves in parallel.
func decodeAll(recs []eventstore.RecordedEvent) ([]commands.Decoded, error) {
	out := make([]commands.Decoded, len(recs))
	errs := make([]error, 2)
	mid := len(recs) / 2
	var wg sync.WaitGroup
	for half, r := range [][2]int{{0, mid}, {mid, len(recs)}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r[0]; i < r[1]; i++ {
				d, err := commands.Decode(recs[i])
				if err != nil {
					errs[half] = fmt.Errorf("projections: rebuild at position %d: %w", recs[i].Position, err)
					return
				}
				out[i] = d
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// applyRebuildBatch is Runner.applyBatch for a rebuild: the events and the checkpoint in one
// transaction, in-memory state published only after the commit.
func applyRebuildBatch(ctx context.Context, db *sql.DB, p Projection, events []commands.Decoded) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: rebuild %s: begin: %w", p.Name(), err)
	}
	defer tx.Rollback()
	publish, err := p.Apply(ctx, tx, events)
	if err != nil {
		return fmt.Errorf("projections: rebuild %s: apply: %w", p.Name(), err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints(name, position) VALUES(?, ?)
		ON CONFLICT(name) DO UPDATE SET position = excluded.position`, p.Name(), events[len(events)-1].Recorded.Position); err != nil {
		return fmt.Errorf("projections: rebuild %s: checkpoint: %w", p.Name(), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: rebuild %s: commit: %w", p.Name(), err)
	}
	if publish != nil {
		publish()
	}
	return nil
}

// swap makes tmp durable and renames it over path.
func swap(tmp, path string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("projections: rebuild: sync %s: %w", tmp, err)
	}
	// The closed copy has no WAL of its own; any -wal/-shm left beside it or beside path
	// belong to no open connection (the old one was checkpointed and closed in snapshot).
	for _, side := range []string{tmp + "-wal", tmp + "-shm", path + "-wal", path + "-shm"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("projections: rebuild: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("projections: rebuild: swap: %w", err)
	}
	// The rename is durable only once the directory entry is.
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return fmt.Errorf("projections: rebuild: sync directory: %w", err)
	}
	return nil
}

// removeDB deletes a database file and its WAL companions, if present.
func removeDB(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("projections: rebuild: %w", err)
		}
	}
	return nil
}
