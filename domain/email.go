package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// EmailStream names the reservation stream of an address. The name is a hash so that stream
// names, which appear in logs and metrics, carry no address in clear.
func EmailStream(email string) string {
	sum := sha256.Sum256([]byte(NormaliseEmail(email)))
	return "email-" + hex.EncodeToString(sum[:16])
}

// AccountStream names an account's stream.
func AccountStream(accountID string) string { return "account-" + accountID }

// PropertyStream names a property's stream.
func PropertyStream(propertyID string) string { return "property-" + propertyID }

// PolicyStream is the one stream of policy changes.
const PolicyStream = "policy"

// EmailReservation is the state of an address's reservation stream.
type EmailReservation struct {
	AccountID  string
	ReservedAt time.Time
}

// EvolveEmailReservation applies a reservation event.
func EvolveEmailReservation(s EmailReservation, e Event) EmailReservation {
	if d, ok := e.Data.(EmailReserved); ok {
		s.AccountID, s.ReservedAt = d.AccountID, e.At
	}
	return s
}

// UnknownEmailStream names the stream of failed sign-ins on an address with no account.
func UnknownEmailStream(emailHash string) string { return "unknown-email-" + emailHash }

// UnknownEmail counts failed sign-ins on an address with no account.
type UnknownEmail struct {
	FailedAttempts int
}

// EvolveUnknownEmail applies an unknown-address event.
func EvolveUnknownEmail(s UnknownEmail, e Event) UnknownEmail {
	if d, ok := e.Data.(UnknownEmailLoginFailed); ok {
		s.FailedAttempts = d.FailedAttempts
	}
	return s
}

// DescribeUnknownEmailLogin answers a sign-in on an unknown address exactly as a wrong
// password on a real account would be answered at the same count, up to the lock, so neither
// the answer nor the countdown tells whether the address has an account (R8.2, OWASP).
func DescribeUnknownEmailLogin(failedAttempts int, p Policy) LoginOutcome {
	o := LoginOutcome{Decision: DecisionDenied, Reason: ReasonInvalidCredentials, AttemptsRemaining: max(p.LockoutThreshold-failedAttempts, 0)}
	if failedAttempts >= p.LockoutThreshold {
		o.Reason = ReasonAccountLocked
	}
	o.Reasons = []string{o.Reason}
	o.LastAttemptWarning = o.Reason == ReasonInvalidCredentials && o.AttemptsRemaining == 1
	return o
}
