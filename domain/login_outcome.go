package domain

import "time"

// Login decisions the login flow acts on.
const (
	DecisionAllowed                = "allowed"
	DecisionDenied                 = "denied"
	DecisionMFARequired            = "mfa_required"
	DecisionMFAEnrollmentRequired  = "mfa_enrollment_required"
	DecisionPasswordChangeRequired = "password_change_required"
)

// LoginOutcome is what a login attempt's events mean for the caller.
type LoginOutcome struct {
	Decision          string
	Reason            string   // the precise reason code, "" when allowed
	Reasons           []string // every reason, most pressing first
	AttemptsRemaining int
	RetryAfter        time.Duration
	SessionID         string
	SessionExpiresAt  time.Time
	// LastAttemptWarning: one attempt is left before the lock (R1.2, seed 004).
	LastAttemptWarning bool
}

// DescribeLogin reads the outcome from the events a Login decided and the state after them,
// so the answer can never disagree with what was recorded.
func DescribeLogin(events []Event, after Account, now time.Time, p Policy) LoginOutcome {
	o := LoginOutcome{AttemptsRemaining: max(p.LockoutThreshold-after.FailedAttempts, 0)}
	for _, e := range events {
		switch d := e.Data.(type) {
		case LoginSucceeded:
			o.Decision, o.SessionID = DecisionAllowed, d.SessionID
		case SessionStarted:
			// The same instant the session check answers: unused, it ends at the idle limit.
			o.SessionExpiresAt = after.Sessions[d.SessionID].ExpiresAtIfIdle()
		case LoginFailed:
			o.Decision, o.Reason = DecisionDenied, d.Reason
		case AccountLocked:
			o.Decision, o.Reason = DecisionDenied, ReasonAccountLocked
			o.Reasons = []string{ReasonInvalidCredentials, ReasonAccountLocked}
		case LoginRejected:
			o.Reasons = d.Reasons
			o.Reason = d.Reasons[0]
			o.Decision = decisionFor(d.Reasons)
		case MFACodeRejected:
			o.Decision, o.Reason = DecisionMFARequired, ReasonMFAInvalidCode
		case MFACooldownStarted:
			o.Decision, o.Reason = DecisionDenied, ReasonMFACooldown
			o.Reasons = []string{ReasonMFAInvalidCode, ReasonMFACooldown}
		}
	}
	if o.Reason != "" && len(o.Reasons) == 0 {
		o.Reasons = []string{o.Reason}
	}
	if o.Reason == ReasonMFACooldown && now.Before(after.MFA.CooldownUntil) {
		o.RetryAfter = after.MFA.CooldownUntil.Sub(now)
	}
	if o.Reason == ReasonAccountLocked {
		o.AttemptsRemaining = 0
		if p.LockoutDuration > 0 {
			o.RetryAfter = after.LockedAt.Add(p.LockoutDuration.Std()).Sub(now)
		}
	}
	o.LastAttemptWarning = o.Reason == ReasonInvalidCredentials && o.AttemptsRemaining == 1
	return o
}

func decisionFor(reasons []string) string {
	switch reasons[0] {
	case ReasonMFARequired, ReasonMFAInvalidCode:
		return DecisionMFARequired
	case ReasonMFAEnrollmentRequired:
		return DecisionMFAEnrollmentRequired
	case ReasonPasswordExpired, ReasonPasswordChangeRequired:
		return DecisionPasswordChangeRequired
	}
	return DecisionDenied
}
