// Package postgres is the PostgreSQL event store: the log shared by several accountd nodes.
//
// # Global order
//
// PostgreSQL sequences hand out numbers in call order, not commit order: a transaction
// that took 41 can commit after the one that took 42, and a reader that saw 42 and moved
// its checkpoint past it would never read 41. Instead every append transaction first takes
// a transaction-level advisory lock (pg_advisory_xact_lock, one key per schema), then
// reads the head position and hash inside the lock and writes position head+1... The lock
// is released only after the commit is visible, so commits happen in position order and a
// reader can never see a position whose predecessor is still to come: ReadAll needs no
// visibility tricks and the positions stay gapless, as the hash chain requires.
//
// The price is one writer at a time, cluster-wide. Within a node that is amortised by
// group commit: one goroutine takes every append already queued and decides them all in a
// single transaction (one lock, one INSERT, in one round trip once the node holds the lock
// and knows the log's head: turn.go, commitFast), so 64 concurrent writers cost a few
// transactions, not 64. The transaction commits without waiting for the WAL flush, so
// across nodes the lock is held for two round trips a batch (the lock and the head, then
// the batch); callers are
// answered, and readers see the batch, once a separate synchronous commit has made it
// durable (durability.go).
//
// Every write must go through this package: the lock is cooperative, and a row inserted
// by other means would break both the order and the chain (VerifyChain would say where).
//
// # Live following
//
// Raising the durable head calls pg_notify, at most once per tellEvery a node (tell.go);
// PostgreSQL delivers it at commit, to every node. A dedicated listener connection per
// Store turns notifications into Changes()
// wake-ups, reconnecting with backoff when the connection drops (and waking followers on
// reconnect, since notifications sent meanwhile are lost). Appends through this Store also
// wake local followers directly, and eventstore.Follow polls every second, so a lost
// notification delays a follower, never starves it.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/transparency"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSchemaTooNew: the schema was created by a newer accountd.
var ErrSchemaTooNew = errors.New("postgres: schema version newer than this build")

// schemaVersion is stored in the meta table. Bump it with every schema change and teach
// migrate the step from the previous one.
const schemaVersion = 3

// Option configures a Store.
type Option func(*config)

type config struct {
	schema   string
	now      func() time.Time
	maxBatch int
	maxConns int32
}

// WithSchema puts the store's tables in this PostgreSQL schema (created if absent), so
// several logs, or several test runs, can share one database. Without it the schema is the
// URL's search_path when that names one schema (postgres://.../db?search_path=tenant1, so a
// deployment chooses it in its URL alone), otherwise "accountd".
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

// WithClock sets the source of RecordedAt, so tests can pin timestamps.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithMaxBatch bounds how many queued appends one group commit takes (default 256).
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBatch = n
		}
	}
}

// WithMaxConns bounds the connection pool (default 8, plus the listener's connection).
func WithMaxConns(n int32) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = n
		}
	}
}

// Store is the PostgreSQL event store. It is safe for concurrent use, and any number of
// Stores, in any number of processes, may share one schema.
type Store struct {
	pool     *pgxpool.Pool
	schema   string // as given
	q        queries
	lockKey  int64
	channel  string
	now      func() time.Time
	maxBatch int

	requests   chan *request
	syncs      chan syncJob // decided batches, from the writer to the syncer
	durable    uint64       // the syncer's: the head this node last made durable
	closing    chan struct{}
	writerDone chan struct{}
	stopListen context.CancelFunc
	listenDone chan struct{}
	closeOnce  sync.Once

	// The eventstore.GroupCommitReporter callback, loaded by the writer once per batch.
	groupCommits atomic.Pointer[func(eventstore.GroupCommit)]

	changes eventstore.Notifier
	tell    teller // which raises of the durable head are told to the nodes

	// The transparency tree's right edge as of this node's last commit, and the leaf
	// hasher: both the writer goroutine's alone.
	frontier transparency.Frontier
	leaves   transparency.LeafHasher
	// What the writer knows after this node's last commit, for the one-round-trip path
	// (commitFast): the log's head and its hash, whether nobody else wrote just before,
	// and stream heads it wrote or read under the lock (never ahead of the truth).
	last     uint64
	lastHash [32]byte
	fast     bool
	heads    map[string]uint64
	// The writer's turn (turn.go): the connection holding the append lock between batches,
	// and since when. turnInTx: the lock is the transaction-level one of a transaction
	// that beginTurn opened, which the turn's one batch commits.
	turn        *pgxpool.Conn
	turnInTx    bool
	turnSince   time.Time
	contested   bool      // this turn lasts one batch: another node writes too
	contendedAt time.Time // when a turn last found another node's commit before it
	// flushedTo is the last position a contended batch made durable itself (commitFast),
	// so its syncer job needs no flush of its own.
	flushedTo uint64
}

var (
	_ eventstore.Store               = (*Store)(nil)
	_ eventstore.ChainVerifier       = (*Store)(nil)
	_ eventstore.GroupCommitReporter = (*Store)(nil)
	_ eventstore.HashTree            = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or key=value DSN), creates the
// schema if it is absent, and starts the writer and the notification listener.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	cfg := config{schema: "accountd", now: time.Now, maxBatch: 256, maxConns: 8}
	if sp := strings.TrimSpace(pcfg.ConnConfig.RuntimeParams["search_path"]); sp != "" && !strings.ContainsAny(sp, ", \"\t") {
		cfg.schema = sp
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.schema == "" || strings.ContainsRune(cfg.schema, 0) {
		return nil, fmt.Errorf("postgres: open: invalid schema name %q", cfg.schema)
	}
	pcfg.MaxConns = cfg.maxConns
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{
		pool:       pool,
		schema:     cfg.schema,
		q:          newQueries(cfg.schema),
		lockKey:    lockKey("append", cfg.schema),
		channel:    channelName(cfg.schema),
		now:        cfg.now,
		maxBatch:   cfg.maxBatch,
		requests:   make(chan *request, cfg.maxBatch),
		syncs:      make(chan syncJob, 8),
		heads:      map[string]uint64{},
		tell:       teller{every: tellEvery},
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		listenDone: make(chan struct{}),
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open schema %q: %w", cfg.schema, err)
	}
	listenCtx, stop := context.WithCancel(context.Background())
	s.stopListen = stop
	go s.listen(listenCtx, pcfg.ConnConfig.Copy())
	go s.runWriter()
	go s.runSyncer()
	return s, nil
}

// lockKey derives an advisory-lock key from the schema name, so stores in different
// schemas (tests, tenants) never wait for one another.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("accountd.eventstore." + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// channelName is per schema for the same reason; NOTIFY channels are identifiers of at
// most 63 bytes, so long schema names are represented by their hash.
func channelName(schema string) string {
	name := "accountd_events_" + schema
	if len(name) <= 63 {
		return name
	}
	return fmt.Sprintf("accountd_events_%016x", uint64(lockKey("notify", schema)))
}

// Changes implements eventstore.Store. Appends from every node sharing the schema notify.
func (s *Store) Changes() (<-chan struct{}, func()) { return s.changes.Changes() }

// Close stops the writer after the batch it is committing, fails queued appends with
// ErrClosed, stops the listener and closes the pool. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone
		s.stopListen()
		<-s.listenDone
		s.pool.Close()
	})
	return nil
}

func (s *Store) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// migrate creates the schema under an advisory lock of its own: two nodes starting
// together would otherwise race on CREATE TABLE IF NOT EXISTS, which is not atomic.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("migrate", s.schema)); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	for _, stmt := range append(s.q.schema, leaseSchema(pgx.Identifier{s.schema}.Sanitize())...) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("create: %w", err)
		}
	}
	var version int
	err = tx.QueryRow(ctx, s.q.version).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, s.q.setVersion, schemaVersion); err != nil {
			return fmt.Errorf("record version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("read version: %w", err)
	case version > schemaVersion:
		return fmt.Errorf("%w: schema version %d, this build knows up to %d; upgrade accountd", ErrSchemaTooNew, version, schemaVersion)
	case version == 1 || version == 2:
		// Schema 2 added the tree; schema 3 the durable head, which the schema
		// statements above created at the last stored position (older versions committed
		// synchronously: all of it is durable).
		if version == 1 {
			if err := s.migrateTree(ctx, tx); err != nil {
				return fmt.Errorf("add the hash tree to schema 1: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, s.q.bumpVersion, schemaVersion); err != nil {
			return fmt.Errorf("record version: %w", err)
		}
	case version != schemaVersion:
		return fmt.Errorf("unknown schema version %d", version)
	}
	return tx.Commit(ctx)
}

// queries holds the SQL with the schema name already quoted in.
type queries struct {
	schema       []string
	version      string
	setVersion   string
	bumpVersion  string
	treeAt       string
	tip          string
	streamHeads  string
	findIDs      string
	insert       string
	insertIfHead string
	readAll      string
	readStream   string
	streamExists string
	headPosition string
	raiseDurable string
	// raiseIfMine raises the durable head to $1, and with $4 tells every node (tell.go),
	// only if the event at $1 is the one this node wrote there (its chain hash $2).
	raiseIfMine string
}

func newQueries(schema string) queries {
	sch := pgx.Identifier{schema}.Sanitize()
	t := sch + ".events"
	const cols = "position, stream, revision, event_id, type, recorded_at, data, metadata, hash"
	return queries{
		// recorded_at holds Unix nanoseconds because the hash covers exactly that number; a
		// timestamptz keeps only microseconds. (stream, revision) is both the index that
		// reads a stream and the last line of defence against two events on one revision.
		schema: []string{
			"CREATE SCHEMA IF NOT EXISTS " + sch,
			"CREATE TABLE IF NOT EXISTS " + sch + `.meta (
				key   text PRIMARY KEY,
				value integer NOT NULL
			)`,
			"CREATE TABLE IF NOT EXISTS " + t + ` (
				position    bigint  PRIMARY KEY,
				stream      text    NOT NULL,
				revision    bigint  NOT NULL,
				event_id    uuid    NOT NULL UNIQUE,
				type        text    NOT NULL,
				recorded_at bigint  NOT NULL,
				data        bytea,
				metadata    bytea,
				hash        bytea   NOT NULL,
				UNIQUE (stream, revision)
			)`,
			// Schema 2: each row's transparency tree hashes (tree.go).
			"ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS tree bytea",
			// Schema 3: the durable head, one row (durability.go). Readers stop there.
			"CREATE TABLE IF NOT EXISTS " + sch + `.head (
				one      boolean PRIMARY KEY DEFAULT true CHECK (one),
				position bigint  NOT NULL
			)`,
			"INSERT INTO " + sch + ".head (one, position) SELECT true, coalesce(max(position), 0) FROM " + t +
				" ON CONFLICT (one) DO NOTHING",
		},
		version:     "SELECT value FROM " + sch + ".meta WHERE key = 'schema_version'",
		setVersion:  "INSERT INTO " + sch + ".meta (key, value) VALUES ('schema_version', $1)",
		bumpVersion: "UPDATE " + sch + ".meta SET value = $1 WHERE key = 'schema_version'",
		treeAt:      "SELECT position, tree FROM " + t + " WHERE position = ANY($1::bigint[])",
		// What the writer reads under the lock, in one statement (tip.go): the rows holding
		// the frontier of the log's tree, whose size n is the log's head, at position
		// (n >> b) << b for every bit b set in n (transparency.FrontierIndexes; the lowest
		// set bit gives n itself, the head), and the row at $1, this node's last position.
		// One index probe a position, whatever the planner thinks of the table's size: with
		// a join it chose a sequential scan of a young table (OFFSET 0 keeps the lateral
		// subquery from being flattened into one).
		tip: "SELECT p.pos, e.hash, e.tree FROM (SELECT (h.n >> b) << b FROM (SELECT coalesce(max(position), 0) AS n FROM " + t +
			") h, generate_series(0, 62) b WHERE (h.n >> b) & 1 = 1 UNION ALL SELECT $1::bigint) p(pos)," +
			" LATERAL (SELECT hash, tree FROM " + t + " WHERE position = p.pos OFFSET 0) e",
		// One index probe per stream (the last entry of (stream, revision)), rather than a
		// max() that would scan the whole stream.
		streamHeads: "SELECT s.stream, (SELECT revision FROM " + t + " e WHERE e.stream = s.stream ORDER BY revision DESC LIMIT 1)" +
			" FROM unnest($1::text[]) AS s(stream)",
		findIDs: "SELECT event_id, stream, revision, position FROM " + t + " WHERE event_id = ANY($1::uuid[])",
		insert: "INSERT INTO " + t + " (" + cols + ", tree) SELECT * FROM unnest(" +
			"$1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bigint[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[])",
		// Every read stops at the durable head; only the writer, under the lock, sees
		// further (head, frontier, streamHeads, findIDs above).
		// The fast path's INSERT: nothing unless the log's head is still $11 and the event
		// there is still the one this node wrote (hash $12), not another written after a
		// crash lost it.
		insertIfHead: "INSERT INTO " + t + " (" + cols + ", tree) SELECT * FROM unnest(" +
			"$1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bigint[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[])" +
			" WHERE (SELECT coalesce(max(position), 0) FROM " + t + ") = $11" +
			" AND (SELECT hash FROM " + t + " WHERE position = $11) = $12::bytea",
		readAll: "SELECT " + cols + " FROM " + t + " WHERE position > $1 AND position <= (SELECT position FROM " + sch + ".head) ORDER BY position LIMIT $2",
		readStream: "SELECT " + cols + " FROM " + t + " WHERE stream = $1 AND revision >= $2 AND position <= (SELECT position FROM " + sch + ".head)" +
			" ORDER BY revision LIMIT $3",
		streamExists: "SELECT EXISTS (SELECT 1 FROM " + t + " WHERE stream = $1 AND position <= (SELECT position FROM " + sch + ".head))",
		headPosition: "SELECT position FROM " + sch + ".head",
		raiseDurable: "UPDATE " + sch + ".head SET position = $1 WHERE position < $1",
		raiseIfMine: "WITH mine AS (SELECT (SELECT hash FROM " + t + " WHERE position = $1) = $2::bytea AS yes)," +
			" raised AS (UPDATE " + sch + ".head SET position = $1 WHERE position < $1 AND (SELECT yes FROM mine))" +
			" SELECT pg_notify($3, $1::bigint::text) FROM mine WHERE yes AND $4::boolean",
	}
}
