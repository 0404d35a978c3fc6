package streams

import "accountd/domain"

// Categories group event types for filters (--stream-filter NAME=category:authentication).
// Every registered event type has exactly one; TestEveryEventTypeHasACategory keeps it so.
const (
	CategoryAuthentication = "authentication" // sign-ins, MFA codes, sessions
	CategoryAccountChange  = "account_change" // lifecycle, credentials, lock, enable, MFA factors
	CategoryLink           = "link"           // e-mailed links issued or refused
	CategoryProperty       = "property"       // properties, members, billing, subscription
	CategoryDetection      = "detection"      // suspicious activity, throttles, attacks
	CategoryPolicy         = "policy"         // policy changes
	CategoryMail           = "mail"           // what the outbox delivered or gave up
	CategoryInternal       = "internal"       // bookkeeping streams (e-mail reservations, key fingerprints)
)

// Categories lists every category, in the order the README documents them.
var Categories = []string{CategoryAuthentication, CategoryAccountChange, CategoryLink, CategoryProperty,
	CategoryDetection, CategoryPolicy, CategoryMail, CategoryInternal}

var categoryOf = map[string]string{}

func categorise(category string, ps ...domain.Payload) {
	for _, p := range ps {
		categoryOf[p.EventType()] = category
	}
}

func init() {
	categorise(CategoryAuthentication,
		domain.LoginSucceeded{}, domain.LoginFailed{}, domain.LoginRejected{}, domain.MFACodeRejected{},
		domain.MFACooldownStarted{}, domain.UnknownEmailLoginFailed{}, domain.SessionStarted{},
		domain.SessionActive{}, domain.SessionEnded{})
	categorise(CategoryAccountChange,
		domain.AccountRegistered{}, domain.AccountActivated{}, domain.PasswordChanged{},
		domain.PasswordChangeRequired{}, domain.AccountLocked{}, domain.AccountUnlocked{},
		domain.AccountDisabled{}, domain.AccountEnabled{}, domain.MFAEnrolmentStarted{},
		domain.MFAEnrolmentConfirmed{}, domain.MFAEnrolmentDeferred{}, domain.MFAReset{},
		domain.AccountDeleted{}, domain.AccountRestored{}, domain.AccountErased{}, domain.LinkedToProperty{}, domain.UnlinkedFromProperty{})
	categorise(CategoryLink,
		domain.ActivationLinkIssued{}, domain.ActivationLinkRejected{}, domain.UnlockLinkIssued{},
		domain.UnlockLinkRejected{}, domain.PasswordResetRequested{}, domain.ResetLinkRejected{}, domain.LinkRequestDeclined{})
	categorise(CategoryProperty,
		domain.PropertyCreated{}, domain.MemberAdded{}, domain.MemberRemoved{}, domain.UserManagementGranted{},
		domain.UserManagementRevoked{}, domain.BillingContactAdded{}, domain.InvoiceOverdue{}, domain.InvoicePaid{},
		domain.PropertyAccessSuspended{}, domain.PropertyAccessRestored{}, domain.SubscriptionStatusChanged{})
	categorise(CategoryDetection,
		domain.SuspiciousActivityDetected{}, domain.AddressThrottled{}, domain.PropertyAttackDetected{})
	categorise(CategoryPolicy, domain.PolicyChanged{})
	categorise(CategoryMail, domain.MailSent{}, domain.MailDeadLettered{})
	categorise(CategoryInternal, domain.EmailReserved{}, domain.EmailSkeletonClaimed{}, domain.EmailSkeletonsIndexed{},
		domain.EmailReleased{}, domain.EmailSkeletonReleased{},
		domain.KeyFingerprintRecorded{})
}

// CategoryOf is the category of an event type ("" for a type accountd does not know).
func CategoryOf(eventType string) string { return categoryOf[eventType] }
