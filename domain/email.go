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
