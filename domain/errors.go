package domain

import (
	"errors"
	"fmt"
)

// Code is a stable error code: the wire value of an error envelope's "code". Clients
// branch on it, so a constant's value never changes.
type Code string

// Stable error codes. They are part of the API: clients branch on them, so they never change.
const (
	CodeInvalidCommand      Code = "invalid_command"
	CodeInvalidPolicy       Code = "invalid_policy"
	CodeHotWindowTooShort   Code = "hot_window_too_short" // accountd archive keeps at least 3 months live
	CodeInvalidEmail        Code = "invalid_email"
	CodeEmailNotAvailable   Code = "email_not_available"
	CodeEmailConfusable     Code = "email_confusable"
	CodeAccountNotFound     Code = "account_not_found"
	CodeAccountExists       Code = "account_exists"
	CodeAccountDeleted      Code = "account_deleted"
	CodeAlreadyActivated    Code = "already_activated"
	CodeNotActivated        Code = "not_activated"
	CodeLinkInvalid         Code = "link_invalid"
	CodeLinkExpired         Code = "link_expired"
	CodeLinkSuperseded      Code = "link_superseded"
	CodeLinkUsed            Code = "link_used"
	CodePasswordRejected    Code = "password_rejected"
	CodeNotLocked           Code = "not_locked"
	CodeNotDisabled         Code = "not_disabled"
	CodeAlreadyDisabled     Code = "already_disabled"
	CodeMFANotEnrolled      Code = "mfa_not_enrolled"
	CodeMFAAlreadyEnrolled  Code = "mfa_already_enrolled"
	CodeMFANoPendingSecret  Code = "mfa_no_pending_enrolment"
	CodeMFAInvalidCode      Code = "mfa_invalid_code"
	CodeMFACooldown         Code = "mfa_cooldown"
	CodeDeferralNotAllowed  Code = "mfa_deferral_not_allowed"
	CodeNotAuthorised       Code = "not_authorised"
	CodeActorInactive       Code = "actor_inactive"
	CodePropertyNotFound    Code = "property_not_found"
	CodePropertyExists      Code = "property_exists"
	CodeNotAMember          Code = "not_a_member"
	CodeAlreadyMember       Code = "already_member"
	CodeInvoiceStateUnknown Code = "invoice_state_unknown"
	CodeSessionNotFound     Code = "session_not_found"
	CodeUnknownEventType    Code = "unknown_event_type"
	CodeAccountErased       Code = "account_erased"
	// CodeErasureReasonRequired: an erasure without a reason (or one too long to be one).
	CodeErasureReasonRequired Code = "erasure_reason_required"
)

// Error is a refusal by the domain: a stable code, a message for people, and details.
type Error struct {
	Code    Code
	Message string
	// Violations lists every rule a password broke (CodePasswordRejected).
	Violations []PasswordViolation
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is(err, &Error{Code: X}) match on the code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the stable code of a domain error, or "" for any other error.
func ErrorCode(err error) Code {
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
