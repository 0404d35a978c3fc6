package api

import (
	"net/http"
	"strings"
	"time"

	"accountd/commands"
	"accountd/domain"
)

// The property's own administration (R4, R5): who belongs, who manages, who is billed, and
// the subscription the vendor sets.

type propertyView struct {
	PropertyID          string    `json:"property_id"`
	Name                string    `json:"name"`
	PrimaryContactEmail string    `json:"primary_contact_email"`
	BillingContacts     []string  `json:"billing_contacts"`
	Subscription        string    `json:"subscription"`
	Members             []string  `json:"members"`
	UserManagers        []string  `json:"user_managers"`
	OverdueInvoices     []string  `json:"overdue_invoices"`
	AccessSuspended     bool      `json:"access_suspended"`
	SuspendedSince      time.Time `json:"suspended_since,omitzero"`
	RestoresAt          time.Time `json:"restores_at,omitzero"`
}

func (a *API) getProperty(x *exchange) error {
	p, err := a.svc.LoadProperty(x.r.Context(), x.pathVar("id"))
	if err != nil {
		return err
	}
	now := a.svc.Now()
	v := propertyView{
		PropertyID: p.ID, Name: p.Name, PrimaryContactEmail: p.PrimaryContactEmail, Subscription: p.Subscription,
		BillingContacts: nonNil(p.BillingContacts), Members: nonNil(p.Members), UserManagers: nonNil(p.UserManagers),
		OverdueInvoices: nonNil(p.OverdueInvoices), AccessSuspended: p.BillingSuspendedAt(now),
	}
	if v.AccessSuspended {
		v.SuspendedSince = p.SuspendedAt
		if p.RestoredEffectiveAt.After(now) {
			v.RestoresAt = p.RestoredEffectiveAt
		}
	}
	return x.json(http.StatusOK, v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *API) addBillingContact(x *exchange) error {
	var req struct {
		Email string `json:"email"`
	}
	m, err := x.command(&req, func() error { return required("email", req.Email) })
	if err != nil {
		return err
	}
	return a.propertyCommand(x, m, domain.AddBillingContact{Email: req.Email})
}

func (a *API) changeSubscription(x *exchange) error {
	var req struct {
		Status string `json:"status"`
		actorFields
	}
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		if err := required("status", req.Status); err != nil {
			return err
		}
		if req.ActorAccountID != "" {
			return &Error{Status: http.StatusForbidden, Code: domain.CodeNotAuthorised, Message: "the subscription is the vendor's to change: give support_reference, not actor_account_id"}
		}
		actor, err = req.optionalActor(x)
		return err
	})
	if err != nil {
		return err
	}
	return a.propertyCommand(x, m, domain.ChangeSubscription{To: strings.TrimSpace(req.Status), Actor: actor})
}

func (a *API) revokeUserManagement(x *exchange) error {
	m, actor, err := x.queryActorCommand()
	if err != nil {
		return err
	}
	return a.propertyCommand(x, m, domain.RevokeUserManagement{AccountID: x.pathVar("account_id"), Actor: actor})
}

func (a *API) removeMember(x *exchange) error {
	m, actor, err := x.queryActorCommand()
	if err != nil {
		return err
	}
	id := x.pathVar("id")
	res, err := a.svc.RemoveMember(x.r.Context(), m, id, x.pathVar("account_id"), actor)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, propertyWritten{PropertyID: id, Position: res.LastPosition()})
}

// queryActorCommand reads a DELETE whose actor is in its query string (bodies on DELETE are
// dropped by too many proxies to rely on), defaulting to the admin API itself.
func (x *exchange) queryActorCommand() (commands.Meta, domain.Actor, error) {
	var actor domain.Actor
	m, err := x.command(nil, func() (err error) {
		q := x.r.URL.Query()
		f := actorFields{ActorAccountID: strings.TrimSpace(q.Get("actor_account_id")), SupportReference: strings.TrimSpace(q.Get("support_reference"))}
		actor, err = f.optionalActor(x)
		return err
	})
	return m, actor, err
}

// propertyCommand sends a command read by x.command to the property of the path.
func (a *API) propertyCommand(x *exchange, m commands.Meta, cmd domain.PropertyCommand) error {
	id := x.pathVar("id")
	res, err := a.svc.Property(x.r.Context(), m, id, cmd)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, propertyWritten{PropertyID: id, Position: res.LastPosition()})
}
