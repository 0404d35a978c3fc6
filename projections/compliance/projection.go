// Package compliance is the read model behind the PCI DSS evidence: password rotation per
// account (8.3.9), invalid access attempts and credential changes (10.2.1.4, 10.2.1.5,
// 10.2.2), and the accounts the inactivity sweep looks at (8.2.6). Rows live only in SQLite
// (nothing in memory), so reports stream from a cursor whatever the number of accounts.
package compliance

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"accountd/domain"
	"accountd/projections"
)

// Name keys the projection's checkpoint.
const Name = "compliance"

// Projection implements projections.Projection.
type Projection struct{}

// New returns the projection.
func New() *Projection { return &Projection{} }

func (*Projection) Name() string { return Name }

func (*Projection) Tables() []string {
	return []string{"compliance_accounts", "compliance_members", "compliance_password_changes", "compliance_access",
		"compliance_member_periods", "compliance_disabled_periods", "compliance_sessions"}
}

// Version 2 added the membership and disable periods, so a past period is reported with the
// members and disables of its time, not today's. Version 3 made the access log cover all
// access (PCI 10.2.1): successful logins, locks and unlocks, disables and enables, every MFA
// event, link refusals and sessions, not only invalid attempts and credential changes.
func (*Projection) Version() int { return 3 }

// Times are Unix nanoseconds (0: never) so range predicates and ordering are integer
// comparisons on an index.
func (*Projection) Schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS compliance_accounts (
			account_id     TEXT PRIMARY KEY,
			email          TEXT NOT NULL,
			registered_at  INTEGER NOT NULL,
			last_active_at INTEGER NOT NULL,
			disabled_kinds TEXT NOT NULL DEFAULT '',
			disabled_since INTEGER NOT NULL DEFAULT 0,
			deleted_at     INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX IF NOT EXISTS compliance_accounts_active ON compliance_accounts(last_active_at)`,
		`CREATE TABLE IF NOT EXISTS compliance_members (
			property_id TEXT NOT NULL,
			account_id  TEXT NOT NULL,
			PRIMARY KEY (property_id, account_id)
		) WITHOUT ROWID`,
		`CREATE INDEX IF NOT EXISTS compliance_members_account ON compliance_members(account_id)`,
		`CREATE TABLE IF NOT EXISTS compliance_password_changes (
			position      INTEGER PRIMARY KEY,
			account_id    TEXT NOT NULL,
			at            INTEGER NOT NULL,
			cause         TEXT NOT NULL,
			actor         TEXT NOT NULL DEFAULT '',
			history_depth INTEGER NOT NULL,
			min_length    INTEGER NOT NULL,
			max_age       INTEGER NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS compliance_password_changes_account ON compliance_password_changes(account_id, at)`,
		`CREATE TABLE IF NOT EXISTS compliance_access (
			position   INTEGER PRIMARY KEY,
			at         INTEGER NOT NULL,
			account_id TEXT NOT NULL,
			subject    TEXT NOT NULL,
			event      TEXT NOT NULL,
			outcome    TEXT NOT NULL,
			detail     TEXT NOT NULL,
			actor      TEXT NOT NULL,
			ip         TEXT NOT NULL,
			user_agent TEXT NOT NULL,
			device_id  TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS compliance_access_at ON compliance_access(at)`,
		`CREATE INDEX IF NOT EXISTS compliance_access_account ON compliance_access(account_id, at)`,
		// Who belonged to a property when: until_at 0 is "still a member".
		`CREATE TABLE IF NOT EXISTS compliance_member_periods (
			property_id TEXT NOT NULL,
			account_id  TEXT NOT NULL,
			since_at    INTEGER NOT NULL,
			until_at    INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (property_id, account_id, since_at)
		) WITHOUT ROWID`,
		// When an account was disabled, by kind ("deleted" for a deletion): until_at 0 is
		// "still disabled".
		`CREATE TABLE IF NOT EXISTS compliance_disabled_periods (
			account_id TEXT NOT NULL,
			kind       TEXT NOT NULL,
			since_at   INTEGER NOT NULL,
			until_at   INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (account_id, kind, since_at)
		) WITHOUT ROWID`,
		// Where each session was opened from: its start and end are reported with the
		// origin of the login that opened it (10.2.2), which their events do not repeat.
		`CREATE TABLE IF NOT EXISTS compliance_sessions (
			session_id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL,
			ip         TEXT NOT NULL,
			user_agent TEXT NOT NULL,
			device_id  TEXT NOT NULL
		) WITHOUT ROWID`,
	}
}

// Load has nothing to warm: every query goes to SQLite.
func (*Projection) Load(context.Context, *sql.DB) error { return nil }

type accountRow struct {
	id, email      string
	registeredAt   int64
	lastActiveAt   int64
	disabledKinds  []string
	disabledSince  int64
	deletedAt      int64
	existed, dirty bool
}

// Apply folds the batch. Account rows touched by the batch are read once and written once.
func (p *Projection) Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (func(), error) {
	rows := map[string]*accountRow{}
	get := func(id string) (*accountRow, error) {
		if r, ok := rows[id]; ok {
			return r, nil
		}
		r := &accountRow{id: id}
		var kinds string
		err := tx.QueryRowContext(ctx, `SELECT email, registered_at, last_active_at, disabled_kinds, disabled_since, deleted_at
			FROM compliance_accounts WHERE account_id = ?`, id).Scan(&r.email, &r.registeredAt, &r.lastActiveAt, &kinds, &r.disabledSince, &r.deletedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		default:
			r.existed = true
			if kinds != "" {
				r.disabledKinds = strings.Split(kinds, ",")
			}
		}
		rows[id] = r
		return r, nil
	}
	for _, d := range events {
		stream := d.Recorded.Stream
		at := d.Event.At.UnixNano()
		pos := d.Recorded.Position
		if id, ok := strings.CutPrefix(stream, "account-"); ok {
			r, err := get(id)
			if err != nil {
				return nil, err
			}
			if err := p.applyAccount(ctx, tx, r, d, at, pos); err != nil {
				return nil, fmt.Errorf("compliance: %s at %d: %w", stream, pos, err)
			}
			continue
		}
		if hash, ok := strings.CutPrefix(stream, "unknown-email-"); ok {
			if e, ok := d.Event.Data.(domain.UnknownEmailLoginFailed); ok {
				subject := "unknown e-mail (keyed hash " + shorten(hash) + ")"
				if err := insertAccess(ctx, tx, pos, at, "", subject, e.EventType(), outcomeFailure,
					fmt.Sprintf("no account for this address; attempt %d", e.FailedAttempts), subject, e.Origin); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, r := range rows {
		if !r.dirty {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO compliance_accounts(account_id, email, registered_at, last_active_at, disabled_kinds, disabled_since, deleted_at)
			VALUES(?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(account_id) DO UPDATE SET email = excluded.email, registered_at = excluded.registered_at,
				last_active_at = excluded.last_active_at, disabled_kinds = excluded.disabled_kinds,
				disabled_since = excluded.disabled_since, deleted_at = excluded.deleted_at`,
			r.id, r.email, r.registeredAt, r.lastActiveAt, strings.Join(r.disabledKinds, ","), r.disabledSince, r.deletedAt); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

const (
	outcomeFailure = "failure"
	outcomeSuccess = "success"
)

func (p *Projection) applyAccount(ctx context.Context, tx *sql.Tx, r *accountRow, d eventlog.Decoded, at int64, pos uint64) error {
	// The user identification of 10.2.2: the address the attempt or change was made under.
	holder := r.email
	switch e := d.Event.Data.(type) {
	case domain.AccountRegistered:
		r.email, r.registeredAt, r.lastActiveAt, r.dirty = e.Email, at, at, true
		if e.PropertyID != "" {
			if err := addMember(ctx, tx, e.PropertyID, r.id, at); err != nil {
				return err
			}
		}
		if err := insertChange(ctx, tx, pos, r.id, at, string(domain.PasswordSetAtRegistration), "", e.Policy); err != nil {
			return err
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, "password_set", outcomeSuccess, "cause "+string(domain.PasswordSetAtRegistration), "registration", domain.Origin{})
	case domain.LinkedToProperty:
		return addMember(ctx, tx, e.PropertyID, r.id, at)
	case domain.UnlinkedFromProperty:
		if _, err := tx.ExecContext(ctx, `DELETE FROM compliance_members WHERE property_id = ? AND account_id = ?`, e.PropertyID, r.id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE compliance_member_periods SET until_at = ? WHERE property_id = ? AND account_id = ? AND until_at = 0`, at, e.PropertyID, r.id)
		return err
	case domain.LoginSucceeded:
		r.lastActiveAt, r.dirty = at, true
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO compliance_sessions(session_id, account_id, ip, user_agent, device_id) VALUES(?, ?, ?, ?, ?)`,
			e.SessionID, r.id, e.Origin.IP, e.Origin.UserAgent, e.Origin.DeviceID); err != nil {
			return err
		}
		detail := "session " + e.SessionID
		if e.MFAStep != 0 {
			detail += "; second factor verified"
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, detail, holder, e.Origin)
	case domain.SessionStarted:
		o, err := sessionOrigin(ctx, tx, e.SessionID)
		if err != nil {
			return err
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess,
			fmt.Sprintf("session %s; expires %s; idle timeout %s", e.SessionID, e.ExpiresAt.UTC().Format(time.RFC3339), e.IdleAfter), holder, o)
	case domain.SessionEnded:
		o, err := sessionOrigin(ctx, tx, e.SessionID)
		if err != nil {
			return err
		}
		// A session closed by a rule was closed by the engine; any other cause (a logout)
		// by the account holder.
		actor := holder
		switch e.Cause {
		case domain.SessionExpired, domain.SessionIdle, domain.SessionAccountBlocked, "suspicious_activity", "account_disabled":
			actor = actorSystem
		}
		if err := insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "session "+e.SessionID+"; cause "+string(e.Cause), actor, o); err != nil {
			return err
		}
		// A session ends once; one that only times out keeps its row, as small as the
		// login's own access row beside it.
		_, err = tx.ExecContext(ctx, `DELETE FROM compliance_sessions WHERE session_id = ?`, e.SessionID)
		return err
	case domain.AccountLocked:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess,
			fmt.Sprintf("locked after %d consecutive failures (threshold %d)", e.FailedAttempts, e.Threshold), actorSystem, domain.Origin{})
	case domain.AccountUnlocked:
		actor := actorSystem
		switch {
		case e.Actor != nil:
			actor = actorText(*e.Actor)
		case e.Cause == domain.UnlockByLink || e.Cause == domain.UnlockByReset:
			actor = holder
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "cause "+string(e.Cause), actor, domain.Origin{})
	case domain.ActivationLinkRejected:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeFailure, "activation link refused: "+string(e.Reason), holder, domain.Origin{})
	case domain.UnlockLinkRejected:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeFailure, "unlock link refused: "+string(e.Reason), holder, domain.Origin{})
	case domain.ResetLinkRejected:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeFailure, "reset link refused: "+string(e.Reason), holder, domain.Origin{})
	case domain.MFAEnrolmentStarted:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "second factor enrolment started", holder, domain.Origin{})
	case domain.MFAEnrolmentDeferred:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess,
			"second factor enrolment deferred until "+e.Until.UTC().Format(time.RFC3339), holder, domain.Origin{})
	case domain.MFACooldownStarted:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess,
			fmt.Sprintf("MFA attempts refused until %s after %d consecutive failures", e.Until.UTC().Format(time.RFC3339), e.FailedAttempts), actorSystem, domain.Origin{})
	case domain.LoginFailed:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeFailure,
			fmt.Sprintf("%s; consecutive failures %d", e.Reason, e.FailedAttempts), holder, e.Origin)
	case domain.LoginRejected:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeFailure,
			fmt.Sprintf("refused: %s; credentials verified %t", strings.Join(e.Reasons, ","), e.CredentialsVerified), holder, e.Origin)
	case domain.MFACodeRejected:
		detail := fmt.Sprintf("wrong MFA code; consecutive failures %d", e.FailedAttempts)
		if e.Replayed {
			detail = fmt.Sprintf("replayed MFA code; consecutive failures %d", e.FailedAttempts)
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeFailure, detail, holder, e.Origin)
	case domain.PasswordChanged:
		actor := holder
		if e.Actor != nil {
			actor = actorText(*e.Actor)
		}
		if err := insertChange(ctx, tx, pos, r.id, at, string(e.Cause), actor, e.Policy); err != nil {
			return err
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "cause "+string(e.Cause), actor, domain.Origin{})
	case domain.MFAEnrolmentConfirmed:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "second factor enrolled", holder, domain.Origin{})
	case domain.MFAReset:
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "second factor removed; enrolment due at next login", actorText(e.Actor), domain.Origin{})
	case domain.AccountDisabled:
		if err := openPeriod(ctx, tx, r.id, string(e.Kind), at); err != nil {
			return err
		}
		if !slices.Contains(r.disabledKinds, string(e.Kind)) {
			r.disabledKinds = append(r.disabledKinds, string(e.Kind))
			slices.Sort(r.disabledKinds)
		}
		if r.disabledSince == 0 {
			r.disabledSince = at
		}
		r.dirty = true
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, scopedKind(string(e.Kind), e.PropertyID, e.Actor), actorText(e.Actor), domain.Origin{})
	case domain.AccountEnabled:
		if err := closePeriods(ctx, tx, r.id, string(e.Kind), at); err != nil {
			return err
		}
		if e.Kind == "" {
			r.disabledKinds = nil
		} else {
			r.disabledKinds = slices.DeleteFunc(r.disabledKinds, func(k string) bool { return k == string(e.Kind) })
		}
		if len(r.disabledKinds) == 0 {
			r.disabledSince = 0
		}
		if e.Kind == domain.DisableInactivity || e.Kind == "" {
			r.lastActiveAt = at // as the domain does: re-enabling restarts the inactivity clock
		}
		r.dirty = true
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, scopedKind(string(e.Kind), e.PropertyID, e.Actor), actorText(e.Actor), domain.Origin{})
	case domain.AccountDeleted:
		r.deletedAt, r.dirty = at, true
		if err := openPeriod(ctx, tx, r.id, kindDeleted, at); err != nil {
			return err
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "account deleted", actorText(e.Actor), domain.Origin{})
	case domain.AccountErased:
		if err := forgetAccount(ctx, tx, r); err != nil {
			return err
		}
		if r.deletedAt == 0 {
			r.deletedAt = at
			if err := openPeriod(ctx, tx, r.id, kindDeleted, at); err != nil {
				return err
			}
		}
		r.dirty = true
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "account erased; reason "+e.Reason, actorText(e.Actor), domain.Origin{})
	case domain.AccountRestored:
		r.deletedAt, r.dirty = 0, true
		if err := closePeriods(ctx, tx, r.id, kindDeleted, at); err != nil {
			return err
		}
		return insertAccess(ctx, tx, pos, at, r.id, r.email, e.EventType(), outcomeSuccess, "account restored", actorText(e.Actor), domain.Origin{})
	}
	return nil
}

// forgetAccount replaces an erased account's personal values in every row it has by
// domain.Erased: its address (the row, the subject and the holder-as-actor of its access
// rows and password changes) and the origins of its attempts and sessions. A value that was
// empty stays empty, as it does when a rebuild reads the events after the key is gone (an
// absent field is not sealed), so the live rows and a rebuild's are the same. The facts
// themselves (when, what, outcome, who else acted) stay: they are the PCI evidence.
func forgetAccount(ctx context.Context, tx *sql.Tx, r *accountRow) error {
	holder := r.email
	erase := func(col string) string {
		return col + ` = CASE WHEN ` + col + ` = '' THEN '' ELSE '` + domain.Erased + `' END`
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`UPDATE compliance_access SET ` + erase("subject") + `, ` + erase("ip") + `, ` + erase("user_agent") + `, ` + erase("device_id") + `,
			actor = CASE WHEN actor = ? AND actor <> '' THEN '` + domain.Erased + `' ELSE actor END WHERE account_id = ?`, []any{holder, r.id}},
		{`UPDATE compliance_sessions SET ` + erase("ip") + `, ` + erase("user_agent") + `, ` + erase("device_id") + ` WHERE account_id = ?`, []any{r.id}},
		{`UPDATE compliance_password_changes SET actor = '` + domain.Erased + `' WHERE account_id = ? AND actor = ? AND actor <> ''`, []any{r.id, holder}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("forget account %s: %w", r.id, err)
		}
	}
	if r.email != "" {
		r.email = domain.Erased
	}
	return nil
}

// actorSystem is the actor of what the engine does by rule (a lock at the threshold, a
// timed unlock, a session closed by its timeout).
const actorSystem = "system"

// scopedKind describes a disable or enable: its kind ("" lifts every kind), the property
// it was scoped to and the note of a rule or support request behind it.
func scopedKind(kind, propertyID string, a domain.Actor) string {
	if kind == "" {
		kind = "all kinds"
	}
	s := "kind " + kind
	if propertyID != "" {
		s += "; property " + propertyID
	}
	if a.Note != "" {
		s += "; note " + a.Note
	}
	return s
}

// sessionOrigin is where a session was opened from (empty when its login is unknown).
func sessionOrigin(ctx context.Context, tx *sql.Tx, sessionID string) (domain.Origin, error) {
	var o domain.Origin
	err := tx.QueryRowContext(ctx, `SELECT ip, user_agent, device_id FROM compliance_sessions WHERE session_id = ?`, sessionID).Scan(&o.IP, &o.UserAgent, &o.DeviceID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, nil
	}
	return o, err
}

// kindDeleted records a deletion among the disable periods: the report names it "deleted".
const kindDeleted = "deleted"

func addMember(ctx context.Context, tx *sql.Tx, propertyID, accountID string, at int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO compliance_members(property_id, account_id) VALUES(?, ?)`, propertyID, accountID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO compliance_member_periods(property_id, account_id, since_at)
		SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM compliance_member_periods WHERE property_id = ? AND account_id = ? AND until_at = 0)`,
		propertyID, accountID, at, propertyID, accountID)
	return err
}

// openPeriod starts a disable period of a kind unless one is already open.
func openPeriod(ctx context.Context, tx *sql.Tx, accountID, kind string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO compliance_disabled_periods(account_id, kind, since_at)
		SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM compliance_disabled_periods WHERE account_id = ? AND kind = ? AND until_at = 0)`,
		accountID, kind, at, accountID, kind)
	return err
}

// closePeriods ends the open disable periods of a kind ("": every kind but a deletion, as
// AccountEnabled without a kind lifts every disable).
func closePeriods(ctx context.Context, tx *sql.Tx, accountID, kind string, at int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE compliance_disabled_periods SET until_at = ?
		WHERE account_id = ? AND until_at = 0 AND (kind = ? OR (? = '' AND kind <> ?))`, at, accountID, kind, kind, kindDeleted)
	return err
}

func insertChange(ctx context.Context, tx *sql.Tx, pos uint64, accountID string, at int64, cause, actor string, p domain.PolicyInForce) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO compliance_password_changes(position, account_id, at, cause, actor, history_depth, min_length, max_age)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?)`, pos, accountID, at, cause, actor, p.HistoryDepth, p.MinLength, int64(p.MaxAge))
	return err
}

func insertAccess(ctx context.Context, tx *sql.Tx, pos uint64, at int64, accountID, subject, event, outcome, detail, actor string, o domain.Origin) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO compliance_access(position, at, account_id, subject, event, outcome, detail, actor, ip, user_agent, device_id)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pos, at, accountID, subject, event, outcome, detail, actor, o.IP, o.UserAgent, o.DeviceID)
	return err
}

func actorText(a domain.Actor) string {
	switch a.Kind {
	case domain.ActorAccount:
		return "account:" + a.AccountID
	case domain.ActorSupport:
		return "support:" + a.Reference
	case "":
		return "unknown"
	}
	return string(a.Kind)
}

// shorten keeps enough of a keyed hash to correlate attempts without printing it whole.
func shorten(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Adopt keeps this instance through a rebuild (projections.Adopter): it holds nothing in memory: its state is its tables, which the rebuild swapped.
func (*Projection) Adopt(projections.Projection) error { return nil }
