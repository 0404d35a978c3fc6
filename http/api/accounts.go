package api

import (
	"net/http"
	"strings"

	"accountd/commands"
	"accountd/domain"
)

// Registration and activation (R2.4, R5.2). The activation link is e-mailed by the outbox
// from the log; no response ever carries a link token.

type registerRequest struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	PropertyID string `json:"property_id"`
}

type accountWritten struct {
	AccountID string `json:"account_id"`
	Status    string `json:"status,omitempty"`
	Position  uint64 `json:"position"`
}

func (a *API) register(x *exchange) error {
	var req registerRequest
	m, err := x.command(&req, func() error { return required("email", req.Email, "password", req.Password) })
	if err != nil {
		return err
	}
	reg, err := a.svc.Register(x.r.Context(), m, commands.Registration{Email: req.Email, Password: req.Password, PropertyID: strings.TrimSpace(req.PropertyID)})
	if err != nil {
		return err
	}
	return x.json(http.StatusCreated, accountWritten{AccountID: reg.AccountID, Status: domain.StatusPendingActivation, Position: reg.LastPosition()})
}

type tokenRequest struct {
	Token string `json:"token"`
}

func (a *API) activate(x *exchange) error {
	var req tokenRequest
	m, err := x.command(&req, func() error { return required("token", req.Token) })
	if err != nil {
		return err
	}
	res, err := a.svc.Activate(x.r.Context(), m, req.Token)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Status: domain.StatusActive, Position: res.LastPosition()})
}

func (a *API) resendActivation(x *exchange) error {
	m, err := x.command(&struct{}{}, nil)
	if err != nil {
		return err
	}
	res, err := a.svc.ResendActivation(x.r.Context(), m, x.pathVar("id"))
	if err != nil {
		return err
	}
	return x.json(http.StatusAccepted, accountWritten{AccountID: res.AccountID, Position: lastPosition(res.Positions)})
}

// required names the first missing field of name/value pairs.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return invalidRequest("field %q is required", pairs[i])
		}
	}
	return nil
}

func lastPosition(ps []uint64) uint64 {
	if len(ps) == 0 {
		return 0
	}
	return ps[len(ps)-1]
}
