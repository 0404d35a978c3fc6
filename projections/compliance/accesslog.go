package compliance

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"accountd/eventstore/eventlog"
)

// AccessRow is one access to an account (PCI DSS 10.2.1): a login that succeeded, failed or
// was refused, a lock or unlock, a disable or enable, an MFA event, a link refused, a
// session opened or closed, a credential change; with the fields 10.2.2 asks for: who
// (actor), what (event, detail), when, success or failure, origin and the affected account.
type AccessRow struct {
	Position  uint64    `json:"position"`
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Outcome   string    `json:"outcome"`
	Actor     string    `json:"actor"`
	AccountID string    `json:"account_id,omitempty"`
	Subject   string    `json:"subject"`
	Detail    string    `json:"detail"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	DeviceID  string    `json:"device_id,omitempty"`
}

// AccessLog calls fn with each record in [From, To] in log order. With a property, only
// the records of accounts that were its members at some moment of the period are listed;
// without one, attempts on unknown addresses (which belong to no property) are listed too.
func AccessLog(ctx context.Context, db *sql.DB, q Query, fn func(AccessRow) error) error {
	if err := q.Validate(false); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT position, at, event, outcome, actor, account_id, subject, detail, ip, user_agent, device_id
		FROM compliance_access
		WHERE at >= ? AND at <= ?
		  AND (? = '' OR account_id IN (SELECT account_id FROM compliance_member_periods
			WHERE property_id = ? AND since_at <= ? AND (until_at = 0 OR until_at >= ?)))
		ORDER BY at, position`, nanos(q.From), nanos(q.To), q.PropertyID, q.PropertyID, nanos(q.To), nanos(q.From))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r AccessRow
		var at int64
		if err := rows.Scan(&r.Position, &at, &r.Event, &r.Outcome, &r.Actor, &r.AccountID, &r.Subject, &r.Detail, &r.IP, &r.UserAgent, &r.DeviceID); err != nil {
			return err
		}
		r.At = fromNanos(at)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AccessHeader is the CSV header, in column order.
var AccessHeader = []string{"position", "at", "event", "outcome", "actor", "account_id", "subject", "detail", "ip", "user_agent", "device_id"}

// WriteAccessCSV streams the access log as RFC 4180 CSV with a header.
func WriteAccessCSV(ctx context.Context, w io.Writer, db *sql.DB, q Query) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(AccessHeader); err != nil {
		return err
	}
	rec := make([]string, len(AccessHeader))
	err := AccessLog(ctx, db, q, func(r AccessRow) error {
		rec[0], rec[1], rec[2], rec[3] = strconv.FormatUint(r.Position, 10), r.At.Format(time.RFC3339Nano), r.Event, r.Outcome
		rec[4], rec[5], rec[6], rec[7] = r.Actor, r.AccountID, r.Subject, r.Detail
		rec[8], rec[9], rec[10] = r.IP, r.UserAgent, r.DeviceID
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteAccessJSON streams the access log as one JSON object with a "rows" array.
func WriteAccessJSON(ctx context.Context, w io.Writer, db *sql.DB, policies *eventlog.PolicyHistory, q Query, now time.Time) error {
	if err := q.Validate(false); err != nil {
		return err
	}
	head := reportHead{Report: "access_log", PropertyID: q.PropertyID, From: q.From, To: q.To, GeneratedAt: now.UTC(), Policies: policies.InForce(q.From, q.To)}
	return streamJSON(w, head, func(row func(any) error) error {
		return AccessLog(ctx, db, q, func(r AccessRow) error { return row(r) })
	})
}

// InactiveCandidates lists, a page at a time, the accounts whose last successful login (or
// registration, or re-enable after inactivity) is at or before cutoff and that are neither
// deleted nor already disabled for inactivity. The sweep gives each to the domain, which
// decides on the aggregate: the projection only narrows the search.
func InactiveCandidates(ctx context.Context, db *sql.DB, cutoff time.Time, fn func(accountID string) error) error {
	after := ""
	for {
		var page []string
		rows, err := db.QueryContext(ctx, `SELECT account_id FROM compliance_accounts
			WHERE last_active_at <= ? AND deleted_at = 0 AND ',' || disabled_kinds || ',' NOT LIKE '%,inactivity,%' AND account_id > ?
			ORDER BY account_id LIMIT 500`, nanos(cutoff), after)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			page = append(page, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The cursor is closed before commands run, so no read snapshot is held during them.
		for _, id := range page {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1]
	}
}
