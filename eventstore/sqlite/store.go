package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"accountd/eventstore"
)

var (
	// ErrLocked: another Store, in this process or another, has the file open for writing.
	ErrLocked = errors.New("sqlite: database is already open for writing")
	// ErrSchemaTooNew: the file was written by a newer accountd.
	ErrSchemaTooNew = errors.New("sqlite: schema version newer than this build")
)

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	path     string
	maxBatch int

	w          *writer
	ckpt       *checkpointer
	requests   chan *request        // Append -> writer
	exclusives chan *request        // Seal -> writer (archive.go)
	committed  chan *committedBatch // writer -> syncer
	closing    chan struct{}        // closed by Close
	stopped    chan struct{}        // closed once the writer and the syncer are done
	closeOnce  sync.Once
	closeErr   error
	unlock     func() error

	wal      *os.File      // fsynced by the syncer; nil with Normal
	durable  atomic.Uint64 // the last position readers may see
	faultErr atomic.Pointer[error]

	// For the writer's batching (groupcommit.go): callers inside Append, and requests
	// committed but not yet answered.
	appending    atomic.Int64
	awaitingSync atomic.Int64
	linger       *time.Timer // the writer's, reused for every batch

	// The eventstore.GroupCommitReporter callback, loaded by the writer once per batch.
	groupCommits atomic.Pointer[func(eventstore.GroupCommit)]

	readers   *sql.DB
	reads     readStatements
	archReads archiveStatements
	arch      archiveState // archive.go
	heads     streamHeads  // for CommittedRevision

	changes eventstore.Notifier
}

var (
	_ eventstore.Store               = (*Store)(nil)
	_ eventstore.ChainVerifier       = (*Store)(nil)
	_ eventstore.GroupCommitReporter = (*Store)(nil)
)

// Open opens or creates the event store in the file at path. Only one Store may have a
// file open at a time; a second Open fails with ErrLocked until the first is closed.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need a plain file path (the writer and the readers use separate connections)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Two locks: one on the database file itself, which no one can delete away from
	// under a running store, and the lock file earlier builds took, so that one of them
	// still running during an upgrade keeps a new one out too.
	unlockDB, err := lockDatabase(abs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	unlockFile, err := lockWriter(abs + ".lock")
	if err != nil {
		_ = unlockDB()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	// The database lock last: closing its descriptor after SQLite's own are closed.
	unlock := func() error { return errors.Join(unlockFile(), unlockDB()) }
	s := &Store{
		path:       abs,
		maxBatch:   cfg.maxBatch,
		requests:   make(chan *request, cfg.maxBatch),
		exclusives: make(chan *request),
		committed:  make(chan *committedBatch, 16),
		closing:    make(chan struct{}),
		stopped:    make(chan struct{}),
		unlock:     unlock,
		linger:     time.NewTimer(time.Hour),
	}
	s.arch.dir = cfg.archiveDir
	if s.arch.dir == "" {
		s.arch.dir = defaultArchiveDir(abs)
	}
	s.linger.Stop()
	if err := s.open(cfg); err != nil {
		_ = unlock()
		if isDamage(err) {
			return nil, damaged(abs, err)
		}
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	go s.runWriter()
	go s.runSyncer()
	go s.ckpt.run(s.stopped)
	return s, nil
}

func (s *Store) open(cfg config) (err error) {
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	conn, err := openRaw(s.writerDSN(cfg))
	if err != nil {
		return fmt.Errorf("open write connection: %w", err)
	}
	closers = append(closers, conn.close)
	// Refuse a newer file before touching it: even switching its journal mode is a write.
	if err := checkVersion(conn); err != nil {
		return err
	}
	// A file SQLite may only read opens without complaint, and then fails every append.
	if err := probeWritable(conn); err != nil {
		if isDamage(err) {
			return err
		}
		return readOnly(s.path, err)
	}
	// Checkpoints are run by the checkpointer and, rarely, by the writer between batches
	// (checkpoint.go), never inside a commit. journal_size_limit returns the disk space of
	// an unusually long WAL once it restarts.
	for _, pragma := range []string{
		"PRAGMA journal_mode = WAL",
		"PRAGMA wal_autocheckpoint = 0",
		"PRAGMA journal_size_limit = 67108864",
	} {
		if err := conn.exec(pragma); err != nil {
			return fmt.Errorf("%s: %w", pragma, err)
		}
	}
	if err := migrate(conn); err != nil {
		return err
	}
	w, err := newWriter(conn, cfg)
	if err != nil {
		return err
	}
	closers = append(closers[:0], w.close)
	s.w = w

	if cfg.synchronous == Full {
		if s.wal, err = openWAL(s.path); err != nil {
			return err
		}
		closers = append(closers, s.wal.Close)
	}
	s.durable.Store(w.lastPosition)

	wait := checkpointWait
	if cfg.synchronous == Normal {
		wait = checkpointInterval
	}
	if s.ckpt, err = newCheckpointer(s.writerDSN(cfg), wait); err != nil {
		return err
	}
	closers = append(closers, s.ckpt.close)

	s.readers, err = sql.Open("sqlite3", s.readerDSN(cfg))
	if err != nil {
		return fmt.Errorf("open read pool: %w", err)
	}
	closers = append(closers, s.readers.Close)
	n := max(4, runtime.GOMAXPROCS(0))
	s.readers.SetMaxOpenConns(n)
	s.readers.SetMaxIdleConns(n)
	if err := s.reads.prepare(s.readers); err != nil {
		return err
	}
	closers = append(closers, s.reads.close)
	if err := s.archReads.prepare(s.readers); err != nil {
		return err
	}
	closers = append(closers, s.archReads.close)
	return s.loadArchive()
}

func (s *Store) uri() string {
	return "file:" + (&url.URL{Path: s.path}).EscapedPath()
}

// The writer connection always runs synchronous=NORMAL: with Full, the syncer does the
// commit fsync itself (see durability.go).
func (s *Store) writerDSN(cfg config) string {
	dsn := fmt.Sprintf("%s?_synchronous=NORMAL&_busy_timeout=%d&_cache_size=-65536",
		s.uri(), cfg.busyTimeout.Milliseconds())
	if cfg.hooks.readOnlyWriter { // tests: a read-only file, as root cannot make one
		dsn += "&mode=ro"
	}
	return dsn
}

// The readers are read-only at the SQLite level (mode=ro, query_only), so a bug in a read
// path cannot become a second writer behind the single writer's back. Each keeps its
// prepared statements: the followers run the same reads for every commit.
func (s *Store) readerDSN(cfg config) string {
	return fmt.Sprintf("%s?mode=ro&_query_only=1&_busy_timeout=%d&_stmt_cache_size=64", s.uri(), cfg.busyTimeout.Milliseconds())
}

// Changes implements eventstore.Store. Subscribers are woken once new events are durable.
// Only appends made through this Store notify.
func (s *Store) Changes() (<-chan struct{}, func()) { return s.changes.Changes() }

// Close stops the writer after the batch it is committing, fails queued appends with
// ErrClosed, and releases the file. Closing twice returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.stopped
		<-s.ckpt.done
		// Readers first: the last connection to close checkpoints and removes the WAL,
		// which only the read-write one can do.
		errs := []error{s.reads.close(), s.archReads.close(), s.readers.Close(), s.ckpt.close()}
		if s.wal != nil {
			errs = append(errs, s.wal.Close())
		}
		errs = append(errs, s.w.close(), s.unlock())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

func (s *Store) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}
