package domain

import "time"

// SessionActivityResolution is how often a session's use is recorded: finer would write an
// event per request for nothing, as the idle rule counts in hours.
const SessionActivityResolution = time.Minute

// Why a session is no longer valid.
const (
	SessionUnknown        = "unknown"
	SessionExpired        = "expired"      // open longer than the maximum age
	SessionIdle           = "idle_timeout" // unused longer than the idle timeout
	SessionAccountBlocked = "account_blocked"
	SessionLoggedOut      = "logout" // ended by its holder
)

// ExpiresAtIfIdle is when the session ends if nothing else happens: the earlier of its hard
// limit and the idle limit counted from its last recorded use.
func (s Session) ExpiresAtIfIdle() time.Time {
	idleAt := s.LastSeenAt.Add(s.IdleAfter)
	if idleAt.Before(s.ExpiresAt) {
		return idleAt
	}
	return s.ExpiresAt
}

// SessionCheck is whether a session may still be used, and until when.
type SessionCheck struct {
	Valid      bool
	Reason     string
	ExpiresAt  time.Time // the earlier of the hard limit and the idle limit
	StartedAt  time.Time
	LastSeenAt time.Time
}

// SessionValidity evaluates a session at now (R7.1): closed after the maximum age, or after
// the idle timeout without use, or when the account may no longer log in: deleted,
// disabled (its properties' billing and subscriptions included) or locked.
func SessionValidity(a Account, properties []Property, sessionID string, now time.Time, p Policy) SessionCheck {
	s, ok := a.Sessions[sessionID]
	if !ok {
		return SessionCheck{Reason: SessionUnknown}
	}
	idleAt := s.LastSeenAt.Add(s.IdleAfter)
	c := SessionCheck{Valid: true, StartedAt: s.StartedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAtIfIdle()}
	switch {
	case !now.Before(s.ExpiresAt):
		c.Valid, c.Reason = false, SessionExpired
	case !now.Before(idleAt):
		c.Valid, c.Reason = false, SessionIdle
	default:
		switch EvaluateStatus(a, properties, now, p).Status {
		case StatusDeleted, StatusDisabled, StatusLocked:
			c.Valid, c.Reason = false, SessionAccountBlocked
		}
	}
	return c
}
