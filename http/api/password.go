package api

import (
	"net/http"

	"accountd/domain"
)

// A password change by its holder, who proves the current one (R2.1, R2.2). A wrong current
// password counts toward the lock like a wrong password at sign-in, so the request carries
// the same origin fields as a login, for the record (PCI 10.2.2).

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	originFields
}

func (a *API) changePassword(x *exchange) error {
	var req passwordChangeRequest
	var origin domain.Origin
	m, err := x.command(&req, func() (err error) {
		if req.CurrentPassword == "" {
			return invalidRequest("field %q is required", "current_password")
		}
		if req.NewPassword == "" {
			return invalidRequest("field %q is required", "new_password")
		}
		origin, err = req.origin()
		return err
	})
	if err != nil {
		return err
	}
	res, err := a.svc.ChangePassword(x.r.Context(), m, x.pathVar("id"), req.CurrentPassword, req.NewPassword, origin)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Position: res.LastPosition()})
}
