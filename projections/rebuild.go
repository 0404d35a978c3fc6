package projections

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"accountd/eventstore"
)

// RebuildProgress is reported while a rebuild runs. During PhaseReplay, Done is the log
// position every rebuilt projection has applied and Total the log's head when the rebuild
// began: every batch goes to every projection, so one position measures them all.
type RebuildProgress struct {
	Phase       RebuildPhase
	Done, Total uint64
}

// RebuildPhase names a step of a rebuild, in order.
type RebuildPhase string

const (
	// PhaseReplay: the fresh projections replay the log into a scratch database.
	PhaseReplay RebuildPhase = "replay"
	// PhaseCatchUp: the live projections pause while the scratch copy applies what was
	// appended during the replay.
	PhaseCatchUp RebuildPhase = "catch_up"
	// PhaseSwap: one transaction replaces the live tables with the rebuilt ones.
	PhaseSwap RebuildPhase = "swap"
)

// RebuildResult describes a finished rebuild.
type RebuildResult struct {
	Path        string
	Projections []string
	Head        uint64 // the log position every rebuilt projection reached
	Elapsed     time.Duration
	// Paused is how long the live projections stopped applying events (catch-up and swap):
	// the only moment a rebuild delays the read models the server answers from.
	Paused time.Duration
}

var (
	// ErrRebuildRunning: a runner rebuilds one set of projections at a time.
	ErrRebuildRunning = errors.New("projections: a rebuild is already running")
	// ErrUnknownProjection: a rebuild was asked for a projection there is none of.
	ErrUnknownProjection = errors.New("projections: unknown projection")
	// ErrNotRebuildable: the projection exists but is never rebuilt (the outbox).
	ErrNotRebuildable = errors.New("projections: not rebuildable")
)

// ScratchSuffix names the file a rebuild builds in before swapping its tables in.
const ScratchSuffix = ".rebuild"

// RebuildOptions tune a rebuild.
type RebuildOptions struct {
	// Progress, when set, is called as the rebuild advances.
	Progress func(RebuildProgress)
	// MaxRate bounds the replay, in events per second (0: as fast as it goes). An online
	// rebuild shares the machine with the server it rebuilds for: on two cores an
	// unbounded one takes about two thirds of the server's read throughput while it runs
	// (BENCHMARKS.md).
	MaxRate int
}

// progressEvery is how often a rebuild samples its position for the progress callback.
const progressEvery = 200 * time.Millisecond

// Adopter is a projection that other components hold by pointer (the API reads Status and
// the timeline through the instances the server made). Runner.Rebuild hands it the rebuilt
// instance to take its in-memory state from, instead of replacing it in the runner, so every
// holder sees the rebuilt state at the moment of the swap.
type Adopter interface {
	Adopt(rebuilt Projection) error
}

// Rebuild rebuilds the database at path for ps with nothing else running: the offline
// rebuild (accountd rebuild with the server stopped). It is Runner.Rebuild without live
// projections to pause: the same scratch build and the same swap transaction, so both
// leave identical tables. Every other table of the file (other projections, the outbox's
// checkpoint and sent/attempt/dead-letter tables) is left as it was, so rebuilding never
// re-sends mail and never moves another projection. A missing file is created.
// A damaged file is moved aside first and rebuilt whole (OpenRebuildableDB): the
// projections not asked for replay the log at their next start.
// Callers pass fresh projection instances.
func Rebuild(ctx context.Context, store eventstore.Store, path string, logger *slog.Logger, opts RebuildOptions, ps ...Projection) (RebuildResult, error) {
	db, err := OpenRebuildableDB(path, time.Now(), logger)
	if err != nil {
		return RebuildResult{Path: path}, err
	}
	res, err := rebuild(ctx, store, db, path+ScratchSuffix, logger, opts, nil, ps)
	res.Path = path
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("projections: rebuild: close %s: %w", path, cerr)
	}
	return res, err
}

// Rebuild rebuilds the named projections of a running runner while it keeps serving from
// the old ones: fresh instances replay the log into a scratch database at scratchPath
// (another file, so the replay never takes the write lock the live projections need); then
// the live instances of those projections pause (the others carry on), the scratch copy
// catches up with what was appended meanwhile, and one transaction on the runner's database
// drops the old tables and copies the rebuilt ones in with their checkpoints. Readers of the
// database see the old tables or the new ones, never a mix (SQLite's snapshot isolation);
// in memory, an Adopter takes the rebuilt state at the same moment, any other projection is
// replaced. The live projections resume from the rebuilt checkpoint, which is never behind
// theirs. On any error before the commit the live projections continue as they were.
//
// Each fresh instance must have the Name of a projection the runner holds. A second
// concurrent call fails with ErrRebuildRunning.
func (r *Runner) Rebuild(ctx context.Context, scratchPath string, opts RebuildOptions, fresh ...Projection) (RebuildResult, error) {
	if !r.rebuilding.TryLock() {
		return RebuildResult{}, ErrRebuildRunning
	}
	defer r.rebuilding.Unlock()
	live := make([]*projectionState, 0, len(fresh))
	for _, p := range fresh {
		r.mu.Lock()
		st, ok := r.states[p.Name()]
		r.mu.Unlock()
		if !ok {
			return RebuildResult{}, fmt.Errorf("projections: rebuild: the runner has no projection %q", p.Name())
		}
		if slices.Contains(live, st) {
			return RebuildResult{}, fmt.Errorf("projections: rebuild: %s given twice", p.Name())
		}
		live = append(live, st)
	}
	// Paused in the runner's order, the one every caller uses, so two pausers never deadlock.
	slices.SortFunc(live, func(a, b *projectionState) int {
		return slices.Index(r.order, a.name) - slices.Index(r.order, b.name)
	})
	pause := func() (resume func()) {
		for _, st := range live {
			st.apply.Lock()
		}
		return func() {
			for _, st := range live {
				st.apply.Unlock()
			}
		}
	}
	adopt := func(rebuilt []Projection, head uint64) {
		for _, st := range live {
			p := rebuilt[slices.IndexFunc(rebuilt, func(p Projection) bool { return p.Name() == st.name })]
			if a, ok := st.p.(Adopter); ok {
				if err := a.Adopt(p); err != nil {
					// The tables are already swapped and others hold this instance: it must
					// not go on with stale memory, so it reloads from the rebuilt tables.
					r.log.Error("rebuild: adopting the rebuilt state failed; reloading it from the tables", "projection", st.name, "error", err)
					if err := st.p.Load(context.WithoutCancel(ctx), r.db); err != nil {
						r.log.Error("rebuild: reloading failed; the projection's memory may be stale until restart", "projection", st.name, "error", err)
					}
				}
			} else {
				st.p = p
			}
			r.advance(st, max(head, r.Position(st.name)))
		}
	}
	return rebuild(ctx, r.store, r.db, scratchPath, r.log, opts, &liveSet{pause: pause, adopt: adopt}, fresh)
}

// liveSet is what a rebuild coordinates with when projections are running: pause stops
// their batches (and returns resume), adopt installs the rebuilt instances once the swap
// committed, while still paused.
type liveSet struct {
	pause func() (resume func())
	adopt func(rebuilt []Projection, head uint64)
}

// rebuild is the one rebuild procedure: scratch build, catch-up, swap.
func rebuild(ctx context.Context, store eventstore.Store, db *sql.DB, scratchPath string, logger *slog.Logger, opts RebuildOptions, live *liveSet, ps []Projection) (RebuildResult, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Progress == nil {
		opts.Progress = func(RebuildProgress) {}
	}
	progress := opts.Progress
	start := time.Now()
	var res RebuildResult
	for _, p := range ps {
		res.Projections = append(res.Projections, p.Name())
	}
	if len(ps) == 0 {
		return res, errors.New("projections: rebuild: no projection to rebuild")
	}
	sc, err := buildScratch(ctx, store, scratchPath, logger, opts, ps)
	if err != nil {
		return res, err
	}
	defer sc.discard()
	// Catch up with what was appended during the replay before pausing anything, so the
	// pause covers only what arrives in the meantime.
	if err := sc.runner.CatchUp(ctx); err != nil {
		return res, err
	}
	paused := time.Now()
	if live != nil {
		resume := live.pause()
		defer resume()
	}
	progress(RebuildProgress{Phase: PhaseCatchUp, Done: sc.head, Total: sc.head})
	head, err := sc.finish(ctx)
	if err != nil {
		return res, err
	}
	progress(RebuildProgress{Phase: PhaseSwap, Done: head, Total: head})
	if err := swapTables(ctx, db, scratchPath, ps, head); err != nil {
		return res, err
	}
	if live != nil {
		live.adopt(ps, head)
	}
	res.Head, res.Paused, res.Elapsed = head, time.Since(paused), time.Since(start)
	logger.Info("rebuild swapped in", "projections", res.Projections, "head", head, "elapsed", res.Elapsed, "paused", res.Paused)
	return res, nil
}

// scratch is a rebuild's own database: fresh projections replayed into it from the log.
type scratch struct {
	path   string
	db     *sql.DB
	runner *Runner
	head   uint64 // the log's head when the replay began
}

// buildScratch replays the log into fresh instances of ps in a new database at path.
func buildScratch(ctx context.Context, store eventstore.Store, path string, logger *slog.Logger, opts RebuildOptions, ps []Projection) (*scratch, error) {
	// A leftover from an interrupted rebuild is never reused: it may be anything.
	if err := removeDB(path); err != nil {
		return nil, err
	}
	db, err := OpenDB(path)
	if err != nil {
		return nil, err
	}
	sc := &scratch{path: path, db: db}
	// The head is read before replaying: events appended meanwhile are applied by finish,
	// but progress is measured against the head seen here.
	if sc.head, err = store.HeadPosition(ctx); err != nil {
		sc.discard()
		return nil, err
	}
	// NewRunner creates the tables and loads the (empty) projections; replay then feeds
	// them itself, because a rebuild can do better than CatchUp (see replay).
	if sc.runner, err = NewRunner(ctx, store, db, logger, ps...); err != nil {
		sc.discard()
		return nil, err
	}
	reached, err := replay(ctx, store, db, ps, sc.head, opts)
	if err != nil {
		sc.discard()
		return nil, err
	}
	for _, p := range ps {
		sc.runner.advance(sc.runner.states[p.Name()], reached)
	}
	return sc, nil
}

// finish applies what was appended since the replay, up to the head it reads now, then
// folds the scratch WAL into its file and closes it, so the swap reads one settled file. It
// returns that head: the position every projection reached.
func (sc *scratch) finish(ctx context.Context) (uint64, error) {
	head, err := sc.runner.store.HeadPosition(ctx)
	if err != nil {
		return 0, err
	}
	if err := sc.runner.catchUpTo(ctx, head); err != nil {
		return 0, err
	}
	if _, err := sc.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, fmt.Errorf("projections: rebuild: checkpoint: %w", err)
	}
	err = sc.db.Close()
	sc.db = nil
	if err != nil {
		return 0, fmt.Errorf("projections: rebuild: close scratch: %w", err)
	}
	return head, nil
}

// discard closes and deletes the scratch database.
func (sc *scratch) discard() {
	if sc.db != nil {
		sc.db.Close()
		sc.db = nil
	}
	_ = removeDB(sc.path)
}

// swapTables replaces ps's tables in db with the scratch database's, and their checkpoints
// with head, in one transaction. The copy runs inside SQLite (INSERT ... SELECT from the
// attached file), so it costs a sequential read and write of the rebuilt tables, with the
// rows already in primary-key order.
func swapTables(ctx context.Context, db *sql.DB, scratchPath string, ps []Projection, head uint64) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS rebuilt`, scratchPath); err != nil {
		return fmt.Errorf("projections: rebuild: attach %s: %w", scratchPath, err)
	}
	// Detached with a fresh context: the connection returns to the pool either way.
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE rebuilt`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: rebuild: begin swap: %w", err)
	}
	defer tx.Rollback()
	for _, p := range ps {
		for _, t := range p.Tables() {
			if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS main.`+t); err != nil {
				return fmt.Errorf("projections: rebuild: drop %s: %w", t, err)
			}
		}
		// Unqualified CREATE statements create in main: the schema the projection declares.
		for _, stmt := range p.Schema() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("projections: rebuild: %s schema: %w", p.Name(), err)
			}
		}
		for _, t := range p.Tables() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO main.`+t+` SELECT * FROM rebuilt.`+t); err != nil {
				return fmt.Errorf("projections: rebuild: copy %s: %w", t, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.checkpoints(name, position) VALUES(?, ?)
			ON CONFLICT(name) DO UPDATE SET position = excluded.position`, p.Name(), head); err != nil {
			return fmt.Errorf("projections: rebuild: checkpoint of %s: %w", p.Name(), err)
		}
		// The tables are now the version of the code that rebuilt them (Versioned).
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS main.projection_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("projections: rebuild: versions table: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.projection_versions(name, version) VALUES(?, ?)
			ON CONFLICT(name) DO UPDATE SET version = excluded.version`, p.Name(), versionOf(p)); err != nil {
			return fmt.Errorf("projections: rebuild: version of %s: %w", p.Name(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: rebuild: commit swap: %w", err)
	}
	return nil
}

// rebuildBatch is how many events a rebuild reads, decodes and applies at once. A rebuild has
// no reader waiting on each commit, and a projection like status writes each account a batch
// touched once per batch: on a log where thousands of accounts interleave (the demo's), 32768
// halves the status rebuild time against 8192 (BENCHMARKS.md). Memory: one batch decoded
// and one in flight, a few tens of MB.
const rebuildBatch = 32768

// rebuildReaders read the log at once (readLog), holding at most rebuildWindow batches.
const (
	rebuildReaders = 2
	rebuildWindow  = 4
)

// replay applies the log from its start to ps, as Runner.CatchUp would, with two
// differences that matter on a large log: each batch is read and decoded once for all of
// ps (CatchUp reads the whole log once per projection), and reading and decoding the next
// batch overlaps applying this one, on another core. Each projection still commits every
// batch together with its checkpoint, in the runner's own checkpoints format, so an
// interrupted rebuild leaves a consistent (if unfinished) copy that is never swapped in.
func replay(ctx context.Context, store eventstore.Store, db *sql.DB, ps []Projection, head uint64, opts RebuildOptions) (uint64, error) {
	progress := opts.Progress
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		events []eventlog.Decoded
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
	// A bounded rebuild works in batches of about a tenth of a second of its rate: a full
	// batch is decoded in one burst, and bursts of 32,768 events are what a server sharing
	// the cores feels in its tail latency.
	batchSize := rebuildBatch
	if opts.MaxRate > 0 {
		batchSize = min(rebuildBatch, max(1024, opts.MaxRate/10))
	}
	raw := make(chan []eventstore.RecordedEvent, 2)
	go func() {
		defer close(raw)
		if err := readLog(ctx, store, head, batchSize, rebuildReaders, rebuildWindow, raw); err != nil && ctx.Err() == nil {
			send(batch{err: err})
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
	pace := pacer(opts.MaxRate)
	for b := range batches {
		if b.err != nil {
			return 0, b.err
		}
		for _, p := range ps {
			if err := applyRebuildBatch(ctx, db, p, b.events); err != nil {
				return 0, err
			}
		}
		done = b.events[len(b.events)-1].Recorded.Position
		if err := pace(ctx, len(b.events)); err != nil {
			return 0, err
		}
		if time.Since(last) >= progressEvery {
			last = time.Now()
			progress(RebuildProgress{Phase: PhaseReplay, Done: min(done, head), Total: head})
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	progress(RebuildProgress{Phase: PhaseReplay, Done: min(done, head), Total: head})
	return done, nil
}

// pacer returns a function that sleeps as needed to keep the events it is told of at or
// under rate per second, measured from its first call (rate 0: never sleeps).
func pacer(rate int) func(ctx context.Context, n int) error {
	if rate <= 0 {
		return func(context.Context, int) error { return nil }
	}
	var start time.Time
	var total int
	return func(ctx context.Context, n int) error {
		if start.IsZero() {
			start = time.Now()
		}
		total += n
		wait := time.Duration(float64(total)/float64(rate)*float64(time.Second)) - time.Since(start)
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
}

// decodeAll decodes a batch, its two halves in parallel.
func decodeAll(recs []eventstore.RecordedEvent) ([]eventlog.Decoded, error) {
	out := make([]eventlog.Decoded, len(recs))
	errs := make([]error, 2)
	mid := len(recs) / 2
	var wg sync.WaitGroup
	for half, r := range [][2]int{{0, mid}, {mid, len(recs)}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r[0]; i < r[1]; i++ {
				d, err := eventlog.Decode(recs[i])
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
func applyRebuildBatch(ctx context.Context, db *sql.DB, p Projection, events []eventlog.Decoded) error {
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

// removeDB deletes a database file and its WAL companions, if present.
func removeDB(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("projections: rebuild: %w", err)
		}
	}
	return nil
}
