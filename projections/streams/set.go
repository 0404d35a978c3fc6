package streams

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"accountd/eventstore"
)

var streamName = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,64}$`)

// ValidName reports whether name can name a stream: letters, digits, - and _, at most 64.
func ValidName(name string) bool { return streamName.MatchString(name) }

// Set is every configured stream of a server.
type Set struct {
	store     eventstore.Store
	db        *sql.DB
	positions Positions
	source    string
	log       *slog.Logger
	clock     func() time.Time
	dead      deadLetters
	// checkpoints are the log's signed checkpoints, sent by every stream (nil: none).
	checkpoints SignedCheckpoints
	byName      map[string]*Stream
	order       []*Stream
}

const checkpointSchema = `CREATE TABLE IF NOT EXISTS stream_checkpoints (
	name TEXT PRIMARY KEY, position INTEGER NOT NULL, destination TEXT NOT NULL, updated_at TEXT NOT NULL)`

// Open prepares the streams' tables and reads their checkpoints; nothing connects until Run.
// A stream seen for the first time starts at the beginning of the log.
func Open(ctx context.Context, opts Options, configs ...Config) (*Set, error) {
	if opts.Store == nil || opts.DB == nil {
		return nil, errors.New("streams: a store and a database are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if err := prepare(ctx, opts.DB); err != nil {
		return nil, err
	}
	positions := opts.Positions
	if positions == nil {
		positions = localPositions{db: opts.DB, clock: opts.Clock}
	}
	set := &Set{store: opts.Store, db: opts.DB, positions: positions, source: opts.Source, log: opts.Logger.With("component", "streams"), clock: opts.Clock,
		dead: deadLetters{db: opts.DB, clock: opts.Clock}, checkpoints: opts.Checkpoints, byName: map[string]*Stream{}}
	if set.source == "" {
		set.source = "urn:accountd"
	}
	for _, c := range configs {
		c = c.withDefaults()
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if _, dup := set.byName[c.Name]; dup {
			return nil, fmt.Errorf("streams: %s configured twice", c.Name)
		}
		pos, dest, err := positions.Load(ctx, c.Name)
		if err != nil {
			return nil, err
		}
		if dest != "" && dest != c.Destination.String() {
			set.log.Warn("stream's destination changed: it goes on from its checkpoint (accountd streams reset NAME --from 1 replays the log)",
				"stream", c.Name, "was", dest, "now", c.Destination.String(), "position", pos)
		}
		s, err := newStream(set, c, pos)
		if err != nil {
			return nil, err
		}
		set.byName[c.Name] = s
		set.order = append(set.order, s)
	}
	return set, nil
}

func prepare(ctx context.Context, db *sql.DB) error {
	for _, stmt := range []string{checkpointSchema, deadLetterSchema} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("streams: schema: %w", err)
		}
	}
	return nil
}

func loadCheckpoint(ctx context.Context, db *sql.DB, name string) (uint64, string, error) {
	var pos uint64
	var dest string
	err := db.QueryRowContext(ctx, `SELECT position, destination FROM stream_checkpoints WHERE name = ?`, name).Scan(&pos, &dest)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("streams: checkpoint of %s: %w", name, err)
	}
	return pos, dest, nil
}

func saveCheckpoint(ctx context.Context, db *sql.DB, name string, pos uint64, dest string, now time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO stream_checkpoints(name, position, destination, updated_at) VALUES(?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET position = excluded.position, destination = excluded.destination, updated_at = excluded.updated_at`,
		name, pos, dest, now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("streams: checkpoint of %s: %w", name, err)
	}
	return nil
}

// Positions is where the streams keep their checkpoints: by default the stream_checkpoints
// table of Options.DB (one node); with several nodes on one log, the store they share, so
// the node that takes a stream over goes on from where the last holder stopped.
type Positions interface {
	Load(ctx context.Context, name string) (pos uint64, destination string, err error)
	// Save records the stream's progress; it fails once this node no longer holds the
	// stream (the fencing token of the lease ctx carries is stale).
	Save(ctx context.Context, name string, pos uint64, destination string) error
	// Reset is an operator's reset (from any node): the stream's holder stops, and the
	// next one starts from pos.
	Reset(ctx context.Context, name string, pos uint64, destination string) error
}

type localPositions struct {
	db    *sql.DB
	clock func() time.Time
}

func (l localPositions) Load(ctx context.Context, name string) (uint64, string, error) {
	return loadCheckpoint(ctx, l.db, name)
}

func (l localPositions) Save(ctx context.Context, name string, pos uint64, dest string) error {
	return saveCheckpoint(ctx, l.db, name, pos, dest, l.clock())
}

func (l localPositions) Reset(ctx context.Context, name string, pos uint64, dest string) error {
	return saveCheckpoint(ctx, l.db, name, pos, dest, l.clock())
}

// Streams are the configured streams in configuration order, for a server that runs each
// on its own (under its own lease) rather than all of them with Run.
func (set *Set) Streams() []*Stream { return append([]*Stream(nil), set.order...) }

// Run follows the log for every stream until ctx ends. A stream whose destination fails
// retries and pauses on its own; Run returns only with ctx.
func (set *Set) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, s := range set.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Stream returns a configured stream.
func (set *Set) Stream(name string) (*Stream, bool) {
	s, ok := set.byName[name]
	return s, ok
}

// Names lists the configured streams in configuration order.
func (set *Set) Names() []string {
	names := make([]string, len(set.order))
	for i, s := range set.order {
		names[i] = s.cfg.Name
	}
	return names
}

// List reports every stream, with its lag behind the log's head.
func (set *Set) List(ctx context.Context) ([]Status, error) {
	head, err := set.store.HeadPosition(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(set.order))
	for _, s := range set.order {
		st := s.status(head)
		if st.DeadLetters, err = set.dead.count(ctx, st.Name); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Reset makes a stream send again from position from (inclusive; 0 or 1: the whole log),
// while it runs. Errors wrap ErrUnknownStream or ErrBeyondHead.
func (set *Set) Reset(ctx context.Context, name string, from uint64) error {
	s, ok := set.byName[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownStream, name)
	}
	if err := checkResetPosition(ctx, set.store, from); err != nil {
		return err
	}
	return s.reset(ctx, from)
}

func checkResetPosition(ctx context.Context, store eventstore.Store, from uint64) error {
	head, err := store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	if from > head+1 {
		return fmt.Errorf("%w: --from %d, the log's head is %d", ErrBeyondHead, from, head)
	}
	return nil
}

// ResetOffline is Reset for a server that is not running: it writes the checkpoint of a
// stream named name (known or not yet configured) in db.
func ResetOffline(ctx context.Context, store eventstore.Store, db *sql.DB, name string, from uint64, now time.Time) error {
	if err := prepare(ctx, db); err != nil {
		return err
	}
	return ResetIn(ctx, store, localPositions{db: db, clock: func() time.Time { return now }}, name, from)
}

// ResetIn is Reset for a server that is not running, with the checkpoints in positions
// (the shared store of a PostgreSQL log).
func ResetIn(ctx context.Context, store eventstore.Store, positions Positions, name string, from uint64) error {
	if !streamName.MatchString(name) {
		return fmt.Errorf("%w %q", ErrUnknownStream, name)
	}
	if err := checkResetPosition(ctx, store, from); err != nil {
		return err
	}
	_, dest, err := positions.Load(ctx, name)
	if err != nil {
		return err
	}
	return positions.Reset(ctx, name, max(from, 1)-1, dest)
}
