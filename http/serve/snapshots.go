package serve

import (
	"context"
	"fmt"
	"path/filepath"

	"accountd/commands"
	"accountd/eventstore/snapshot"
	"accountd/projections/history"
)

// openSnapshots opens where folded aggregates are kept beside the log (nil: none).
// KurrentDB gets none: a snapshot stream per aggregate stream would be the way there, and
// nothing here could test it (no KurrentDB server on the CI machine); its cold loads fold
// whole streams as before.
func (s *Server) openSnapshots(ctx context.Context) (snapshot.Store, error) {
	if s.cfg.SnapshotEvery < 0 {
		return nil, nil
	}
	switch s.cfg.Store {
	case "", StoreSQLite:
		st, err := snapshot.OpenSQLite(filepath.Join(s.cfg.DataDir, "snapshots.db"))
		if err != nil {
			return nil, fmt.Errorf("snapshots: %w", err)
		}
		return st, nil
	case StorePostgres:
		st, err := snapshot.OpenPostgres(ctx, s.cfg.StoreURL, "")
		if err != nil {
			return nil, fmt.Errorf("snapshots: %w", err)
		}
		return st, nil
	}
	return nil, nil
}

// historyReader reads point-in-time states and history pages from the nearest snapshot.
func (s *Server) historyReader(key []byte) *history.Reader {
	r := &history.Reader{Store: s.store, Policy: s.evidence.policies.At}
	if s.snapshots != nil {
		acc, prop, err := commands.SnapshotCodecs(key)
		if err == nil { // the service made the same codecs from the same key already
			r.Snapshots, r.AccountSnapshot, r.PropertySnapshot = s.snapshots, acc, prop
		}
	}
	return r
}
