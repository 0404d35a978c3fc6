package sqlite

import "time"

// Synchronous selects how hard an append waits for the disk.
type Synchronous int

const (
	// Full answers an append only once the WAL holding it is fsynced: acknowledged
	// appends survive power loss.
	Full Synchronous = iota
	// Normal answers as soon as the commit is in the WAL and fsyncs only at checkpoints:
	// faster, but the last acknowledged appends can be lost on power loss (never on a
	// process crash, and the file stays consistent).
	Normal
)

// DefaultMaxBatch is how many append requests one group commit takes at most. Beyond a
// few hundred the fsync is already amortised and a bigger batch only delays the first
// request in it.
const DefaultMaxBatch = 512

// Option configures Open.
type Option func(*config)

type config struct {
	synchronous Synchronous
	now         func() time.Time
	maxBatch    int
	busyTimeout time.Duration
	archiveDir  string
	hooks       testHooks
}

func defaultConfig() config {
	return config{
		synchronous: Full,
		now:         time.Now,
		maxBatch:    DefaultMaxBatch,
		busyTimeout: 5 * time.Second,
	}
}

// WithSynchronous chooses the durability of a commit. The default is Full.
func WithSynchronous(s Synchronous) Option { return func(c *config) { c.synchronous = s } }

// WithClock sets the source of RecordedAt. The default is time.Now; values are stored as
// UTC Unix nanoseconds.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithArchiveDir sets the directory of the archive segments (Seal), which may sit on
// other storage. The default is "archive" beside the database file.
func WithArchiveDir(dir string) Option { return func(c *config) { c.archiveDir = dir } }

// WithMaxBatch caps the number of append requests per group commit (not events: one
// request may carry thousands). Values below one mean DefaultMaxBatch.
func WithMaxBatch(n int) Option {
	return func(c *config) {
		if n < 1 {
			n = DefaultMaxBatch
		}
		c.maxBatch = n
	}
}

// testHooks let tests line requests up in one batch and fail a commit or an fsync on
// purpose. All nil outside tests.
type testHooks struct {
	pickedUp     func() // after the writer takes a batch's first request, before draining
	beforeCommit func() error
	sync         func() error // before each fsync of the WAL
	// readOnlyWriter opens the writer connection mode=ro: the file as SQLite sees a file
	// it may not write, which chmod cannot produce for a test running as root.
	readOnlyWriter bool
}
