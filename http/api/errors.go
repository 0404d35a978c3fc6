package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/projections"
)

// Codes the HTTP layer adds to the domain's (domain/errors.go). Stable: clients branch on them.
const (
	CodeUnauthenticated  domain.Code = "unauthenticated"
	CodeForbidden        domain.Code = "forbidden"
	CodeInvalidJSON      domain.Code = "invalid_json"
	CodeInvalidRequest   domain.Code = "invalid_request"
	CodeInvalidID        domain.Code = "invalid_id"
	CodeBodyTooLarge     domain.Code = "body_too_large"
	CodeNotFound         domain.Code = "not_found"
	CodeMethodNotAllowed domain.Code = "method_not_allowed"
	CodeNotCaughtUp      domain.Code = "not_caught_up"
	CodeNotReady         domain.Code = "not_ready"
	CodeBusy             domain.Code = "busy"
	// CodeStorageUnavailable: the event log could not write (disk full, I/O error,
	// read-only, database unreachable). 503 with Retry-After; the same request may be
	// retried as it is.
	CodeStorageUnavailable domain.Code = "storage_unavailable"
	CodeInternal           domain.Code = "internal"
)

// Error is a refusal as the API states it: an HTTP status, a stable code, a message for
// people and optional structured details. Cause is logged, never sent.
type Error struct {
	Status  int
	Code    domain.Code
	Message string
	Details any
	Cause   error
	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Cause.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

func invalidRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// domainStatus maps each domain code to its HTTP status. A code missing here is a bug the
// tests catch (TestEveryDomainCodeHasAStatus), and falls back to 409 at run time.
var domainStatus = map[domain.Code]int{
	domain.CodeInvalidCommand:        http.StatusBadRequest,
	domain.CodeInvalidPolicy:         http.StatusBadRequest,
	domain.CodeHotWindowTooShort:     http.StatusBadRequest,
	domain.CodeInvalidEmail:          http.StatusBadRequest,
	domain.CodeEmailNotAvailable:     http.StatusConflict,
	domain.CodeEmailConfusable:       http.StatusConflict,
	domain.CodeActorInactive:         http.StatusForbidden,
	domain.CodeAccountNotFound:       http.StatusNotFound,
	domain.CodeAccountExists:         http.StatusConflict,
	domain.CodeAccountDeleted:        http.StatusGone,
	domain.CodeAlreadyActivated:      http.StatusConflict,
	domain.CodeNotActivated:          http.StatusConflict,
	domain.CodeLinkInvalid:           http.StatusBadRequest,
	domain.CodeLinkExpired:           http.StatusGone,
	domain.CodeLinkSuperseded:        http.StatusGone,
	domain.CodeLinkUsed:              http.StatusGone,
	domain.CodePasswordRejected:      http.StatusUnprocessableEntity,
	domain.CodeNotLocked:             http.StatusConflict,
	domain.CodeNotDisabled:           http.StatusConflict,
	domain.CodeAlreadyDisabled:       http.StatusConflict,
	domain.CodeMFANotEnrolled:        http.StatusConflict,
	domain.CodeMFAAlreadyEnrolled:    http.StatusConflict,
	domain.CodeMFANoPendingSecret:    http.StatusConflict,
	domain.CodeMFAInvalidCode:        http.StatusUnprocessableEntity,
	domain.CodeMFACooldown:           http.StatusTooManyRequests,
	domain.CodeDeferralNotAllowed:    http.StatusConflict,
	domain.CodeNotAuthorised:         http.StatusForbidden,
	domain.CodePropertyNotFound:      http.StatusNotFound,
	domain.CodePropertyExists:        http.StatusConflict,
	domain.CodeNotAMember:            http.StatusConflict,
	domain.CodeAlreadyMember:         http.StatusConflict,
	domain.CodeInvoiceStateUnknown:   http.StatusConflict,
	domain.CodeSessionNotFound:       http.StatusNotFound,
	domain.CodeUnknownEventType:      http.StatusInternalServerError,
	domain.CodeAccountErased:         http.StatusGone,
	domain.CodeErasureReasonRequired: http.StatusBadRequest,
	// A password change by the holder refuses with reason codes (domain.changePassword).
	domain.ReasonInvalidCredentials: http.StatusUnprocessableEntity,
	domain.ReasonAccountLocked:      http.StatusConflict,
}

// toError turns whatever a handler returned into the error the client sees.
func toError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var de *domain.Error
	if errors.As(err, &de) {
		status, ok := domainStatus[de.Code]
		if !ok {
			status = http.StatusConflict
		}
		if status == http.StatusInternalServerError {
			return &Error{Status: status, Code: CodeInternal, Message: "internal error", Cause: err}
		}
		out := &Error{Status: status, Code: de.Code, Message: de.Message}
		if len(de.Violations) > 0 {
			out.Details = passwordDetails{Violations: de.Violations}
		}
		return out
	}
	switch {
	case errors.Is(err, eventstore.ErrStorageUnavailable):
		return storageUnavailable(err)
	case errors.Is(err, projections.ErrNotCaughtUp):
		return &Error{Status: http.StatusConflict, Code: CodeNotCaughtUp, Message: "the read model has not caught up with the requested position yet; retry", Cause: err}
	case errors.Is(err, commands.ErrTooManyConflicts):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeBusy, Message: "the account is being changed by many requests at once; retry", Cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeBusy, Message: "the request was cancelled or timed out", Cause: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Cause: err}
}

// StorageRetryAfter is the Retry-After of a storage_unavailable answer, in seconds: long
// enough not to hammer a full or failing disk, short enough that clients come back soon
// after it is fixed (the server probes the storage at the same pace).
const StorageRetryAfter = 5

func storageUnavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeStorageUnavailable, RetryAfter: StorageRetryAfter,
		Message: "the event log cannot be written right now (storage full, failing or unreachable); retry the same request (same Idempotency-Key) later: a retry answers the first result if it was written after all", Cause: err}
}

type passwordDetails struct {
	Violations []domain.PasswordViolation `json:"violations"`
}

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code      domain.Code `json:"code"`
	Message   string      `json:"message"`
	Details   any         `json:"details,omitempty"`
	RequestID string      `json:"request_id,omitempty"`
}
