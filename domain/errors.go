package domain

import (
	"errors"
	"fmt"
)

// Stable error codes. They are part of the API: clients branch on them, so they never change.
const (
	CodeInvalidCommand      = "invalid_command"
	CodeInvalidPolicy       = "invalid_policy"
	CodeInvalidEmail        = "invalid_email"
	CodeEmailNotAvailable   = "email_not_available"
	CodeEmailConfusable     = "email_confusable"
	CodeAccountNotFound     = "account_not_found"
	CodeAccountExists       = "account_exists"
	CodeAccountDeleted      = "account_deleted"
	CodeAlreadyActivated    = "already_activated"
	CodeNotActivated        = "not_activated"
	CodeLinkInvalid         = "link_invalid"
	CodeLinkExpired         = "link_expired"
	CodeLinkSuperseded      = "link_superseded"
	CodeLinkUsed            = "link_used"
	CodePasswordRejected    = "password_rejected"
	CodeNotLocked           = "not_locked"
	CodeNotDisabled         = "not_disabled"
	CodeAlreadyDisabled     = "already_disabled"
	CodeMFANotEnrolled      = "mfa_not_enrolled"
	CodeMFAAlreadyEnrolled  = "mfa_already_enrolled"
	CodeMFANoPendingSecret  = "mfa_no_pending_enrolment"
	CodeMFAInvalidCode      = "mfa_invalid_code"
	CodeMFACooldown         = "mfa_cooldown"
	CodeDeferralNotAllowed  = "mfa_deferral_not_allowed"
	CodeNotAuthorised       = "not_authorised"
	CodeActorInactive       = "actor_inactive"
	CodePropertyNotFound    = "property_not_found"
	CodePropertyExists      = "property_exists"
	CodeNotAMember          = "not_a_member"
	CodeAlreadyMember       = "already_member"
	CodeInvoiceStateUnknown = "invoice_state_unknown"
	CodeSessionNotFound     = "session_not_found"
	CodeUnknownEventType    = "unknown_event_type"
)

// Error is a refusal by the domain: a stable code, a message for people, and details.
type Error struct {
	Code    string
	Message string
	// Violations lists every rule a password broke (CodePasswordRejected).
	Violations []PasswordViolation
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is(err, &Error{Code: X}) match on the code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the stable code of a domain error, or "" for any other error.
func ErrorCode(err error) string {
	var de *Error
	if errors.As(err, &de) {
		return de.Code
	}
	var pe *PolicyError
	if errors.As(err, &pe) {
		return pe.Code()
	}
	return ""
}
