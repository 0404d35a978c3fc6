package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// EmailStream names the reservation stream of an address. The name is a hash so that stream
// names, which appear in logs and metrics, carry no address in clear.
func EmailStream(email string) string { return emailStreamOf(NormaliseEmail(email)) }

// LegacyEmailStreams names the streams an address may have been reserved under before
// addresses were canonicalised, where they differ from EmailStream (only for some
// non-ASCII addresses): the old key was the trimmed, lower-cased address as typed, so the
// form typed now and the canonical address with its domain in Unicode are both tried.
func LegacyEmailStreams(email string) []string {
	canonical := NormaliseEmail(email)
	var out []string
	for _, key := range []string{LegacyEmailKey(email), unicodeDomainForm(canonical)} {
		if s := emailStreamOf(key); key != canonical && (len(out) == 0 || out[0] != s) {
			out = append(out, s)
		}
	}
	return out
}

func emailStreamOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "email-" + hex.EncodeToString(sum[:16])
}

// EmailSkeletonStream names the stream of the addresses that share one confusable
// skeleton: registering a new address there refuses a look-alike of an existing one, with
// the same optimistic concurrency that makes the reservation exact.
func EmailSkeletonStream(canonical string) string {
	sum := sha256.Sum256([]byte(EmailSkeleton(canonical)))
	return "email-skeleton-" + hex.EncodeToString(sum[:16])
}

// EmailSkeletonIndexStream records that the addresses reserved before skeletons were
// claimed have been given their claims, so the log is scanned for them once.
const EmailSkeletonIndexStream = "email-skeleton-index"

// EmailLookalikes is the state of a skeleton stream: the addresses that claimed it.
type EmailLookalikes struct {
	Claims []SkeletonClaim
}

// SkeletonClaim is one address's claim on its skeleton.
type SkeletonClaim struct {
	Email     string
	AccountID string
	At        time.Time
}

// EvolveEmailLookalikes applies a skeleton claim.
func EvolveEmailLookalikes(s EmailLookalikes, e Event) EmailLookalikes {
	if d, ok := e.Data.(EmailSkeletonClaimed); ok {
		s.Claims = append(s.Claims[:len(s.Claims):len(s.Claims)], SkeletonClaim{Email: d.Email, AccountID: d.AccountID, At: e.At})
	}
	return s
}

// Claimed reports whether the address itself holds a claim on the skeleton.
func (s EmailLookalikes) Claimed(canonical string) bool {
	for _, c := range s.Claims {
		if c.Email == canonical {
			return true
		}
	}
	return false
}

// EmailSkeletonIndex is the state of EmailSkeletonIndexStream.
type EmailSkeletonIndex struct {
	Indexed bool
}

// EvolveEmailSkeletonIndex applies the index's completion.
func EvolveEmailSkeletonIndex(s EmailSkeletonIndex, e Event) EmailSkeletonIndex {
	if _, ok := e.Data.(EmailSkeletonsIndexed); ok {
		s.Indexed = true
	}
	return s
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
