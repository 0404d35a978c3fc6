package compliance

import (
	"context"
	"database/sql"
	"fmt"

	"accountd/eventstore/eventlog"
)

// Fold applies events, in log order within each stream, to the compliance tables in db
// (created when missing) with the projection's own Apply; it may be called batch after
// batch. An evidence bundle's verifier re-derives every report row this way from the
// events the bundle carries: one piece of logic makes the rows on the server and checks
// them offline, so the two cannot drift apart.
func Fold(ctx context.Context, db *sql.DB, events []eventlog.Decoded) error {
	p := New()
	for _, stmt := range p.Schema() {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("compliance: fold: %w", err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := p.Apply(ctx, tx, events); err != nil {
		return err
	}
	return tx.Commit()
}

// Members lists, ordered, the accounts a property's reports over q cover: those that were
// its members at some moment of the period. The evidence export carries their events.
func Members(ctx context.Context, db *sql.DB, q Query) ([]string, error) {
	if err := q.Validate(true); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT account_id FROM compliance_member_periods
		WHERE property_id = ? AND since_at <= ? AND (until_at = 0 OR until_at >= ?) ORDER BY account_id`,
		q.PropertyID, nanos(q.To), nanos(q.From))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
