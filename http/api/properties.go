package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"accountd/commands"
	"accountd/domain"
)

// Properties: the hotels, their members, user managers and invoices (R4, R5).

type createPropertyRequest struct {
	Name                string `json:"name"`
	PrimaryContactEmail string `json:"primary_contact_email"`
}

type propertyWritten struct {
	PropertyID      string `json:"property_id"`
	InvoiceID       string `json:"invoice_id,omitempty"`
	AccessSuspended *bool  `json:"access_suspended,omitempty"`
	Position        uint64 `json:"position"`
}

// propertyIDSpace derives a property's ID from the Idempotency-Key, so a retried creation
// lands on the same property instead of making a second one.
var propertyIDSpace = uuid.MustParse("3c9a6a57-5a8e-4bfb-8a39-8f0f6f3e2d11")

func (a *API) createProperty(x *exchange) error {
	var req createPropertyRequest
	m, err := x.command(&req, func() error { return required("name", req.Name, "primary_contact_email", req.PrimaryContactEmail) })
	if err != nil {
		return err
	}
	id := a.newID()
	if key := x.r.Header.Get("Idempotency-Key"); key != "" {
		id = uuid.NewSHA1(propertyIDSpace, []byte(key)).String()
	}
	res, err := a.svc.Property(x.r.Context(), m, id, domain.CreateProperty{PropertyID: id, Name: req.Name, PrimaryContactEmail: req.PrimaryContactEmail})
	if err != nil {
		return err
	}
	return x.json(http.StatusCreated, propertyWritten{PropertyID: id, Position: res.LastPosition()})
}

type addMemberRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	actorFields
}

type memberWritten struct {
	AccountID string `json:"account_id"`
	Restored  bool   `json:"restored"`
	Created   bool   `json:"created"`
	Position  uint64 `json:"position"`
}

// addMember links an existing account to the property, restores a deleted one, or
// registers a new one (R5.2), through the same registration command the service uses.
func (a *API) addMember(x *exchange) error {
	var req addMemberRequest
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		if err := required("email", req.Email); err != nil {
			return err
		}
		actor, err = req.actor("")
		return err
	})
	if err != nil {
		return err
	}
	ctx := x.r.Context()
	propertyID := x.pathVar("id")
	password := req.Password
	existing, exists, err := a.svc.AccountIDByEmail(ctx, req.Email)
	if err != nil {
		return err
	}
	if exists {
		acc, err := a.svc.LoadAccount(ctx, existing)
		if err == nil && !acc.Deleted {
			if acc.IsMember(propertyID) {
				// Already a member: nothing to do, and saying so beats "e-mail not available".
				return x.json(http.StatusOK, memberWritten{AccountID: existing})
			}
			// An existing user added to another property is linked: no new account, no mail (R5.2).
			res, err := a.svc.LinkMember(ctx, m, propertyID, req.Email, actor)
			if err != nil {
				return err
			}
			return x.json(http.StatusOK, memberWritten{AccountID: existing, Position: res.LastPosition()})
		}
	}
	if password == "" {
		if !exists {
			return invalidRequest("field %q is required to register a new account", "password")
		}
		// Restoring a deleted account keeps its old password (R5.2: the previous user comes
		// back); registration still checks one first, so any valid one will do.
		password = placeholderPassword()
	}
	reg, err := a.svc.Register(ctx, m, commands.Registration{Email: req.Email, Password: password, PropertyID: propertyID, Actor: actor})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !exists {
		status = http.StatusCreated
	}
	return x.json(status, memberWritten{AccountID: reg.AccountID, Restored: reg.Restored, Created: !exists, Position: reg.LastPosition()})
}

func placeholderPassword() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "Pl4ceholder-" + base64.RawURLEncoding.EncodeToString(b[:])
}

type grantRequest struct {
	AccountID string `json:"account_id"`
	actorFields
}

func (a *API) grantUserManagement(x *exchange) error {
	var req grantRequest
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		if err := required("account_id", req.AccountID); err != nil {
			return err
		}
		actor, err = req.optionalActor(x)
		return err
	})
	if err != nil {
		return err
	}
	return a.propertyCommand(x, m, domain.GrantUserManagement{AccountID: strings.TrimSpace(req.AccountID), Actor: actor})
}

func (a *API) invoiceOverdue(x *exchange) error {
	return a.invoice(x, func(inv string) domain.PropertyCommand { return domain.MarkInvoiceOverdue{InvoiceID: inv} })
}

func (a *API) invoicePaid(x *exchange) error {
	return a.invoice(x, func(inv string) domain.PropertyCommand { return domain.MarkInvoicePaid{InvoiceID: inv} })
}

func (a *API) invoice(x *exchange, cmd func(invoiceID string) domain.PropertyCommand) error {
	m, err := x.command(&struct{}{}, nil)
	if err != nil {
		return err
	}
	id, inv := x.pathVar("id"), x.pathVar("invoice_id")
	res, err := a.svc.Property(x.r.Context(), m, id, cmd(inv))
	if err != nil {
		return err
	}
	suspended := res.State.BillingSuspendedAt(a.svc.Now())
	return x.json(http.StatusOK, propertyWritten{PropertyID: id, InvoiceID: inv, AccessSuspended: &suspended, Position: res.LastPosition()})
}
