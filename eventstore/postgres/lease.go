package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"accountd/eventstore/lease"
)

// Leases is the lease table of the nodes sharing this log (package lease): one row per
// piece of singleton work, with its holder, fencing token and expiry in the database's
// clock (now()), so the nodes' own clocks never decide who holds what; the work's fenced
// checkpoints; and the nodes' heartbeats. Its tables live in the log's schema.
func (s *Store) Leases() lease.Store { return &leases{s: s, sch: pgx.Identifier{s.schema}.Sanitize()} }

// leaseSchema is created with the log's tables (IF NOT EXISTS: a build without leases
// ignores them, so the schema version stays).
func leaseSchema(sch string) []string {
	return []string{
		"CREATE TABLE IF NOT EXISTS " + sch + `.leases (
			name       text        PRIMARY KEY,
			holder     text        NOT NULL,
			token      bigint      NOT NULL,
			since      timestamptz NOT NULL,
			expires_at timestamptz NOT NULL,
			previous   text        NOT NULL DEFAULT ''
		)`,
		"CREATE TABLE IF NOT EXISTS " + sch + `.work_checkpoints (
			name       text        PRIMARY KEY,
			position   bigint      NOT NULL,
			detail     text        NOT NULL DEFAULT '',
			token      bigint      NOT NULL DEFAULT 0,
			updated_at timestamptz NOT NULL
		)`,
		"CREATE TABLE IF NOT EXISTS " + sch + `.nodes (
			id         text        PRIMARY KEY,
			started_at timestamptz NOT NULL,
			last_seen  timestamptz NOT NULL,
			version    text        NOT NULL,
			position   bigint      NOT NULL DEFAULT 0
		)`,
	}
}

type leases struct {
	s   *Store
	sch string
}

var _ lease.Store = (*leases)(nil)

const leaseCols = "name, holder, token, since, expires_at, previous"

func scanLease(row pgx.Row) (lease.Lease, error) {
	var l lease.Lease
	var token int64
	err := row.Scan(&l.Name, &l.Holder, &token, &l.Since, &l.Expires, &l.Previous)
	l.Token = uint64(token)
	return l, err
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func (p *leases) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (lease.Lease, error) {
	// One statement: an absent row is inserted, a lapsed (or our own) one taken with the
	// next token; a live lease of another holder is left alone and read back.
	l, err := scanLease(p.s.pool.QueryRow(ctx, "INSERT INTO "+p.sch+".leases AS l ("+leaseCols+`)
		VALUES ($1, $2, 1, now(), now() + $3 * interval '1 second', '')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = l.token + 1, since = now(),
			expires_at = excluded.expires_at, previous = l.holder
		WHERE l.expires_at <= now() OR l.holder = excluded.holder
		RETURNING `+leaseCols, name, holder, seconds(ttl)))
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return lease.Lease{}, fmt.Errorf("postgres: acquire lease %s: %w", name, err)
	}
	cur, err := scanLease(p.s.pool.QueryRow(ctx, "SELECT "+leaseCols+" FROM "+p.sch+".leases WHERE name = $1", name))
	if err != nil {
		return lease.Lease{}, fmt.Errorf("postgres: read lease %s: %w", name, err)
	}
	return cur, lease.ErrHeld
}

func (p *leases) Renew(ctx context.Context, l lease.Lease, ttl time.Duration) (lease.Lease, error) {
	n, err := scanLease(p.s.pool.QueryRow(ctx, "UPDATE "+p.sch+`.leases SET expires_at = now() + $4 * interval '1 second'
		WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now() RETURNING `+leaseCols,
		l.Name, l.Holder, int64(l.Token), seconds(ttl)))
	if errors.Is(err, pgx.ErrNoRows) {
		return l, lease.ErrLost
	}
	if err != nil {
		return l, fmt.Errorf("postgres: renew lease %s: %w", l.Name, err)
	}
	return n, nil
}

func (p *leases) Release(ctx context.Context, l lease.Lease) error {
	_, err := p.s.pool.Exec(ctx, "UPDATE "+p.sch+`.leases SET expires_at = now()
		WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now()`, l.Name, l.Holder, int64(l.Token))
	if err != nil {
		return fmt.Errorf("postgres: release lease %s: %w", l.Name, err)
	}
	return nil
}

func (p *leases) Leases(ctx context.Context) ([]lease.Lease, error) {
	rows, err := p.s.pool.Query(ctx, "SELECT "+leaseCols+" FROM "+p.sch+".leases WHERE expires_at > now() ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("postgres: leases: %w", err)
	}
	defer rows.Close()
	var out []lease.Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: leases: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (p *leases) LoadCheckpoint(ctx context.Context, name string) (lease.Checkpoint, error) {
	c := lease.Checkpoint{Name: name}
	var pos int64
	err := p.s.pool.QueryRow(ctx, "SELECT position, detail, updated_at FROM "+p.sch+".work_checkpoints WHERE name = $1", name).
		Scan(&pos, &c.Detail, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("postgres: checkpoint %s: %w", name, err)
	}
	c.Position = uint64(pos)
	return c, nil
}

func (p *leases) SaveCheckpoint(ctx context.Context, l lease.Lease, c lease.Checkpoint) error {
	// The lease row is read FOR SHARE: a takeover (an UPDATE of that row) waits for this
	// write to commit, so the next holder's first read sees it, and a write under a token
	// that is no longer current inserts nothing.
	tag, err := p.s.pool.Exec(ctx, "INSERT INTO "+p.sch+`.work_checkpoints AS c (name, position, detail, token, updated_at)
		SELECT $1, $2, $3, l.token, now() FROM `+p.sch+`.leases l WHERE l.name = $4 AND l.holder = $5 AND l.token = $6 FOR SHARE
		ON CONFLICT (name) DO UPDATE SET position = excluded.position, detail = excluded.detail, token = excluded.token,
			updated_at = excluded.updated_at`,
		c.Name, int64(c.Position), c.Detail, l.Name, l.Holder, int64(l.Token))
	if err != nil {
		return fmt.Errorf("postgres: checkpoint %s: %w", c.Name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s under token %d of %s", lease.ErrFenced, c.Name, l.Token, l.Holder)
	}
	return nil
}

func (p *leases) ResetCheckpoint(ctx context.Context, name string, c lease.Checkpoint) error {
	tx, err := p.s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: reset %s: %w", c.Name, err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, "UPDATE "+p.sch+".leases SET token = token + 1, expires_at = least(expires_at, now()) WHERE name = $1", name); err != nil {
		return fmt.Errorf("postgres: revoke lease %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+p.sch+`.work_checkpoints (name, position, detail, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (name) DO UPDATE SET position = excluded.position, detail = excluded.detail, updated_at = excluded.updated_at`,
		c.Name, int64(c.Position), c.Detail); err != nil {
		return fmt.Errorf("postgres: reset %s: %w", c.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: reset %s: %w", c.Name, err)
	}
	return nil
}

func (p *leases) Heartbeat(ctx context.Context, n lease.Node) error {
	_, err := p.s.pool.Exec(ctx, "INSERT INTO "+p.sch+`.nodes (id, started_at, last_seen, version, position) VALUES ($1, $2, now(), $3, $4)
		ON CONFLICT (id) DO UPDATE SET last_seen = now(), version = excluded.version, position = excluded.position`,
		n.ID, n.StartedAt, n.Version, int64(n.Position))
	if err != nil {
		return fmt.Errorf("postgres: heartbeat: %w", err)
	}
	return nil
}

func (p *leases) Nodes(ctx context.Context, maxAge time.Duration) ([]lease.Node, error) {
	rows, err := p.s.pool.Query(ctx, "SELECT id, started_at, last_seen, version, position FROM "+p.sch+
		".nodes WHERE last_seen > now() - $1 * interval '1 second' ORDER BY started_at DESC, id", seconds(maxAge))
	if err != nil {
		return nil, fmt.Errorf("postgres: nodes: %w", err)
	}
	defer rows.Close()
	var out []lease.Node
	for rows.Next() {
		var n lease.Node
		var pos int64
		if err := rows.Scan(&n.ID, &n.StartedAt, &n.LastSeen, &n.Version, &pos); err != nil {
			return nil, fmt.Errorf("postgres: nodes: %w", err)
		}
		n.Position = uint64(pos)
		out = append(out, n)
	}
	return out, rows.Err()
}
