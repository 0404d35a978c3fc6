// Package projections holds accountd's read models: each follows the log from a checkpoint
// stored in the same transaction as its rows, so it is idempotent across restarts and can be
// dropped and rebuilt from the log at any time with identical results.
package projections

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
)

// Projection is one read model.
type Projection interface {
	// Name is stable: it keys the checkpoint.
	Name() string
	// Schema creates the projection's tables if they do not exist.
	Schema() []string
	// Tables lists the tables Reset drops.
	Tables() []string
	// Load warms any in-memory state from the tables after open or rebuild.
	Load(ctx context.Context, db *sql.DB) error
	// Apply writes the effect of events inside tx, which the runner commits together with the
	// checkpoint. It returns a function the runner calls only after the commit succeeded, to
	// publish in-memory state: a failed commit must leave memory as it was.
	Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (publish func(), err error)
}

// Versioned is a projection whose tables' meaning can change between releases. The runner
// records the version beside the checkpoint; when a release brings another version, it
// drops the projection's tables and checkpoint and replays the log into the new ones, so an
// upgrade never reads old rows with new meaning. A projection without Version is version 0.
type Versioned interface {
	Version() int
}

func versionOf(p Projection) int {
	if v, ok := p.(Versioned); ok {
		return v.Version()
	}
	return 0
}
