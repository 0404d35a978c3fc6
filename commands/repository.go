package commands

import (
	"accountd/eventstore/eventlog"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/snapshot"
)

// ErrTooManyConflicts: the stream kept changing under the command for every retry.
var ErrTooManyConflicts = errors.New("commands: stream kept changing; too many conflicting writers")

// Result is what one command wrote and the aggregate state after it.
type Result[S any] struct {
	Events    []domain.Event
	State     S
	Positions []uint64
	// Revision of the stream's last event after the command (-1: the stream is still empty).
	Revision int64
	// Replayed is true when the command ID had already been applied and nothing new was written.
	Replayed bool
}

// LastPosition is the global position of the last event written, for read-your-writes.
func (r Result[S]) LastPosition() uint64 {
	if len(r.Positions) == 0 {
		return 0
	}
	return r.Positions[len(r.Positions)-1]
}

// Decision is the closure an update runs on the current state: the events to append and,
// possibly, a refusal (appended too when it carries events, then returned).
type Decision[S any] func(state S, now time.Time) ([]domain.Event, error)

// Repository owns the write transaction of one aggregate kind through Update: load, decide,
// append at the exact revision, retry on conflict.
type Repository[S any] struct {
	store   eventstore.Store
	heads   eventstore.CommittedHeads
	evolve  func(S, domain.Event) S
	clock   Clock
	retries int
	cache   *aggregateCache[S]
	locks   keyedMutex
	snaps   *snapshots[S]
}

// snapshots is where a repository keeps folded aggregates beside the log.
type snapshots[S any] struct {
	store snapshot.Store
	codec *snapshot.Codec[S]
	every int64
}

// EnableSnapshots makes cold loads start from the newest snapshot of the stream and saves
// one whenever a stream has gained every events since the last (on the command's path,
// after its append: one small write per every events, whose failure is only logged).
func (r *Repository[S]) EnableSnapshots(store snapshot.Store, codec *snapshot.Codec[S], every int) {
	if store == nil || codec == nil {
		r.snaps = nil
		return
	}
	if every <= 0 {
		every = snapshot.DefaultEvery
	}
	r.snaps = &snapshots[S]{store: store, codec: codec, every: int64(every)}
}

// restore is the cold-load start: the newest snapshot, or the empty aggregate.
func (r *Repository[S]) restore(ctx context.Context, stream string) *aggregateEntry[S] {
	s, ok := snapshot.Restore(ctx, r.snaps.store, r.snaps.codec, stream, snapshot.NoRevisionLimit, time.Time{})
	if !ok {
		return &aggregateEntry[S]{revision: -1, snapRev: -1}
	}
	e := &aggregateEntry[S]{state: s.State, revision: int64(s.Revision), position: s.Position, maxAt: s.At, snapRev: int64(s.Revision)}
	for _, c := range s.Commands {
		e.commands = append(e.commands, appliedCommand{id: c.ID, revision: c.Revision, positions: c.Positions})
	}
	return e
}

// maybeSave saves a snapshot of e when one is due, and notes it in e (not yet shared).
func (r *Repository[S]) maybeSave(ctx context.Context, stream string, e *aggregateEntry[S]) {
	if r.snaps == nil || e.erased || e.revision < 0 || e.revision-e.snapRev < r.snaps.every {
		return
	}
	s := snapshot.Snapshot[S]{Revision: uint64(e.revision), Position: e.position, At: e.maxAt, State: e.state}
	for _, c := range e.commands {
		s.Commands = append(s.Commands, snapshot.Command{ID: c.id, Revision: c.revision, Positions: c.positions})
	}
	snapshot.Save(context.WithoutCancel(ctx), r.snaps.store, r.snaps.codec, stream, s)
	e.snapRev = e.revision
}

// RepositoryOption tunes a repository.
type RepositoryOption func(*repoConfig)

type repoConfig struct {
	retries   int
	cacheSize int
}

// WithRetries sets how many times a conflicting append is retried (default 8).
func WithRetries(n int) RepositoryOption { return func(c *repoConfig) { c.retries = n } }

// WithCacheSize bounds the number of folded aggregates kept in memory (default 50,000).
func WithCacheSize(n int) RepositoryOption { return func(c *repoConfig) { c.cacheSize = n } }

// NewRepository builds a repository for the aggregate folded by evolve.
func NewRepository[S any](store eventstore.Store, evolve func(S, domain.Event) S, clock Clock, opts ...RepositoryOption) *Repository[S] {
	cfg := repoConfig{retries: 8, cacheSize: 50_000}
	for _, o := range opts {
		o(&cfg)
	}
	return &Repository[S]{store: store, heads: committedHeads(store), evolve: evolve, clock: clock, retries: cfg.retries, cache: newAggregateCache[S](cfg.cacheSize)}
}

// committedHeads finds the store's knowledge of committed revisions, through decorators
// (metrics) that wrap it; nil when the store cannot tell without a read.
func committedHeads(s eventstore.Store) eventstore.CommittedHeads {
	for s != nil {
		if h, ok := s.(eventstore.CommittedHeads); ok {
			return h
		}
		u, ok := s.(interface{ Unwrap() eventstore.Store })
		if !ok {
			return nil
		}
		s = u.Unwrap()
	}
	return nil
}

// Forget drops what the repository keeps of a stream beyond the log: its cached fold (with
// the recent commands' events) and its snapshots. An erasure calls it so no copy of the
// erased account's personal data outlives its key in memory or beside the log; the next
// load folds the log again.
func (r *Repository[S]) Forget(ctx context.Context, stream string) error {
	unlock := r.locks.lock(stream)
	defer unlock()
	r.cache.forget(stream)
	if r.snaps == nil {
		return nil
	}
	if err := r.snaps.store.DeleteStream(ctx, stream); err != nil {
		return fmt.Errorf("commands: delete the snapshots of %s: %w", stream, err)
	}
	return nil
}

// Load returns the current state of a stream and its revision (-1 when empty).
func (r *Repository[S]) Load(ctx context.Context, stream string) (S, int64, error) {
	e, err := r.load(ctx, stream)
	if err != nil {
		var zero S
		return zero, -1, err
	}
	return e.state, e.revision, nil
}

// Update runs decide on the stream's current state and appends what it decides at that
// exact revision. commandID identifies the command: applying it twice writes once and returns
// the first result. In this process, commands on one stream run one at a time, so they
// never conflict with each other; conflicts with other processes are retried.
func (r *Repository[S]) Update(ctx context.Context, stream string, meta domain.Metadata, decide Decision[S]) (Result[S], error) {
	if meta.CommandID == "" {
		return Result[S]{}, fmt.Errorf("commands: %s: a command needs an ID", stream)
	}
	unlock := r.locks.lock(stream)
	defer unlock()
	for attempt := 0; ; attempt++ {
		entry, err := r.load(ctx, stream)
		if err != nil {
			return Result[S]{}, err
		}
		if done, ok := entry.applied(meta.CommandID); ok {
			events, err := r.appliedEvents(ctx, stream, done)
			if err != nil {
				return Result[S]{}, err
			}
			return Result[S]{Events: events, State: entry.state, Positions: done.positions, Revision: entry.revision, Replayed: true}, nil
		}
		now := r.clock().UTC()
		events, decideErr := decide(entry.state, now)
		if len(events) == 0 {
			return Result[S]{State: entry.state, Revision: entry.revision}, decideErr
		}
		data, err := eventlog.Encode(stream, meta, events)
		if err != nil {
			return Result[S]{}, err
		}
		expected := eventstore.NoStream
		if entry.revision >= 0 {
			expected = eventstore.Exact(uint64(entry.revision))
		}
		res, err := r.store.Append(ctx, stream, expected, data...)
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			r.cache.forget(stream)
			if attempt >= r.retries {
				return Result[S]{}, fmt.Errorf("%w: %s after %d attempts", ErrTooManyConflicts, stream, attempt+1)
			}
			if err := backoff(ctx, attempt); err != nil {
				return Result[S]{}, err
			}
			continue
		}
		if err != nil {
			r.cache.forget(stream)
			return Result[S]{}, fmt.Errorf("commands: append to %s: %w", stream, err)
		}
		if res.NextRevision != uint64(entry.revision+int64(len(events))) {
			// The store answered for an earlier append with the same IDs: state is unknown here.
			r.cache.forget(stream)
			return Result[S]{Events: events, Positions: res.Positions, Revision: int64(res.NextRevision), Replayed: true}, decideErr
		}
		next := entry.advance(r.evolve, events, meta.CommandID, res)
		r.maybeSave(ctx, stream, next)
		r.keep(stream, next)
		return Result[S]{Events: events, State: next.state, Positions: res.Positions, Revision: next.revision}, decideErr
	}
}

// load brings the cached fold of a stream up to date by reading only what it has not seen.
// A stream not in the cache starts from its newest snapshot, when snapshots are enabled.
func (r *Repository[S]) load(ctx context.Context, stream string) (*aggregateEntry[S], error) {
	return r.loadFrom(ctx, stream, false)
}

// appliedEvents are the events of a command already applied: kept in memory when this
// process folded them, else (restored from a snapshot) read from the log where the
// snapshot says they are, which must hold them there.
func (r *Repository[S]) appliedEvents(ctx context.Context, stream string, c appliedCommand) ([]domain.Event, error) {
	if c.events != nil {
		return c.events, nil
	}
	recs, err := r.store.ReadStream(ctx, stream, c.revision, len(c.positions))
	if err != nil {
		return nil, fmt.Errorf("commands: read command %s of %s: %w", c.id, stream, err)
	}
	if len(recs) != len(c.positions) {
		return nil, fmt.Errorf("commands: %s: command %s has %d events at revision %d, the log %d", stream, c.id, len(c.positions), c.revision, len(recs))
	}
	events := make([]domain.Event, len(recs))
	for i, rec := range recs {
		dec, err := eventlog.Decode(rec)
		if err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
		if rec.Position != c.positions[i] || dec.Meta.CommandID != c.id {
			return nil, fmt.Errorf("commands: %s: the log does not hold command %s at revision %d", stream, c.id, rec.Revision)
		}
		events[i] = dec.Event
	}
	return events, nil
}

// loadFrom is load; fresh folds the whole stream from the log, ignoring cache and snapshots.
func (r *Repository[S]) loadFrom(ctx context.Context, stream string, fresh bool) (*aggregateEntry[S], error) {
	var entry *aggregateEntry[S]
	if !fresh {
		entry = r.cache.get(stream)
	}
	cold := entry == nil
	if cold {
		entry = &aggregateEntry[S]{revision: -1, snapRev: -1}
	}
	if heads := r.heads; heads != nil && !fresh {
		rev, exists := heads.CommittedRevision(stream)
		if !exists && entry.revision == -1 || exists && int64(rev) == entry.revision {
			return entry, nil // nothing committed since this fold: no read needed
		}
	}
	// A fold that did not start from the stream's first event (a cached one, a snapshot)
	// and meets an erasure started from data in clear: it is folded again from the log.
	scratch := entry.revision == -1
	// verify is the revision whose event must be at the snapshot's position (-1: nothing to
	// check): the snapshot's last event is read again, and a log that does not hold it
	// there (restored from an older backup, another log) makes the snapshot worthless.
	verify := int64(-1)
	owned := cold // entries in the cache are shared and never change: only a copy is written
	if cold && !fresh && r.snaps != nil {
		if e := r.restore(ctx, stream); e.revision >= 0 {
			entry, verify, scratch = e, e.revision, false
		}
	}
	const page = 1024
	for {
		from := uint64(entry.revision + 1)
		if verify >= 0 {
			from = uint64(verify)
		}
		recs, err := r.store.ReadStream(ctx, stream, from, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			if verify >= 0 {
				entry, verify = r.discardSnapshot(stream, entry), -1
				continue
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("commands: read %s: %w", stream, err)
		}
		n := len(recs) // a full page means more may follow, the snapshot's own event included
		if verify >= 0 {
			if n == 0 || int64(recs[0].Revision) != verify || recs[0].Position != entry.position {
				entry, verify = r.discardSnapshot(stream, entry), -1
				continue
			}
			recs, verify = recs[1:], -1
		}
		if len(recs) > 0 && !owned {
			entry, owned = entry.clone(), true
		}
		for _, rec := range recs {
			dec, err := eventlog.Decode(rec)
			if err != nil {
				return nil, fmt.Errorf("commands: %w", err)
			}
			entry.state = r.evolve(entry.state, dec.Event)
			entry.revision = int64(rec.Revision)
			entry.folded(dec.Event, rec.Position)
			entry.noteCommand(dec.Meta.CommandID, dec.Event, rec.Revision, rec.Position)
		}
		if n < page {
			break
		}
	}
	if entry.erased && !scratch {
		r.cache.forget(stream)
		return r.loadFrom(ctx, stream, true)
	}
	if owned {
		r.maybeSave(ctx, stream, entry)
	}
	r.keep(stream, entry)
	return entry, nil
}

// keep caches a fold, except an erased account's (aggregateEntry.erased): that one is
// folded from the log at every load, which only the rare command on an erased account pays.
func (r *Repository[S]) keep(stream string, e *aggregateEntry[S]) {
	if e.erased {
		r.cache.forget(stream)
		return
	}
	r.cache.put(stream, e)
}

// discardSnapshot gives up a snapshot the log does not bear out: fold from the start.
func (r *Repository[S]) discardSnapshot(stream string, e *aggregateEntry[S]) *aggregateEntry[S] {
	snapshot.Stats.Invalid.Add(1)
	slog.Warn("snapshot: the log does not hold the snapshot's last event; folding from the log", "stream", stream, "revision", e.revision)
	return &aggregateEntry[S]{revision: -1, snapRev: -1}
}

func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	d += time.Duration(rand.Int64N(int64(d)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// keyedMutex serialises work per key and forgets keys nobody holds.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		m.refs--
		if m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
