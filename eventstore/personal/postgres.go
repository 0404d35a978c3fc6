package personal

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres keeps the keys in tables beside the log's, in the same database, through a
// pool of its own: every node of a shared log seals and opens with the same keys, and a
// destroy on one node reaches the others within their Cache's TTL.
//
// A key row is never deleted, only its key set to NULL (the tombstone), so that no later
// get-or-create on any node can make a new key for a destroyed subject. What a destroy
// leaves behind: PostgreSQL's UPDATE writes a new row version and leaves the old one,
// key and all, as a dead tuple in the table's heap (and in the WAL segments and any base
// backup taken before) until VACUUM reclaims the space and the page is rewritten; the WAL
// segments go once archived or recycled. Destroy therefore runs a VACUUM of the key table
// after it (best effort: VACUUM frees the tuple, it does not zero it, and a page is
// overwritten only when reused), and the operator's guarantee is the retention of WAL
// archives and base backups of this database, which must be no longer than the time an
// erasure may take. The event log itself never holds a key.
type Postgres struct {
	pool                      *pgxpool.Pool
	subjects, periods, floors string
}

// OpenPostgres connects to url and creates the key tables when absent. An empty schema
// is the one the event store picks: the URL's search_path when it names one, else
// accountd.
func OpenPostgres(ctx context.Context, url, schema string) (*Postgres, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("personal: %w", err)
	}
	if schema == "" {
		schema = "accountd"
		if sp := strings.TrimSpace(pcfg.ConnConfig.RuntimeParams["search_path"]); sp != "" && !strings.ContainsAny(sp, ", \"\t") {
			schema = sp
		}
	}
	pcfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("personal: connect: %w", err)
	}
	p := &Postgres{pool: pool,
		subjects: pgx.Identifier{schema, "personal_subject_keys"}.Sanitize(),
		periods:  pgx.Identifier{schema, "personal_period_keys"}.Sanitize(),
		floors:   pgx.Identifier{schema, "personal_period_floor"}.Sanitize(),
	}
	if err := p.createTables(ctx, schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("personal: schema: %w", err)
	}
	return p, nil
}

// createTables makes the schema and tables under a transaction-level advisory lock: nodes
// starting together would otherwise race in CREATE ... IF NOT EXISTS, which PostgreSQL
// does not serialise (as eventstore/snapshot does).
func (p *Postgres) createTables(ctx context.Context, schema string) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('accountd.personal.schema' || $1))", schema); err != nil {
			return err
		}
		for _, stmt := range []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize(),
			"CREATE TABLE IF NOT EXISTS " + p.subjects + ` (
				subject      TEXT PRIMARY KEY,
				key          BYTEA,            -- NULL: destroyed (a tombstone)
				created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
				destroyed_at TIMESTAMPTZ)`,
			"CREATE TABLE IF NOT EXISTS " + p.periods + ` (
				month        TEXT PRIMARY KEY, -- YYYY-MM, UTC
				key          BYTEA,
				created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
				destroyed_at TIMESTAMPTZ)`,
			"CREATE TABLE IF NOT EXISTS " + p.floors + ` (
				id    BOOLEAN PRIMARY KEY CHECK (id),
				month TEXT NOT NULL)        -- every month before it is destroyed`,
			"INSERT INTO " + p.floors + "(id, month) VALUES (true, '') ON CONFLICT DO NOTHING",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ Keys = (*Postgres)(nil)

func (p *Postgres) SubjectKey(ctx context.Context, subject string, create bool) ([]byte, error) {
	if err := CheckSubject(subject); err != nil {
		return nil, err
	}
	key, found, err := p.read(ctx, p.pool, `SELECT key FROM `+p.subjects+` WHERE subject = $1`, subject)
	if err != nil || found || !create {
		return decide(key, found, err)
	}
	// The row, once there, is never deleted: ON CONFLICT keeps whichever node's key (or
	// tombstone) came first, and the read after it returns that.
	if _, err := p.pool.Exec(ctx, `INSERT INTO `+p.subjects+`(subject, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, subject, newKey()); err != nil {
		return nil, err
	}
	key, found, err = p.read(ctx, p.pool, `SELECT key FROM `+p.subjects+` WHERE subject = $1`, subject)
	return decide(key, found, err)
}

func (p *Postgres) PeriodKey(ctx context.Context, month string, create bool) ([]byte, error) {
	if err := CheckMonth(month); err != nil {
		return nil, err
	}
	key, found, err := p.read(ctx, p.pool, `SELECT key FROM `+p.periods+` WHERE month = $1`, month)
	if err != nil || found {
		return decide(key, found, err)
	}
	// A month with no row: destroyed if before the floor. Creating one holds the floor's
	// row lock, as DestroyPeriodsBefore does, so a key cannot be made for a month while
	// another node raises the floor past it.
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var floor string
		if err := tx.QueryRow(ctx, `SELECT month FROM `+p.floors+` WHERE id FOR `+map[bool]string{true: "UPDATE", false: "SHARE"}[create]).Scan(&floor); err != nil {
			return err
		}
		if month < floor {
			return ErrDestroyed
		}
		if create {
			if _, err := tx.Exec(ctx, `INSERT INTO `+p.periods+`(month, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, month, newKey()); err != nil {
				return err
			}
		}
		key, found, err = p.read(ctx, tx, `SELECT key FROM `+p.periods+` WHERE month = $1`, month)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found && !create {
		return nil, ErrNoKey
	}
	return decide(key, found, nil)
}

func (p *Postgres) read(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql, name string) ([]byte, bool, error) {
	var key []byte
	err := q.QueryRow(ctx, sql, name).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return key, err == nil, err
}

func decide(key []byte, found bool, err error) ([]byte, error) {
	switch {
	case err != nil:
		return nil, err
	case found && key == nil:
		return nil, ErrDestroyed
	case found:
		return key, nil
	}
	return nil, ErrNoKey
}

func (p *Postgres) DestroySubject(ctx context.Context, subject string) error {
	if err := CheckSubject(subject); err != nil {
		return err
	}
	if _, err := p.pool.Exec(ctx, `INSERT INTO `+p.subjects+`(subject, key, destroyed_at) VALUES ($1, NULL, now())
		ON CONFLICT (subject) DO UPDATE SET key = NULL, destroyed_at = coalesce(`+p.subjects+`.destroyed_at, now())`, subject); err != nil {
		return fmt.Errorf("personal: destroy %s: %w", subject, err)
	}
	p.vacuum(ctx, p.subjects)
	return nil
}

func (p *Postgres) DestroyPeriodsBefore(ctx context.Context, month string) (int, error) {
	if err := CheckMonth(month); err != nil {
		return 0, err
	}
	var n int64
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE `+p.floors+` SET month = greatest(month, $1) WHERE id`, month); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE `+p.periods+` SET key = NULL, destroyed_at = now() WHERE month < $1 AND key IS NOT NULL`, month)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("personal: destroy periods before %s: %w", month, err)
	}
	if n > 0 {
		p.vacuum(ctx, p.periods)
	}
	return int(n), nil
}

// vacuum reclaims the dead tuple a destroy left (see Postgres). Best effort: a VACUUM
// that cannot run now (a long transaction holds the old version visible) leaves it to
// autovacuum, and the destroy has still taken effect for every reader.
func (p *Postgres) vacuum(ctx context.Context, table string) {
	_, _ = p.pool.Exec(ctx, `VACUUM `+table)
}

func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}
