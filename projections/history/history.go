// Package history answers questions about the past from the log itself: an account's
// events with its status right after each one, its full state at an instant, and what a
// candidate policy would have changed (what-if). Nothing here is a projection: each answer
// folds the streams it needs on demand, so it is exact to the event and needs no rebuild.
//
// Secrets never leave: each event type's output fields are whitelisted (fields), so a
// field added to an event later stays hidden until someone decides it may be shown.
package history

import (
	"accountd/eventstore/eventlog"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/snapshot"
)

// Reader folds streams from the log.
type Reader struct {
	Store eventstore.Store
	// Policy is the policy in force at an instant (eventlog.PolicyHistory.At): history is
	// judged by the rules of its time, not today's.
	Policy func(at time.Time) domain.Policy
	// Snapshots, with the codecs the command side saves them with, lets a point-in-time
	// read or a history page start from the nearest snapshot before what it asks instead
	// of the stream's first event. Nil: every answer folds from the start (same answers).
	Snapshots        snapshot.Store
	AccountSnapshot  *snapshot.Codec[domain.Account]
	PropertySnapshot *snapshot.Codec[domain.Property]
}

func (r *Reader) accounts() snapshot.Folder[domain.Account] {
	return snapshot.Folder[domain.Account]{Log: r.Store, Snapshots: r.Snapshots, Codec: r.AccountSnapshot, Evolve: domain.EvolveAccount}
}

func (r *Reader) properties() snapshot.Folder[domain.Property] {
	return snapshot.Folder[domain.Property]{Log: r.Store, Snapshots: r.Snapshots, Codec: r.PropertySnapshot, Evolve: domain.EvolveProperty}
}

// propertyAt folds a property's events that happened at or before at.
func (r *Reader) propertyAt(ctx context.Context, id string, at time.Time) (domain.Property, error) {
	p, _, err := r.properties().Fold(ctx, domain.PropertyStream(id), snapshot.NoRevisionLimit, at,
		func(d eventlog.Decoded) bool { return d.Event.At.After(at) }, nil)
	return p, err
}

// Stable error codes of this package (the API maps them to 400/404).
const (
	CodeAccountNotFound             = domain.CodeAccountNotFound
	CodeInvalidQuery    domain.Code = "invalid_query"
)

// Error is a refusal with a stable code.
type Error struct {
	Code    domain.Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// readStream returns every decoded event of a stream (none when it does not exist).
func (r *Reader) readStream(ctx context.Context, stream string) ([]eventlog.Decoded, error) {
	var out []eventlog.Decoded
	var from uint64
	const page = 1024
	for {
		recs, err := r.Store.ReadStream(ctx, stream, from, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			d, err := eventlog.Decode(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		if len(recs) < page {
			return out, nil
		}
		from = recs[len(recs)-1].Revision + 1
	}
}

// propertyLogs holds the full streams of the properties a history page meets, read once
// per page.
type propertyLogs struct {
	r    *Reader
	logs map[string][]eventlog.Decoded
}

// at folds each of ids' events that happened at or before at.
func (l *propertyLogs) at(ctx context.Context, ids []string, at time.Time) ([]domain.Property, error) {
	out := make([]domain.Property, 0, len(ids))
	for _, id := range ids {
		evs, ok := l.logs[id]
		if !ok {
			var err error
			if evs, err = l.r.readStream(ctx, domain.PropertyStream(id)); err != nil {
				return nil, err
			}
			l.logs[id] = evs
		}
		var p domain.Property
		for _, d := range evs {
			if d.Event.At.After(at) {
				break
			}
			p = domain.EvolveProperty(p, d.Event)
		}
		out = append(out, p)
	}
	return out, nil
}

// Entry is one event of an account's history with the status right after it.
type Entry struct {
	Revision  uint64          `json:"revision"`
	Position  uint64          `json:"position"`
	EventID   string          `json:"event_id"`
	Type      string          `json:"type"`
	At        time.Time       `json:"at"`
	Actor     *domain.Actor   `json:"actor,omitempty"`
	Origin    *domain.Origin  `json:"origin,omitempty"`
	Data      map[string]any  `json:"data"`
	CommandID string          `json:"command_id,omitempty"`
	Status    string          `json:"status"`
	Reasons   []domain.Reason `json:"reasons"`
}

// HistoryPage is a page of entries, oldest first; NextAfter is the revision to pass as
// after for the next page (absent on the last page).
type HistoryPage struct {
	AccountID string  `json:"account_id"`
	Entries   []Entry `json:"entries"`
	NextAfter *uint64 `json:"next_after,omitempty"`
}

// Events returns the account's events with revision greater than after (after < 0: from
// the first), at most limit. The status after each event is evaluated at that event's time
// with the properties as they were then, under the policy in force then.
func (r *Reader) Events(ctx context.Context, accountID string, after int64, limit int) (HistoryPage, error) {
	page := HistoryPage{AccountID: accountID, Entries: []Entry{}}
	props := &propertyLogs{r: r, logs: map[string][]eventlog.Decoded{}}
	var failed error
	// The fold starts from the nearest snapshot at or before after: the entries are the
	// events after it, each with the status right after it.
	_, rev, err := r.accounts().Fold(ctx, domain.AccountStream(accountID), after, time.Time{}, nil, func(a domain.Account, d eventlog.Decoded) bool {
		if int64(d.Recorded.Revision) <= after {
			return true
		}
		if len(page.Entries) == limit {
			next := page.Entries[len(page.Entries)-1].Revision
			page.NextAfter = &next
			return false
		}
		ps, err := props.at(ctx, a.Properties, d.Event.At)
		if err != nil {
			failed = err
			return false
		}
		st := domain.EvaluateStatus(a, ps, d.Event.At, r.Policy(d.Event.At))
		e := Entry{Revision: d.Recorded.Revision, Position: d.Recorded.Position, EventID: d.Recorded.ID.String(), Type: d.Recorded.Type,
			At: d.Event.At, CommandID: d.Meta.CommandID, Status: st.Status, Reasons: st.Reasons}
		e.Data, e.Actor, e.Origin = fields(d.Event.Data, accountID)
		page.Entries = append(page.Entries, e)
		return true
	})
	if err == nil {
		err = failed
	}
	if err != nil {
		return HistoryPage{}, err
	}
	if rev < 0 {
		return HistoryPage{}, &Error{Code: CodeAccountNotFound, Message: "account does not exist"}
	}
	return page, nil
}

// State is an account's state at an instant, without secrets.
type State struct {
	AccountID         string                             `json:"account_id"`
	At                time.Time                          `json:"at"`
	Revision          int64                              `json:"revision"`
	Email             string                             `json:"email"`
	RegisteredAt      time.Time                          `json:"registered_at,omitzero"`
	Activated         bool                               `json:"activated"`
	ActivatedAt       time.Time                          `json:"activated_at,omitzero"`
	Deleted           bool                               `json:"deleted"`
	Properties        []string                           `json:"properties"`
	PasswordChangedAt time.Time                          `json:"password_changed_at,omitzero"`
	PasswordExpiresAt time.Time                          `json:"password_expires_at,omitzero"`
	ChangeRequired    bool                               `json:"password_change_required"`
	FailedAttempts    int                                `json:"failed_attempts"`
	Locked            bool                               `json:"locked"`
	LockedAt          time.Time                          `json:"locked_at,omitzero"`
	MFA               MFAView                            `json:"mfa"`
	Disabled          map[domain.DisableKind]DisableView `json:"disabled"`
	FirstLoginAt      time.Time                          `json:"first_login_at,omitzero"`
	LastLoginAt       time.Time                          `json:"last_login_at,omitzero"`
	OpenSessions      int                                `json:"open_sessions"`
	Status            domain.AccountStatus               `json:"status"`
}

// DisableView is one reason the account is disabled, by kind. The domain's record has no
// JSON names of its own: it is state, not an answer.
type DisableView struct {
	Since      time.Time    `json:"since"`
	Actor      domain.Actor `json:"actor"`
	PropertyID string       `json:"property_id,omitempty"`
}

// MFAView is the second factor without its secret.
type MFAView struct {
	Enrolled       bool      `json:"enrolled"`
	EnrolledAt     time.Time `json:"enrolled_at,omitzero"`
	FailedAttempts int       `json:"failed_attempts"`
	CooldownUntil  time.Time `json:"cooldown_until,omitzero"`
	DeferredUntil  time.Time `json:"deferred_until,omitzero"`
	ResetPending   bool      `json:"reset_pending"`
}

// StateAt folds the events that happened at or before at (account and properties) and
// evaluates the time rules at at.
func (r *Reader) StateAt(ctx context.Context, accountID string, at time.Time) (State, error) {
	// The nearest snapshot whose events all happened by at, then the events after it up
	// to the first that happened later.
	a, rev, err := r.accounts().Fold(ctx, domain.AccountStream(accountID), snapshot.NoRevisionLimit, at,
		func(d eventlog.Decoded) bool { return d.Event.At.After(at) }, nil)
	if err != nil {
		return State{}, err
	}
	if rev < 0 {
		if exists, err := r.exists(ctx, accountID); err != nil {
			return State{}, err
		} else if !exists {
			return State{}, &Error{Code: CodeAccountNotFound, Message: "account does not exist"}
		}
		return State{}, &Error{Code: CodeAccountNotFound, Message: "the account did not exist yet at " + at.Format(time.RFC3339)}
	}
	props := make([]domain.Property, 0, len(a.Properties))
	for _, id := range a.Properties {
		p, err := r.propertyAt(ctx, id, at)
		if err != nil {
			return State{}, err
		}
		props = append(props, p)
	}
	p := r.Policy(at)
	open := 0
	for _, s := range a.Sessions {
		if at.Before(s.ExpiresAt) {
			open++
		}
	}
	ids := a.Properties
	if ids == nil {
		ids = []string{}
	}
	disabled := make(map[domain.DisableKind]DisableView, len(a.Disabled))
	for kind, d := range a.Disabled {
		disabled[kind] = DisableView{Since: d.Since, Actor: d.Actor, PropertyID: d.PropertyID}
	}
	return State{
		AccountID: accountID, At: at, Revision: rev, Email: a.Email, RegisteredAt: a.RegisteredAt, Activated: a.Activated, ActivatedAt: a.ActivatedAt,
		Deleted: a.Deleted, Properties: ids, PasswordChangedAt: a.PasswordChangedAt, PasswordExpiresAt: a.PasswordExpiresAt(p),
		ChangeRequired: a.ChangeRequired, FailedAttempts: a.FailedAttempts, Locked: a.IsLockedAt(at, p), LockedAt: a.LockedAt,
		MFA: MFAView{Enrolled: a.MFA.Enrolled, EnrolledAt: a.MFA.EnrolledAt, FailedAttempts: a.MFA.FailedAttempts, CooldownUntil: a.MFA.CooldownUntil,
			DeferredUntil: a.MFA.DeferredUntil, ResetPending: a.MFA.ResetPending},
		Disabled: disabled, FirstLoginAt: a.FirstLoginAt, LastLoginAt: a.LastLoginAt, OpenSessions: open,
		Status: domain.EvaluateStatus(a, props, at, p),
	}, nil
}

// exists reports whether the account's stream holds any event.
func (r *Reader) exists(ctx context.Context, accountID string) (bool, error) {
	_, err := r.Store.ReadStream(ctx, domain.AccountStream(accountID), 0, 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return false, nil
	}
	return err == nil, err
}

// fields whitelists what each event type may show. A type missing here shows no data.
func fields(p domain.Payload, accountID string) (map[string]any, *domain.Actor, *domain.Origin) {
	self := &domain.Actor{Kind: domain.ActorAccount, AccountID: accountID}
	system := &domain.Actor{Kind: domain.ActorSystem}
	origin := func(o domain.Origin) *domain.Origin {
		if o == (domain.Origin{}) {
			return nil
		}
		return &o
	}
	m := map[string]any{}
	switch e := p.(type) {
	case domain.AccountRegistered:
		m["email"], m["property_id"], m["policy"] = e.Email, e.PropertyID, e.Policy
		return m, nil, nil
	case domain.ActivationLinkIssued:
		m["expires_at"] = e.ExpiresAt
		return m, system, nil
	case domain.AccountActivated:
		return m, self, nil
	case domain.ActivationLinkRejected:
		m["reason"] = e.Reason
		return m, nil, nil
	case domain.LinkedToProperty:
		m["property_id"] = e.PropertyID
		return m, nil, nil
	case domain.UnlinkedFromProperty:
		m["property_id"] = e.PropertyID
		return m, &e.Actor, nil
	case domain.LoginSucceeded:
		return m, self, origin(e.Origin)
	case domain.LoginFailed:
		m["reason"], m["failed_attempts"] = e.Reason, e.FailedAttempts
		return m, self, origin(e.Origin)
	case domain.LoginRejected:
		m["reasons"], m["credentials_verified"] = e.Reasons, e.CredentialsVerified
		return m, self, origin(e.Origin)
	case domain.AccountLocked:
		m["failed_attempts"], m["threshold"] = e.FailedAttempts, e.Threshold
		return m, system, nil
	case domain.AccountUnlocked:
		m["cause"] = e.Cause
		if e.Actor != nil {
			return m, e.Actor, nil
		}
		return m, system, nil
	case domain.UnlockLinkIssued:
		m["expires_at"] = e.ExpiresAt
		return m, system, nil
	case domain.UnlockLinkRejected:
		m["reason"] = e.Reason
		return m, nil, nil
	case domain.PasswordResetRequested:
		m["expires_at"] = e.ExpiresAt
		return m, nil, nil
	case domain.ResetLinkRejected:
		m["reason"] = e.Reason
		return m, nil, nil
	case domain.PasswordChanged:
		m["cause"], m["policy"] = e.Cause, e.Policy
		if e.Actor != nil {
			return m, e.Actor, nil
		}
		return m, self, nil
	case domain.PasswordChangeRequired:
		m["reason"] = e.Reason
		return m, system, nil
	case domain.MFAEnrolmentStarted, domain.MFAEnrolmentConfirmed:
		return m, self, nil
	case domain.MFAEnrolmentDeferred:
		m["until"] = e.Until
		return m, self, nil
	case domain.MFACodeRejected:
		m["failed_attempts"], m["replayed"] = e.FailedAttempts, e.Replayed
		return m, self, origin(e.Origin)
	case domain.MFACooldownStarted:
		m["until"], m["failed_attempts"] = e.Until, e.FailedAttempts
		return m, system, nil
	case domain.MFAReset:
		return m, &e.Actor, nil
	case domain.SuspiciousActivityDetected:
		m["rule"], m["evidence"], m["action"], m["notified"] = e.Rule, e.Evidence, e.Action, e.Notified
		return m, system, nil
	case domain.AccountDisabled:
		m["kind"], m["property_id"] = e.Kind, e.PropertyID
		return m, &e.Actor, nil
	case domain.AccountEnabled:
		m["kind"], m["property_id"] = e.Kind, e.PropertyID
		return m, &e.Actor, nil
	case domain.SessionStarted:
		// The session ID is a bearer secret: only its limits are shown.
		m["expires_at"], m["idle_after"] = e.ExpiresAt, e.IdleAfter.String()
		return m, self, nil
	case domain.SessionActive:
		return m, self, nil
	case domain.SessionEnded:
		m["cause"] = e.Cause
		return m, nil, nil
	case domain.AccountDeleted:
		return m, &e.Actor, nil
	case domain.AccountRestored:
		return m, &e.Actor, nil
	}
	return m, nil, nil
}

// ParseTime reads an RFC 3339 instant, refusing anything else with a stable code.
func ParseTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, &Error{Code: CodeInvalidQuery, Message: fmt.Sprintf("%s must be an RFC 3339 time, e.g. 2026-03-02T09:00:00Z", name)}
	}
	return t.UTC(), nil
}

func uniq(vs []string) []string {
	slices.Sort(vs)
	return slices.Compact(vs)
}
