package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres keeps snapshots in a table beside the log's, in the same database, through a
// pool of its own (the event store's internals are not shared). Several nodes may save the
// same snapshot: the first one is kept.
type Postgres struct {
	pool  *pgxpool.Pool
	table string
}

// OpenPostgres connects to url and creates schema.snapshots when absent. An empty schema
// is the one the event store picks: the URL's search_path when it names one, else accountd.
func OpenPostgres(ctx context.Context, url, schema string) (*Postgres, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
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
		return nil, fmt.Errorf("snapshot: connect: %w", err)
	}
	ident := pgx.Identifier{schema}.Sanitize()
	table := pgx.Identifier{schema, "snapshots"}.Sanitize()
	if err := createTable(ctx, pool, schema, ident, table); err != nil {
		pool.Close()
		return nil, fmt.Errorf("snapshot: schema: %w", err)
	}
	return &Postgres{pool: pool, table: table}, nil
}

// createTable makes the schema and table under a transaction-level advisory lock: nodes
// starting together on one log would otherwise race in CREATE ... IF NOT EXISTS, which
// PostgreSQL does not serialise (a unique violation on pg_type or pg_class).
func createTable(ctx context.Context, pool *pgxpool.Pool, schema, ident, table string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('accountd.snapshot.schema' || $1))", schema); err != nil {
			return err
		}
		for _, stmt := range []string{
			"CREATE SCHEMA IF NOT EXISTS " + ident,
			"CREATE TABLE IF NOT EXISTS " + table + ` (
				stream   TEXT        NOT NULL,
				version  TEXT        NOT NULL,
				revision BIGINT      NOT NULL,
				at_ns    BIGINT      NOT NULL, -- nanoseconds: timestamptz keeps only microseconds
				data     BYTEA       NOT NULL,
				PRIMARY KEY (stream, version, revision))`,
			"CREATE INDEX IF NOT EXISTS snapshots_by_time ON " + table + " (stream, version, at_ns, revision)",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *Postgres) Save(ctx context.Context, r Record) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO `+p.table+`(stream, version, revision, at_ns, data) VALUES($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, r.Stream, r.Version, int64(r.Revision), r.At.UnixNano(), r.Data)
	return err
}

func (p *Postgres) Latest(ctx context.Context, stream, version string, maxRevision int64, notAfter time.Time) (Record, bool, error) {
	var rev, atNS int64
	var data []byte
	var row pgx.Row
	if notAfter.IsZero() {
		row = p.pool.QueryRow(ctx, `SELECT revision, at_ns, data FROM `+p.table+`
			WHERE stream = $1 AND version = $2 AND revision <= $3 ORDER BY revision DESC LIMIT 1`, stream, version, maxRevision)
	} else {
		// At never decreases with the revision: the newest by time is the newest by revision.
		row = p.pool.QueryRow(ctx, `SELECT revision, at_ns, data FROM `+p.table+`
			WHERE stream = $1 AND version = $2 AND at_ns <= $3 AND revision <= $4 ORDER BY at_ns DESC, revision DESC LIMIT 1`,
			stream, version, notAfter.UnixNano(), maxRevision)
	}
	err := row.Scan(&rev, &atNS, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return Record{Stream: stream, Version: version, Revision: uint64(rev), At: time.Unix(0, atNS).UTC(), Data: data}, true, nil
}

func (p *Postgres) DeleteAll(ctx context.Context) error {
	_, err := p.pool.Exec(ctx, `DELETE FROM `+p.table)
	return err
}

// DeleteStream deletes a stream's snapshots. PostgreSQL reuses the dead tuples' space at
// its next vacuum; what is left until then is sealed under the snapshot key.
func (p *Postgres) DeleteStream(ctx context.Context, stream string) error {
	_, err := p.pool.Exec(ctx, `DELETE FROM `+p.table+` WHERE stream = $1`, stream)
	return err
}

func (p *Postgres) Close() error { p.pool.Close(); return nil }
