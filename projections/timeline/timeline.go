// Package timeline is the audit timeline of detections (R3.3): every suspicious-activity
// record, address throttle and property attack, with its rule, evidence, action and who was
// notified, searchable by property, account, address and time. It is a projection: rows
// and checkpoint commit together, and it rebuilds from the log with identical results.
package timeline

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"accountd/domain"
	"accountd/projections"
)

// Name keys the timeline's checkpoint.
const Name = "suspicious_timeline"

// Entry is one detection on the timeline.
type Entry struct {
	ID         string          `json:"id"` // the event's ID
	Position   uint64          `json:"position"`
	At         time.Time       `json:"at"`
	Rule       string          `json:"rule"`
	Action     string          `json:"action"`
	AccountID  string          `json:"account_id,omitempty"`
	Properties []string        `json:"property_ids,omitempty"`
	IP         string          `json:"ip,omitempty"`
	Until      time.Time       `json:"until,omitzero"`
	Accounts   []string        `json:"accounts,omitempty"`
	Evidence   domain.Evidence `json:"evidence"`
	Notified   []string        `json:"notified"`
}

// Timeline is the projection; memory holds nothing, queries read SQLite.
type Timeline struct {
	db *sql.DB
}

// New returns the projection; Load gives it the database it queries.
func New() *Timeline { return &Timeline{} }

func (t *Timeline) Name() string { return Name }
func (t *Timeline) Tables() []string {
	return []string{"timeline_entries", "timeline_addresses", "timeline_properties", "timeline_members"}
}
func (t *Timeline) Schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS timeline_entries (position INTEGER PRIMARY KEY, at INTEGER NOT NULL, account_id TEXT NOT NULL, entry BLOB NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS timeline_entries_account ON timeline_entries(account_id, position)`,
		`CREATE TABLE IF NOT EXISTS timeline_addresses (position INTEGER NOT NULL, ip TEXT NOT NULL, PRIMARY KEY(ip, position)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS timeline_properties (position INTEGER NOT NULL, property_id TEXT NOT NULL, PRIMARY KEY(property_id, position)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS timeline_members (account_id TEXT NOT NULL, property_id TEXT NOT NULL, PRIMARY KEY(account_id, property_id)) WITHOUT ROWID`,
	}
}

func (t *Timeline) Load(_ context.Context, db *sql.DB) error {
	t.db = db
	return nil
}

// Apply records detections and follows memberships (to file an account's detection under
// the properties it belonged to at that moment).
func (t *Timeline) Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (func(), error) {
	for i := range events {
		d := &events[i]
		stream := d.Recorded.Stream
		var err error
		switch e := d.Event.Data.(type) {
		case domain.AccountRegistered:
			if e.PropertyID != "" {
				err = link(ctx, tx, e.AccountID, e.PropertyID)
			}
		case domain.LinkedToProperty:
			err = link(ctx, tx, strings.TrimPrefix(stream, "account-"), e.PropertyID)
		case domain.MemberAdded:
			err = link(ctx, tx, e.AccountID, strings.TrimPrefix(stream, "property-"))
		case domain.UnlinkedFromProperty:
			_, err = tx.ExecContext(ctx, `DELETE FROM timeline_members WHERE account_id = ? AND property_id = ?`, strings.TrimPrefix(stream, "account-"), e.PropertyID)
		case domain.MemberRemoved:
			_, err = tx.ExecContext(ctx, `DELETE FROM timeline_members WHERE account_id = ? AND property_id = ?`, e.AccountID, strings.TrimPrefix(stream, "property-"))
		case domain.SuspiciousActivityDetected:
			accountID := strings.TrimPrefix(stream, "account-")
			props, qerr := members(ctx, tx, accountID)
			if qerr != nil {
				return nil, qerr
			}
			err = insert(ctx, tx, Entry{AccountID: accountID, Properties: props, Rule: e.Rule, Action: e.Action, Evidence: e.Evidence, Notified: e.Notified}, d)
		case domain.AccountErased:
			err = forgetAccount(ctx, tx, strings.TrimPrefix(stream, "account-"))
		case domain.AddressThrottled:
			err = insert(ctx, tx, Entry{IP: e.IP, Rule: e.Rule, Action: domain.ActionAddressThrottled, Until: e.Until, Evidence: e.Evidence}, d)
		case domain.PropertyAttackDetected:
			err = insert(ctx, tx, Entry{Properties: []string{e.PropertyID}, Rule: e.Rule, Action: e.Action, Accounts: e.Accounts, Evidence: e.Evidence}, d)
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// forgetAccount erases the addresses and devices in the evidence of an erased account's
// detections, and unfiles those entries from the address index. Each value becomes
// domain.Erased, as a rebuild reading the events after the key is gone finds it (a sealed
// array is sealed element by element), so both give the same rows.
func forgetAccount(ctx context.Context, tx *sql.Tx, accountID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT position, entry FROM timeline_entries WHERE account_id = ?`, accountID)
	if err != nil {
		return err
	}
	type row struct {
		pos  uint64
		blob []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.pos, &r.blob); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		var e Entry
		if err := json.Unmarshal(r.blob, &e); err != nil {
			return fmt.Errorf("timeline entry %d: %w", r.pos, err)
		}
		for i := range e.Evidence.Addresses {
			e.Evidence.Addresses[i] = domain.Erased
		}
		for i := range e.Evidence.Devices {
			e.Evidence.Devices[i] = domain.Erased
		}
		blob, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE timeline_entries SET entry = ? WHERE position = ?`, blob, r.pos); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM timeline_addresses WHERE position = ?`, r.pos); err != nil {
			return err
		}
	}
	return nil
}

func link(ctx context.Context, tx *sql.Tx, accountID, propertyID string) error {
	_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO timeline_members(account_id, property_id) VALUES(?, ?)`, accountID, propertyID)
	return err
}

func members(ctx context.Context, tx *sql.Tx, accountID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT property_id FROM timeline_members WHERE account_id = ? ORDER BY property_id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func insert(ctx context.Context, tx *sql.Tx, e Entry, d *eventlog.Decoded) error {
	e.ID, e.Position, e.At = d.Recorded.ID.String(), d.Recorded.Position, d.Event.At
	if e.Notified == nil {
		e.Notified = []string{}
	}
	blob, err := json.Marshal(e)
	if err != nil {
		return err
	}
	// INSERT OR REPLACE: a replay over rows already written (a checkpoint older than the
	// rows, after a crash between them) leaves one row per event.
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO timeline_entries(position, at, account_id, entry) VALUES(?, ?, ?, ?)`,
		e.Position, e.At.UnixNano(), e.AccountID, blob); err != nil {
		return err
	}
	ips := map[string]bool{}
	if e.IP != "" && !domain.IsErased(e.IP) {
		ips[e.IP] = true
	}
	for _, a := range e.Evidence.Addresses {
		if !domain.IsErased(a) { // an erased address is no address: never one search key for many
			ips[domain.CanonicalIP(a)] = true
		}
	}
	for ip := range ips {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO timeline_addresses(position, ip) VALUES(?, ?)`, e.Position, ip); err != nil {
			return err
		}
	}
	for _, p := range e.Properties {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO timeline_properties(position, property_id) VALUES(?, ?)`, e.Position, p); err != nil {
			return err
		}
	}
	return nil
}

// Query filters the timeline. Zero fields do not filter.
type Query struct {
	PropertyID string
	AccountID  string
	IP         string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	Before     uint64    // from the cursor: positions strictly below
	Limit      int
}

// Page is one page, newest first. NextCursor is empty on the last page.
type Page struct {
	Entries    []Entry `json:"entries"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// ErrInvalidCursor: the cursor was not one this timeline issued.
var ErrInvalidCursor = errors.New("timeline: invalid cursor")

// EncodeCursor makes the opaque cursor for entries below position.
func EncodeCursor(position uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("tl1:" + strconv.FormatUint(position, 10)))
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(c string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, ErrInvalidCursor
	}
	n, ok := strings.CutPrefix(string(raw), "tl1:")
	if !ok {
		return 0, ErrInvalidCursor
	}
	pos, err := strconv.ParseUint(n, 10, 64)
	if err != nil || pos == 0 {
		return 0, ErrInvalidCursor
	}
	return pos, nil
}

// Search returns one page of entries matching q, newest first.
func (t *Timeline) Search(ctx context.Context, q Query) (Page, error) {
	if t.db == nil {
		return Page{}, errors.New("timeline: not loaded")
	}
	var where []string
	var args []any
	if q.AccountID != "" {
		where = append(where, `e.account_id = ?`)
		args = append(args, q.AccountID)
	}
	if q.PropertyID != "" {
		where = append(where, `e.position IN (SELECT position FROM timeline_properties WHERE property_id = ?)`)
		args = append(args, q.PropertyID)
	}
	if q.IP != "" {
		where = append(where, `e.position IN (SELECT position FROM timeline_addresses WHERE ip = ?)`)
		args = append(args, domain.CanonicalIP(q.IP))
	}
	if !q.Since.IsZero() {
		where = append(where, `e.at >= ?`)
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where = append(where, `e.at < ?`)
		args = append(args, q.Until.UnixNano())
	}
	if q.Before > 0 {
		where = append(where, `e.position < ?`)
		args = append(args, q.Before)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	sqlText := `SELECT e.entry FROM timeline_entries e`
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, ` AND `)
	}
	sqlText += ` ORDER BY e.position DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := t.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return Page{}, err
	}
	defer rows.Close()
	page := Page{Entries: []Entry{}}
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return Page{}, err
		}
		var e Entry
		if err := json.Unmarshal(blob, &e); err != nil {
			return Page{}, err
		}
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, err
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.NextCursor = EncodeCursor(page.Entries[limit-1].Position)
	}
	return page, nil
}

// Adopt keeps this instance through a rebuild (projections.Adopter): its entries live only in its tables, which the rebuild swapped, and it keeps querying the
// runner's database it was loaded with, so the instance the API holds needs no new state.
func (t *Timeline) Adopt(projections.Projection) error { return nil }
