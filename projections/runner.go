package projections

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"accountd/eventstore"
)

// ErrNotCaughtUp: a wait for a position ended before the projection applied it.
var ErrNotCaughtUp = errors.New("projections: not caught up")

// Runner feeds projections from the log, each from its own checkpoint.
type Runner struct {
	store  eventstore.Store
	db     *sql.DB
	log    *slog.Logger
	batch  int
	mu     sync.Mutex
	states map[string]*projectionState
	order  []string
	// rebuilding is held by Rebuild: one rebuild at a time.
	rebuilding sync.Mutex
	// Readiness (CaughtUp): the head when it was first asked, whether the projections have
	// reached it since, and how far behind they may then fall.
	readyAsked, ready bool
	readyHead         uint64
	readyLag          uint64
}

type projectionState struct {
	name string
	// apply is held while a batch is applied, and by a rebuild while it swaps the
	// projection: p changes only under it.
	apply    sync.Mutex
	p        Projection
	position uint64
	changed  chan struct{} // closed and replaced each time position advances
}

// NewRunner prepares the projections' tables and reads their checkpoints.
func NewRunner(ctx context.Context, store eventstore.Store, db *sql.DB, logger *slog.Logger, ps ...Projection) (*Runner, error) {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Runner{store: store, db: db, log: logger, batch: 1024, states: map[string]*projectionState{}, readyLag: DefaultReadyLag}
	for _, p := range ps {
		if _, dup := r.states[p.Name()]; dup {
			return nil, fmt.Errorf("projections: %s registered twice", p.Name())
		}
		if err := r.prepare(ctx, p); err != nil {
			return nil, err
		}
		pos, err := r.checkpoint(ctx, p.Name())
		if err != nil {
			return nil, err
		}
		r.states[p.Name()] = &projectionState{name: p.Name(), p: p, position: pos, changed: make(chan struct{})}
		r.order = append(r.order, p.Name())
	}
	return r, nil
}

func (r *Runner) prepare(ctx context.Context, p Projection) error {
	if err := r.checkVersion(ctx, p); err != nil {
		return err
	}
	for _, stmt := range p.Schema() {
		if _, err := r.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("projections: %s schema: %w", p.Name(), err)
		}
	}
	if err := p.Load(ctx, r.db); err != nil {
		return fmt.Errorf("projections: %s load: %w", p.Name(), err)
	}
	return nil
}

// checkVersion drops a projection's tables and checkpoint when they were written by another
// version of it (Versioned), and records the version the tables will now hold.
func (r *Runner) checkVersion(ctx context.Context, p Projection) error {
	if _, err := r.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS projection_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("projections: versions table: %w", err)
	}
	want := versionOf(p)
	var have int
	err := r.db.QueryRowContext(ctx, `SELECT version FROM projection_versions WHERE name = ?`, p.Name()).Scan(&have)
	recorded := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		have = 0 // tables from before versions were recorded, or none yet
	case err != nil:
		return fmt.Errorf("projections: version of %s: %w", p.Name(), err)
	}
	if have == want && !recorded {
		_, err := r.db.ExecContext(ctx, `INSERT INTO projection_versions(name, version) VALUES(?, ?)`, p.Name(), want)
		return err
	}
	if have != want {
		pos, err := r.checkpoint(ctx, p.Name())
		if err != nil {
			return err
		}
		if pos > 0 {
			r.log.Warn("projection tables are from another version: rebuilding them from the log", "projection", p.Name(), "tables_version", have, "version", want, "was_at", pos)
		}
		tx, err := r.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, t := range p.Tables() {
			if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
				return fmt.Errorf("projections: drop %s: %w", t, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE name = ?`, p.Name()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO projection_versions(name, version) VALUES(?, ?)
			ON CONFLICT(name) DO UPDATE SET version = excluded.version`, p.Name(), want); err != nil {
			return err
		}
		return tx.Commit()
	}
	return nil
}

func (r *Runner) checkpoint(ctx context.Context, name string) (uint64, error) {
	var pos uint64
	err := r.db.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: checkpoint of %s: %w", name, err)
	}
	return pos, nil
}

// consumer follows the log for one projection from its checkpoint.
func (r *Runner) consumer(st *projectionState) *eventlog.Consumer {
	return &eventlog.Consumer{
		Name: "projection " + st.name, Store: r.store, Batch: r.batch, Logger: r.log.With("projection", st.name),
		Checkpoint: func() uint64 { return r.Position(st.name) },
		Handle: func(ctx context.Context, recs []eventstore.RecordedEvent) error {
			return r.applyBatch(ctx, st, recs)
		},
	}
}

// CatchUp applies everything up to the current head once, without following. Commands
// like rebuild and verify use it; tests use it to step deterministically.
func (r *Runner) CatchUp(ctx context.Context) error {
	return r.catchUpTo(ctx, eventlog.Everything)
}

// catchUpTo applies every event up to position head to every projection, and nothing after
// it, so projections caught up to one head all stand at the same position.
func (r *Runner) catchUpTo(ctx context.Context, head uint64) error {
	for _, name := range r.order {
		if err := r.consumer(r.states[name]).CatchUp(ctx, head); err != nil {
			return fmt.Errorf("projections: %w", err)
		}
	}
	return nil
}

func (r *Runner) applyBatch(ctx context.Context, st *projectionState, recs []eventstore.RecordedEvent) error {
	decoded, err := decodeAfter(recs, r.Position(st.name))
	if err != nil {
		return fmt.Errorf("projections: %s %w", st.name, err)
	}
	return r.applyDecoded(ctx, st, decoded)
}

// decodeAfter decodes the events after position from.
func decodeAfter(recs []eventstore.RecordedEvent, from uint64) ([]eventlog.Decoded, error) {
	decoded := make([]eventlog.Decoded, 0, len(recs))
	for _, rec := range recs {
		if rec.Position <= from {
			continue // already applied: idempotent on overlap
		}
		d, err := eventlog.Decode(rec)
		if err != nil {
			return nil, fmt.Errorf("at position %d: %w", rec.Position, err)
		}
		decoded = append(decoded, d)
	}
	return decoded, nil
}

// applyDecoded applies the events the projection has not applied yet, and its checkpoint,
// in one transaction.
func (r *Runner) applyDecoded(ctx context.Context, st *projectionState, decoded []eventlog.Decoded) error {
	return r.applyTogether(ctx, []*projectionState{st}, decoded)
}

// applyTogether applies a batch to several projections of the runner's database in one
// transaction, each with its checkpoint: one commit a batch rather than one a projection
// (the WAL frames of the checkpoints page, the write lock's fcntl calls and the BEGIN and
// COMMIT, on every sign-in; BENCHMARKS.md, issue 16). It fails as a whole: then the caller
// applies them one by one, to tell which failed. Each projection's apply lock is held
// throughout, taken in the runner's order like a rebuild's pause.
func (r *Runner) applyTogether(ctx context.Context, states []*projectionState, decoded []eventlog.Decoded) error {
	for _, st := range states {
		st.apply.Lock()
	}
	defer func() {
		for _, st := range states {
			st.apply.Unlock()
		}
	}()
	type applied struct {
		st      *projectionState
		last    uint64
		publish func()
	}
	var done []applied
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	// The batch's statements run under a context that cannot be cancelled (the follower
	// checks ctx between batches, and a batch is short): go-sqlite3 runs every statement
	// whose context can be cancelled on a goroutine of its own and waits for it, so each
	// statement cost two goroutine switches, and with the cores busy hashing, a thread
	// woken on one of them (BENCHMARKS.md, issue 16: 16 goroutines a sign-in).
	ctx = context.WithoutCancel(ctx)
	for _, st := range states {
		from := r.Position(st.name)
		batch := decoded[sort.Search(len(decoded), func(i int) bool { return decoded[i].Recorded.Position > from }):]
		if len(batch) == 0 {
			continue
		}
		if tx == nil {
			var err error
			if tx, err = r.db.BeginTx(ctx, nil); err != nil {
				return fmt.Errorf("projections: %s: begin: %w", st.name, err)
			}
		}
		last := batch[len(batch)-1].Recorded.Position
		publish, err := st.p.Apply(ctx, tx, batch)
		if err != nil {
			return fmt.Errorf("projections: %s: apply: %w", st.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints(name, position) VALUES(?, ?)
			ON CONFLICT(name) DO UPDATE SET position = excluded.position`, st.name, last); err != nil {
			return fmt.Errorf("projections: %s: checkpoint: %w", st.name, err)
		}
		done = append(done, applied{st, last, publish})
	}
	if tx == nil {
		return nil
	}
	err := tx.Commit()
	tx = nil
	if err != nil {
		return fmt.Errorf("projections: %s: commit: %w", done[0].st.name, err)
	}
	for _, a := range done {
		if a.publish != nil {
			a.publish()
		}
		r.advance(a.st, a.last)
	}
	if HoldsErasure(decoded) {
		// The rows the erasure rewrote are overwritten in the file (secure_delete); their old
		// pages are still whole in the WAL until it is checkpointed and truncated.
		if err := ForgetWAL(ctx, r.db); err != nil {
			slog.Warn("read model: the WAL keeps pages from before an erasure until the next checkpoint", "projection", done[0].st.name, "error", err)
		}
	}
	return nil
}

func (r *Runner) advance(st *projectionState, pos uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st.position = pos
	close(st.changed)
	st.changed = make(chan struct{})
}

// Names lists the runner's projections in the order they were registered.
func (r *Runner) Names() []string { return append([]string(nil), r.order...) }

// Position is the last log position a projection applied.
func (r *Runner) Position(name string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.states[name]; ok {
		return st.position
	}
	return 0
}

// WaitFor blocks until the projection has applied position, or ctx ends (ErrNotCaughtUp).
func (r *Runner) WaitFor(ctx context.Context, name string, position uint64) error {
	for {
		r.mu.Lock()
		st, ok := r.states[name]
		if !ok {
			r.mu.Unlock()
			return fmt.Errorf("projections: unknown projection %q", name)
		}
		if st.position >= position {
			r.mu.Unlock()
			return nil
		}
		changed := st.changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s at %d, waiting for %d", ErrNotCaughtUp, name, r.Position(name), position)
		case <-changed:
		}
	}
}

// DefaultReadyLag is how far behind the log's head (in events) a projection may fall, once it
// has caught up, before CaughtUp says no again.
const DefaultReadyLag = 10_000

// CaughtUp reports whether the projections are ready to answer: every one has applied the
// head the log had when readiness was first asked (start-up), and none has since fallen
// more than the ready lag behind. Without the lag, a projection a few milliseconds behind
// a busy log, or paused for a rebuild's swap, would take the node out of its load balancer.
func (r *Runner) CaughtUp(ctx context.Context) (bool, error) {
	head, err := r.store.HeadPosition(ctx)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	if !r.readyAsked {
		r.readyAsked, r.readyHead = true, head
	}
	ready, target, lag := r.ready, r.readyHead, r.readyLag
	r.mu.Unlock()
	for _, name := range r.order {
		pos := r.Position(name)
		if !ready {
			if pos < target {
				return false, nil
			}
			continue
		}
		// Lag is counted in events: positions are not gapless on every backend.
		behind, err := eventstore.EventsBetween(ctx, r.store, pos, head, lag+1)
		if err != nil {
			return false, err
		}
		if behind > lag {
			return false, nil
		}
	}
	r.mu.Lock()
	r.ready = true
	r.mu.Unlock()
	return true, nil
}

// SetReadyLag sets how far behind the head a caught-up projection may fall and still be
// ready (default DefaultReadyLag; 0: never behind).
func (r *Runner) SetReadyLag(events uint64) {
	r.mu.Lock()
	r.readyLag = events
	r.mu.Unlock()
}

// Reset drops a projection's tables and checkpoint and empties its memory, so the next
// catch-up rebuilds it from the start of the log. Callers stop Run first.
func (r *Runner) Reset(ctx context.Context, name string) error {
	r.mu.Lock()
	st, ok := r.states[name]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("projections: unknown projection %q", name)
	}
	st.apply.Lock()
	defer st.apply.Unlock()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range st.p.Tables() {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return fmt.Errorf("projections: drop %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE name = ?`, name); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := r.prepare(ctx, st.p); err != nil {
		return err
	}
	r.mu.Lock()
	st.position = 0
	r.mu.Unlock()
	return nil
}
