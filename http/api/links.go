package api

import (
	"context"
	"net/http"

	"accountd/commands"
	"accountd/domain"
)

// E-mailed links: password reset (R2.3), unlock (R1.4) and activation (R2.4). Requests
// always answer 202, so the API never tells whether an address has an account; the outbox
// mails the link.

type emailRequest struct {
	Email string `json:"email"`
}

type accepted struct {
	Status string `json:"status"`
}

func (a *API) requestPasswordReset(x *exchange) error {
	return a.requestLink(x, a.svc.RequestPasswordReset)
}

func (a *API) requestUnlockLink(x *exchange) error {
	return a.requestLink(x, a.svc.RequestUnlockLink)
}

func (a *API) requestActivationLink(x *exchange) error {
	return a.requestLink(x, a.svc.RequestActivationLink)
}

func (a *API) requestLink(x *exchange, issue func(ctx context.Context, m commands.Meta, email string) (commands.LinkIssued, error)) error {
	var req emailRequest
	m, err := x.command(&req, func() error { return required("email", req.Email) })
	if err != nil {
		return err
	}
	if _, err := issue(x.r.Context(), m, req.Email); err != nil && domain.ErrorCode(err) == "" {
		return err // a failure of the server, not an answer about the account
	}
	return x.json(http.StatusAccepted, accepted{Status: "accepted"})
}

type passwordResetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

func (a *API) resetPassword(x *exchange) error {
	var req passwordResetRequest
	m, err := x.command(&req, func() error { return required("token", req.Token, "new_password", req.NewPassword) })
	if err != nil {
		return err
	}
	res, err := a.svc.ResetPassword(x.r.Context(), m, req.Token, req.NewPassword)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Position: res.LastPosition()})
}

func (a *API) unlockWithLink(x *exchange) error {
	var req tokenRequest
	m, err := x.command(&req, func() error { return required("token", req.Token) })
	if err != nil {
		return err
	}
	res, err := a.svc.Unlock(x.r.Context(), m, req.Token)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Position: res.LastPosition()})
}
