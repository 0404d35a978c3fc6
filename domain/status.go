package domain

import (
	"sort"
	"time"
)

// Reason is one cause that keeps an account from logging in, with when it began and, where
// it ends by itself, when it ends.
type Reason struct {
	Code        string    `json:"code"`
	Since       time.Time `json:"since"`
	Until       time.Time `json:"until,omitzero"`
	Remediation string    `json:"remediation"`
	PropertyID  string    `json:"property_id,omitempty"`
}

// PropertyAccess says whether the account may use one of its properties (R4: a member of
// several properties keeps access to the ones that are not suspended).
type PropertyAccess struct {
	PropertyID string   `json:"property_id"`
	Allowed    bool     `json:"allowed"`
	Reasons    []Reason `json:"reasons,omitempty"`
}

// AccountStatus is what the login flow and people are told about an account at an instant.
type AccountStatus struct {
	Status            string           `json:"status"`
	Reasons           []Reason         `json:"reasons"`
	FailedAttempts    int              `json:"failed_attempts"`
	AttemptsRemaining int              `json:"attempts_remaining"`
	Properties        []PropertyAccess `json:"properties,omitempty"`
}

// HasReason reports whether the status carries a reason code.
func (s AccountStatus) HasReason(code string) bool {
	for _, r := range s.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// IsLockedAt reports whether the account is locked at now: a timed unlock (when the policy
// sets one) ends the lock by itself, without an event.
func (s Account) IsLockedAt(now time.Time, p Policy) bool {
	if !s.Locked {
		return false
	}
	return p.LockoutDuration == 0 || now.Before(s.LockedAt.Add(p.LockoutDuration.Std()))
}

// EvaluateStatus returns the account's status at now and every reason that applies, each
// with the moment it began. properties holds the states of the account's properties (others
// are ignored); a property missing from it is treated as not blocking.
func EvaluateStatus(a Account, properties []Property, now time.Time, p Policy) AccountStatus {
	st := AccountStatus{Reasons: []Reason{}, FailedAttempts: a.FailedAttempts}
	add := func(code string, since, until time.Time, property string) {
		info := catalogue[code]
		st.Reasons = append(st.Reasons, Reason{Code: code, Since: since, Until: until, Remediation: info.Remediation, PropertyID: property})
	}
	if !a.Registered {
		st.Status = StatusDeleted
		add(ReasonAccountDeleted, time.Time{}, time.Time{}, "")
		return st
	}
	if a.Deleted {
		add(ReasonAccountDeleted, a.DeletedAt, time.Time{}, "")
	}
	for _, kind := range []string{DisableSuspiciousActivity, DisableManual, DisableInactivity} {
		if rec, ok := a.Disabled[kind]; ok {
			add(disableReason[kind], rec.Since, time.Time{}, rec.PropertyID)
		}
	}
	st.Properties, st.Reasons = propertyAccess(a, properties, now, st.Reasons)
	if a.IsLockedAt(now, p) {
		var until time.Time
		if p.LockoutDuration > 0 {
			until = a.LockedAt.Add(p.LockoutDuration.Std())
		}
		add(ReasonAccountLocked, a.LockedAt, until, "")
	}
	if exp := a.PasswordExpiresAt(p); !now.Before(exp) {
		add(ReasonPasswordExpired, exp, time.Time{}, "")
	}
	if a.ChangeRequired {
		add(ReasonPasswordChangeRequired, a.ChangeRequiredAt, time.Time{}, "")
	}
	if !a.Activated {
		add(ReasonPendingActivation, a.RegisteredAt, time.Time{}, "")
	}
	if now.Before(a.MFA.CooldownUntil) {
		add(ReasonMFACooldown, a.MFA.CooldownUntil.Add(-p.MFACooldown.Std()), a.MFA.CooldownUntil, "")
	}
	if due := a.MFAEnrolmentDueBy(p); !due.IsZero() && !now.Before(due) {
		add(ReasonMFAEnrollmentRequired, due, time.Time{}, "")
	}

	st.Status = StatusActive
	switch {
	case st.HasReason(ReasonAccountDeleted):
		st.Status = StatusDeleted
	case hasStatusReason(st.Reasons, StatusDisabled):
		st.Status = StatusDisabled
	case st.HasReason(ReasonAccountLocked):
		st.Status = StatusLocked
	case st.HasReason(ReasonPasswordExpired):
		st.Status = StatusPasswordExpired
	case st.HasReason(ReasonPendingActivation):
		st.Status = StatusPendingActivation
	}
	if st.Status != StatusLocked {
		st.AttemptsRemaining = max(p.LockoutThreshold-a.FailedAttempts, 0)
	}
	return st
}

var disableReason = map[string]string{
	DisableSuspiciousActivity: ReasonDisabledSuspiciousActivity,
	DisableManual:             ReasonDisabledManually,
	DisableInactivity:         ReasonDisabledInactivity,
}

func hasStatusReason(rs []Reason, status string) bool {
	for _, r := range rs {
		if catalogue[r.Code].Status == status {
			return true
		}
	}
	return false
}

// propertyAccess works out access per property; the account as a whole is blocked by its
// properties only when every one of them blocks it.
func propertyAccess(a Account, properties []Property, now time.Time, reasons []Reason) ([]PropertyAccess, []Reason) {
	if len(a.Properties) == 0 {
		return nil, reasons
	}
	byID := make(map[string]Property, len(properties))
	for _, pr := range properties {
		byID[pr.ID] = pr
	}
	access := make([]PropertyAccess, 0, len(a.Properties))
	var blocking []Reason
	allBlocked := true
	for _, id := range a.Properties {
		pa := PropertyAccess{PropertyID: id, Allowed: true}
		if pr, ok := byID[id]; ok {
			if pr.BillingSuspendedAt(now) {
				pa.Reasons = append(pa.Reasons, Reason{Code: ReasonDisabledBilling, Since: pr.SuspendedAt, Remediation: FixPayInvoice, PropertyID: id})
			}
			if pr.SubscriptionBlocks() {
				pa.Reasons = append(pa.Reasons, Reason{Code: ReasonPropertySuspended, Since: pr.SubscriptionSince, Remediation: FixContactSupport, PropertyID: id})
			}
		}
		pa.Allowed = len(pa.Reasons) == 0
		if pa.Allowed {
			allBlocked = false
		}
		blocking = append(blocking, pa.Reasons...)
		access = append(access, pa)
	}
	if allBlocked {
		sort.SliceStable(blocking, func(i, j int) bool { return blocking[i].Code < blocking[j].Code })
		reasons = append(reasons, blocking...)
	}
	return access, reasons
}

// AccountIfNothingHappens is the account as it will stand at `at` if nobody acts before
// then. The status evaluates most time rules by itself (password expiry, timed unlocks,
// the MFA grace, cooldowns); the one the system records by its own action, the inactivity
// disable (PCI 8.2.6), is applied here as the sweep would apply it, from the instant it
// falls due.
func AccountIfNothingHappens(a Account, at time.Time, p Policy) Account {
	last := a.LastLoginAt
	if last.IsZero() {
		last = a.RegisteredAt
	}
	due := last.Add(p.InactivityDisableAfter.Std())
	if at.Before(due) {
		return a
	}
	events, err := DecideAccount(a, DisableIfInactive{}, due, p)
	if err != nil {
		return a
	}
	for _, e := range events {
		a = EvolveAccount(a, e)
	}
	return a
}
