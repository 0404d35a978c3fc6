package domain

import (
	"slices"
	"time"
)

// Account is the state of one staff login, folded from its stream. It holds exactly what
// decisions and the status need; everything else is left to projections.
type Account struct {
	ID           string
	Email        string
	Registered   bool
	RegisteredAt time.Time
	Activated    bool
	ActivatedAt  time.Time
	Deleted      bool
	DeletedAt    time.Time
	// Erased: the account was erased (its personal data unreadable); it is deleted for good.
	Erased     bool
	ErasedAt   time.Time
	Properties []string // sorted property IDs the account belongs to

	PasswordHash      string
	PasswordChangedAt time.Time
	PasswordHistory   []string // newest first, current included, bounded
	ChangeRequired    bool
	ChangeRequiredAt  time.Time

	FailedAttempts int
	LastFailureAt  time.Time
	Locked         bool
	LockedAt       time.Time

	Links map[string]*LinkState // by kind: activation, reset, unlock

	MFA MFAState

	Disabled map[DisableKind]DisableRecord // by kind: manual, suspicious_activity, inactivity

	FirstLoginAt time.Time
	LastLoginAt  time.Time
	Sessions     map[string]Session // open sessions by ID
}

// LinkState follows the e-mailed links of one kind: the only one that works is the latest.
type LinkState struct {
	Current   string // token hash of the latest link
	ExpiresAt time.Time
	IssuedAt  time.Time
	Used      bool
	// Older holds earlier link hashes of this kind (superseded or used), to tell "superseded"
	// and "used" apart from "never issued". Bounded to the most recent few.
	Older map[string]LinkRefusal // hash -> LinkSuperseded | LinkUsed
}

// MFAState is the account's second factor (R6).
type MFAState struct {
	Enrolled       bool
	EnrolledAt     time.Time
	Secret         []byte // encrypted at rest; the domain never sees it in clear
	PendingSecret  []byte
	LastUsedStep   int64
	FailedAttempts int
	CooldownUntil  time.Time
	DeferredUntil  time.Time
	ResetAt        time.Time // after a reset, enrolment is due at the next login (R6.4)
	ResetPending   bool
}

// DisableRecord says who disabled an account, of what kind, and when.
type DisableRecord struct {
	Since      time.Time
	Actor      Actor
	PropertyID string
}

// Session is an open login session (R7.1).
type Session struct {
	ID         string
	StartedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IdleAfter  time.Duration
}

// maxOlderLinks bounds how many earlier link hashes the state remembers per kind.
const maxOlderLinks = 16

// maxPasswordHistory bounds the remembered hashes; the policy may ask for up to 24.
const maxPasswordHistory = 24

// EvolveAccount applies one event to the account state. It never fails: an event is a
// fact, and one that does not concern accounts leaves the state as it was.
func EvolveAccount(s Account, e Event) Account {
	at := e.At
	switch d := e.Data.(type) {
	case AccountRegistered:
		s.ID, s.Email, s.Registered, s.RegisteredAt = d.AccountID, d.Email, true, at
		if d.PropertyID != "" {
			s.Properties = addSorted(s.Properties, d.PropertyID)
		}
		s.setPassword(d.PasswordHash, at)
	case ActivationLinkIssued:
		s.issueLink(LinkActivation, d.TokenHash, at, d.ExpiresAt)
	case AccountActivated:
		s.Activated, s.ActivatedAt = true, at
		s.useLink(LinkActivation)
	case LinkedToProperty:
		s.Properties = addSorted(s.Properties, d.PropertyID)
	case UnlinkedFromProperty:
		s.Properties = removeSorted(s.Properties, d.PropertyID)
	case LoginSucceeded:
		s.FailedAttempts = 0
		s.MFA.FailedAttempts = 0
		if d.MFAStep > s.MFA.LastUsedStep {
			s.MFA.LastUsedStep = d.MFAStep
		}
		if s.FirstLoginAt.IsZero() {
			s.FirstLoginAt = at
		}
		s.LastLoginAt = at
	case LoginFailed:
		if d.Reason == ReasonInvalidCredentials {
			s.FailedAttempts = d.FailedAttempts
			s.LastFailureAt = at
		}
	case LoginRejected:
		if d.CredentialsVerified {
			s.FailedAttempts = 0
			if s.FirstLoginAt.IsZero() {
				s.FirstLoginAt = at
			}
		}
	case AccountLocked:
		s.Locked, s.LockedAt = true, at
	case AccountUnlocked:
		s.Locked, s.LockedAt, s.FailedAttempts = false, time.Time{}, 0
		if d.Cause == UnlockByLink {
			s.useLink(LinkUnlock)
		}
	case UnlockLinkIssued:
		s.issueLink(LinkUnlock, d.TokenHash, at, d.ExpiresAt)
	case PasswordResetRequested:
		s.issueLink(LinkReset, d.TokenHash, at, d.ExpiresAt)
	case PasswordChanged:
		s.setPassword(d.PasswordHash, at)
		s.ChangeRequired, s.ChangeRequiredAt = false, time.Time{}
		if d.Cause == PasswordChangedByReset {
			s.useLink(LinkReset)
		}
	case PasswordChangeRequired:
		s.ChangeRequired, s.ChangeRequiredAt = true, at
	case MFAEnrolmentStarted:
		s.MFA.PendingSecret = d.EncryptedSecret
	case MFAEnrolmentConfirmed:
		s.MFA.Enrolled, s.MFA.EnrolledAt = true, at
		s.MFA.Secret, s.MFA.PendingSecret = s.MFA.PendingSecret, nil
		s.MFA.LastUsedStep = d.Step
		s.MFA.FailedAttempts, s.MFA.ResetPending = 0, false
	case MFAEnrolmentDeferred:
		s.MFA.DeferredUntil = d.Until
	case MFACodeRejected:
		// The password was right to reach the code: the password count starts again.
		s.FailedAttempts = 0
		s.MFA.FailedAttempts = d.FailedAttempts
	case MFACooldownStarted:
		s.MFA.CooldownUntil = d.Until
		s.MFA.FailedAttempts = 0
	case MFAReset:
		// The replay guard goes with the secret it guarded: a new secret's codes were never
		// used, whatever step the old one reached (PCI 8.5.1 forbids replays, not new secrets).
		s.MFA = MFAState{ResetAt: at, ResetPending: true}
	case AccountDisabled:
		if s.Disabled == nil {
			s.Disabled = map[DisableKind]DisableRecord{}
		} else {
			s.Disabled = cloneMap(s.Disabled)
		}
		s.Disabled[d.Kind] = DisableRecord{Since: at, Actor: d.Actor, PropertyID: d.PropertyID}
		if d.Kind != DisableInactivity {
			s.Sessions = nil
		}
	case AccountEnabled:
		s.Disabled = cloneMap(s.Disabled)
		if d.Kind == "" {
			s.Disabled = nil
		} else {
			delete(s.Disabled, d.Kind)
		}
		if d.Kind == DisableInactivity || d.Kind == "" {
			// Re-enabling after inactivity restarts the inactivity clock.
			s.LastLoginAt = at
		}
	case SessionStarted:
		s.Sessions = cloneMap(s.Sessions)
		if s.Sessions == nil {
			s.Sessions = map[string]Session{}
		}
		for id, old := range s.Sessions {
			if !at.Before(old.ExpiresAt) { // past its hard limit: closed whether or not it was ended
				delete(s.Sessions, id)
			}
		}
		s.Sessions[d.SessionID] = Session{ID: d.SessionID, StartedAt: at, LastSeenAt: at, ExpiresAt: d.ExpiresAt, IdleAfter: d.IdleAfter.Std()}
	case SessionActive:
		if old, ok := s.Sessions[d.SessionID]; ok {
			s.Sessions = cloneMap(s.Sessions)
			old.LastSeenAt = at
			s.Sessions[d.SessionID] = old
		}
	case SessionEnded:
		if _, ok := s.Sessions[d.SessionID]; ok {
			s.Sessions = cloneMap(s.Sessions)
			delete(s.Sessions, d.SessionID)
		}
	case AccountDeleted:
		s.Deleted, s.DeletedAt, s.Sessions = true, at, nil
	case AccountRestored:
		s.Deleted, s.DeletedAt = false, time.Time{}
	case AccountErased:
		// An erased account answers its status as deleted, since the erasure or since its
		// earlier deletion.
		s.Erased, s.ErasedAt, s.Sessions = true, at, nil
		if !s.Deleted {
			s.Deleted, s.DeletedAt = true, at
		}
	}
	return s
}

func (s *Account) setPassword(hash string, at time.Time) {
	s.PasswordHash, s.PasswordChangedAt = hash, at
	h := make([]string, 0, min(len(s.PasswordHistory)+1, maxPasswordHistory))
	h = append(h, hash)
	for _, old := range s.PasswordHistory {
		if len(h) == maxPasswordHistory {
			break
		}
		h = append(h, old)
	}
	s.PasswordHistory = h
}

func (s *Account) issueLink(kind, hash string, at, expires time.Time) {
	s.Links = cloneMap(s.Links)
	if s.Links == nil {
		s.Links = map[string]*LinkState{}
	}
	prev := s.Links[kind]
	next := &LinkState{Current: hash, IssuedAt: at, ExpiresAt: expires, Older: map[string]LinkRefusal{}}
	if prev != nil {
		for h, why := range prev.Older {
			next.Older[h] = why
		}
		if prev.Current != "" {
			why := LinkSuperseded
			if prev.Used {
				why = LinkUsed
			}
			next.Older[prev.Current] = why
		}
		trimOlder(next.Older)
	}
	s.Links[kind] = next
}

func (s *Account) useLink(kind string) {
	prev := s.Links[kind]
	if prev == nil {
		return
	}
	s.Links = cloneMap(s.Links)
	used := *prev
	used.Used = true
	s.Links[kind] = &used
}

// trimOlder keeps the map bounded; which old hashes are forgotten matters little, as a
// forgotten one is refused as invalid instead of superseded.
func trimOlder(m map[string]LinkRefusal) {
	for h := range m {
		if len(m) <= maxOlderLinks {
			return
		}
		delete(m, h)
	}
}

// cloneMap copies before writing, so a state value handed out earlier (a cached
// aggregate, a point-in-time view) never changes under its holder.
func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func addSorted(list []string, v string) []string {
	i, found := slices.BinarySearch(list, v)
	if found {
		return list
	}
	out := make([]string, 0, len(list)+1)
	out = append(out, list[:i]...)
	out = append(out, v)
	return append(out, list[i:]...)
}

func removeSorted(list []string, v string) []string {
	i, found := slices.BinarySearch(list, v)
	if !found {
		return list
	}
	out := make([]string, 0, len(list)-1)
	out = append(out, list[:i]...)
	return append(out, list[i+1:]...)
}

// PasswordExpiresAt is when the current password stops being accepted (R2.1).
func (s Account) PasswordExpiresAt(p Policy) time.Time {
	return s.PasswordChangedAt.Add(p.PasswordMaxAge.Std())
}

// MFAEnrolmentDueBy is the moment enrolment stops being optional (R6.3); zero when MFA is
// not required, already enrolled, or the account has never logged in.
func (s Account) MFAEnrolmentDueBy(p Policy) time.Time {
	if !p.MFARequired || s.MFA.Enrolled {
		return time.Time{}
	}
	if s.MFA.ResetPending {
		return s.MFA.ResetAt
	}
	if s.FirstLoginAt.IsZero() {
		return time.Time{}
	}
	return s.FirstLoginAt.Add(p.MFAEnrolmentGrace.Std())
}

// IsMember reports whether the account belongs to the property.
func (s Account) IsMember(propertyID string) bool {
	_, found := slices.BinarySearch(s.Properties, propertyID)
	return found
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
