package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// EmailStream names the reservation stream of an address by the address's keyed pseudonym
// (the service's HMAC of the normalised address, as for unknown-address streams): stream
// names appear in logs, metrics and backups, and neither the address nor a hash anyone can
// compute from a list of addresses may be read from them.
func EmailStream(pseudonym string) string { return "email-" + pseudonym }

// LegacyEmailStreams names the streams an address may have been reserved under before
// reservations were named by pseudonym: the unkeyed hash of its canonical form and, before
// addresses were canonicalised, of the trimmed, lower-cased address as typed and of the
// canonical address with its domain in Unicode (only some non-ASCII addresses differ).
// They are read, and released at an erasure, never written.
func LegacyEmailStreams(email string) []string {
	canonical := NormaliseEmail(email)
	out := []string{emailStreamOf(canonical)}
	for _, key := range []string{LegacyEmailKey(email), unicodeDomainForm(canonical)} {
		if s := emailStreamOf(key); !slices.Contains(out, s) {
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
// the same optimistic concurrency that makes the reservation exact. It is named by the
// skeleton's keyed pseudonym (the service's), for the reason EmailStream is.
func EmailSkeletonStream(pseudonym string) string { return "email-skeleton-" + pseudonym }

// LegacyEmailSkeletonStream is the name skeleton streams had before they were named by
// pseudonym (an unkeyed hash of the skeleton): their claims are still read, so an address
// registered then keeps refusing its look-alikes, and released at an erasure; never written.
func LegacyEmailSkeletonStream(canonical string) string {
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

// EvolveEmailLookalikes applies a skeleton claim or its release.
func EvolveEmailLookalikes(s EmailLookalikes, e Event) EmailLookalikes {
	switch d := e.Data.(type) {
	case EmailSkeletonClaimed:
		s.Claims = append(s.Claims[:len(s.Claims):len(s.Claims)], SkeletonClaim{Email: d.Email, AccountID: d.AccountID, At: e.At})
	case EmailSkeletonReleased:
		kept := make([]SkeletonClaim, 0, len(s.Claims))
		for _, c := range s.Claims {
			if c.AccountID != d.AccountID {
				kept = append(kept, c)
			}
		}
		s.Claims = kept
	}
	return s
}

// HeldBy reports whether an account holds a claim on the skeleton.
func (s EmailLookalikes) HeldBy(accountID string) bool {
	for _, c := range s.Claims {
		if c.AccountID == accountID {
			return true
		}
	}
	return false
}

// Claimed reports whether the address itself holds a claim on the skeleton. An erased
// value is no address: it matches nothing.
func (s EmailLookalikes) Claimed(canonical string) bool {
	if IsErased(canonical) {
		return false
	}
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

// EvolveEmailReservation applies a reservation event or its release.
func EvolveEmailReservation(s EmailReservation, e Event) EmailReservation {
	switch d := e.Data.(type) {
	case EmailReserved:
		s.AccountID, s.ReservedAt = d.AccountID, e.At
	case EmailReleased:
		if d.AccountID == s.AccountID {
			s.AccountID, s.ReservedAt = "", time.Time{}
		}
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
