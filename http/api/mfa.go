package api

import (
	"net/http"
	"time"

	"accountd/domain"
)

// MFA self-service (R6): enrol, confirm, defer within the grace period, reset with a
// current code. A reset by a colleague or support is an admin route (admin.go).

type mfaEnrolmentResponse struct {
	AccountID  string `json:"account_id"`
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	Position   uint64 `json:"position"`
}

func (a *API) startMFAEnrolment(x *exchange) error {
	m, err := x.command(&struct{}{}, nil)
	if err != nil {
		return err
	}
	id := x.pathVar("id")
	enr, err := a.svc.StartMFAEnrolment(x.r.Context(), m, id)
	if err != nil {
		return err
	}
	if enr.Secret == "" {
		// A retried request: the secret was shown once, to the first attempt, and the log
		// holds it sealed only. Starting again makes a new one.
		return &domain.Error{Code: domain.CodeMFANoPendingSecret, Message: "this enrolment's secret was already returned; start a new enrolment with a new Idempotency-Key"}
	}
	return x.json(http.StatusCreated, mfaEnrolmentResponse{AccountID: id, Secret: enr.Secret, OTPAuthURI: enr.OTPAuthURI, Position: lastPosition(enr.Positions)})
}

type codeRequest struct {
	Code string `json:"code"`
}

// mfaResetRequest is a reset by the holder: wrong codes count toward the MFA cooldown, so
// the attempt's origin is recorded with them.
type mfaResetRequest struct {
	Code string `json:"code"`
	originFields
}

type mfaWritten struct {
	AccountID     string    `json:"account_id"`
	Enrolled      bool      `json:"enrolled"`
	DeferredUntil time.Time `json:"deferred_until,omitzero"`
	Position      uint64    `json:"position"`
}

func (a *API) confirmMFAEnrolment(x *exchange) error {
	var req codeRequest
	m, err := x.command(&req, func() error { return required("code", req.Code) })
	if err != nil {
		return err
	}
	res, err := a.svc.ConfirmMFAEnrolment(x.r.Context(), m, x.pathVar("id"), req.Code)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, mfaWritten{AccountID: res.State.ID, Enrolled: res.State.MFA.Enrolled, Position: res.LastPosition()})
}

func (a *API) deferMFAEnrolment(x *exchange) error {
	m, err := x.command(&struct{}{}, nil)
	if err != nil {
		return err
	}
	res, err := a.svc.DeferMFAEnrolment(x.r.Context(), m, x.pathVar("id"))
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, mfaWritten{AccountID: res.State.ID, Enrolled: res.State.MFA.Enrolled, DeferredUntil: res.State.MFA.DeferredUntil, Position: res.LastPosition()})
}

func (a *API) resetOwnMFA(x *exchange) error {
	var req mfaResetRequest
	var origin domain.Origin
	m, err := x.command(&req, func() (err error) {
		if err := required("code", req.Code); err != nil {
			return err
		}
		origin, err = req.origin()
		return err
	})
	if err != nil {
		return err
	}
	id := x.pathVar("id")
	res, err := a.svc.ResetMFA(x.r.Context(), m, id, domain.Actor{Kind: domain.ActorAccount, AccountID: id}, req.Code, origin)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, mfaWritten{AccountID: res.State.ID, Enrolled: res.State.MFA.Enrolled, Position: res.LastPosition()})
}
