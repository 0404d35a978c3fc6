package serve

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"accountd/eventstore"
	"accountd/eventstore/personal"
)

// PersonalKeysFile is the default key store of the sealed personal data, in DataDir.
const PersonalKeysFile = "personal-keys.db"

// sealPersonal puts the sealing store (eventstore/personal) between the log and every
// reader and writer that decodes events: commands, projections, history, the outbox,
// streams, rebuilds. The transparency log, the chain check and evidence proofs keep the
// store underneath (logStore, and the raw store the witness opened), because their leaves
// commit to the stored bytes: destroying a key then changes no byte and no proof.
//
// A log written before sealing existed stays readable: its plaintext values are no
// tokens and pass through reads unchanged; only new appends are sealed.
func (s *Server) sealPersonal(ctx context.Context) error {
	if err := personal.CheckRetention(s.cfg.PersonalRetention); err != nil {
		return fmt.Errorf("--personal-retention: %w", err)
	}
	keys, err := OpenPersonalKeys(ctx, s.cfg)
	if err != nil {
		return err
	}
	s.logStore = s.store
	s.personal = personal.Seal(s.store, keys)
	s.store = s.personal
	return nil
}

// OpenPersonalKeys opens the key store a Config selects: PersonalKeys when set (a
// postgres:// URL, or a SQLite file); otherwise the postgres store's own database (tables
// beside the log's, in its schema), and DataDir/personal-keys.db for the sqlite and
// kurrentdb stores. Every node of a shared log must use the same key store: a node with
// keys of its own would seal under keys the others cannot open (they would read its
// tokens as they are). PostgreSQL's default is shared; several KurrentDB nodes need
// --personal-keys postgres://..., as a per-node file is not.
func OpenPersonalKeys(ctx context.Context, cfg Config) (personal.Keys, error) {
	cfg = cfg.withDefaults()
	url := ""
	switch {
	case strings.HasPrefix(cfg.PersonalKeys, "postgres://"), strings.HasPrefix(cfg.PersonalKeys, "postgresql://"):
		url = cfg.PersonalKeys
	case cfg.PersonalKeys == "" && cfg.Store == StorePostgres:
		url = cfg.StoreURL
	}
	if url != "" {
		k, err := personal.OpenPostgres(ctx, url, "")
		if err != nil {
			return nil, fmt.Errorf("personal data keys: %w", err)
		}
		return k, nil
	}
	path := cfg.PersonalKeys
	if path == "" {
		path = filepath.Join(cfg.DataDir, PersonalKeysFile)
	}
	k, err := personal.OpenSQLite(path)
	if err != nil {
		return nil, fmt.Errorf("personal data keys: %w", err)
	}
	return k, nil
}

// OpenSealedStore opens the event log a Config selects behind the sealing store, for the
// offline tools that decode events (history, what-if, rebuild, streams, demo). Its Unwrap
// is the log as stored, for what proves (verify, evidence).
func OpenSealedStore(ctx context.Context, cfg Config) (*personal.Store, error) {
	inner, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keys, err := OpenPersonalKeys(ctx, cfg)
	if err != nil {
		inner.Close()
		return nil, err
	}
	return personal.Seal(inner, keys), nil
}

// Personal is the sealing store, whose DestroySubject is the erasure command's shredder
// (commands.Shredder) and whose Keys the retention sweep destroys months in.
func (s *Server) Personal() *personal.Store { return s.personal }

// LogStore is the event log as stored (personal values sealed), what proofs commit to.
func (s *Server) LogStore() eventstore.Store { return s.logStore }

// ApplyPersonalRetention destroys the keys of the months past PersonalRetention: their IP
// addresses, user agents and devices read as erased from then on, in the log and every
// copy of it, and no proof changes.
func (s *Server) ApplyPersonalRetention(ctx context.Context) (floor string, destroyed int, err error) {
	return personal.ApplyRetention(ctx, s.personal.Keys(), s.cfg.Clock(), s.cfg.PersonalRetention)
}
