package serve

import (
	"context"
	"fmt"
	"path/filepath"

	"accountd/eventstore"
	"accountd/eventstore/kurrentdb"
	"accountd/eventstore/postgres"
	"accountd/eventstore/sqlite"
)

// Event-log backends for Config.Store.
const (
	// StoreSQLite is the embedded log in DataDir/events.db: one node.
	StoreSQLite = "sqlite"
	// StorePostgres is a PostgreSQL log shared by any number of nodes (StoreURL is a
	// postgres:// URL; the tables live in the schema its search_path names, by default
	// "accountd").
	StorePostgres = "postgres"
	// StoreKurrentDB is a KurrentDB / EventStoreDB log (StoreURL is an esdb:// URL).
	StoreKurrentDB = "kurrentdb"
)

// openStore opens the event log Config selects. Whatever the log, the read models stay in
// DataDir: each node builds its own by following the shared log from its own checkpoint,
// and commands reach the shared log under optimistic concurrency (the command side's
// aggregate cache reads the stream's tail before every decision, so another node's writes
// are never decided against stale state).
func openStore(ctx context.Context, cfg Config) (eventstore.Store, error) {
	switch cfg.Store {
	case "", StoreSQLite:
		if cfg.StoreURL != "" {
			return nil, fmt.Errorf("event log: --store-url is not used with the sqlite store (it lives in --data)")
		}
		return nonNil(sqlite.Open(filepath.Join(cfg.DataDir, "events.db"), sqlite.WithSynchronous(cfg.Sync), sqlite.WithArchiveDir(cfg.ArchiveDir)))
	case StorePostgres:
		if cfg.StoreURL == "" {
			return nil, fmt.Errorf("event log: the postgres store needs a URL (--store-url postgres://...)")
		}
		return nonNil(postgres.Open(ctx, cfg.StoreURL))
	case StoreKurrentDB:
		if cfg.StoreURL == "" {
			return nil, fmt.Errorf("event log: the kurrentdb store needs a URL (--store-url esdb://...)")
		}
		return nonNil(kurrentdb.Open(ctx, cfg.StoreURL))
	default:
		return nil, fmt.Errorf("event log: unknown store %q (want sqlite, postgres or kurrentdb)", cfg.Store)
	}
}

// nonNil keeps a failed Open's typed nil pointer out of the interface: the server closes a
// non-nil store when New fails, and a nil *postgres.Store in an interface is not nil.
func nonNil[S eventstore.Store](s S, err error) (eventstore.Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
