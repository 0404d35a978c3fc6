package api

import (
	"net/http"
	"net/url"
	"strings"

	"accountd/commands"
	"accountd/domain"
)

// Administration of other people's accounts (R1.4, R5.1, R6.4). Thin on purpose: the
// permission rules live in the domain, which checks the actor against the account's
// properties.

func (a *API) adminUnlock(x *exchange) error {
	m, actor, err := x.actorCommand()
	if err != nil {
		return err
	}
	res, err := a.svc.UnlockByAdministrator(x.r.Context(), m, x.pathVar("id"), actor)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Position: res.LastPosition()})
}

type disableRequest struct {
	actorFields
	PropertyID string `json:"property_id"`
	Note       string `json:"note"`
	// Kind is manual (default) or suspicious_activity.
	Kind domain.DisableKind `json:"kind"`
}

func (a *API) adminDisable(x *exchange) error {
	var req disableRequest
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		actor, err = req.actor(req.Note)
		return err
	})
	if err != nil {
		return err
	}
	kind := req.Kind
	if kind == "" {
		kind = domain.DisableManual
	}
	res, err := a.svc.Disable(x.r.Context(), m, x.pathVar("id"), domain.DisableAccount{Kind: kind, PropertyID: req.PropertyID, Actor: actor})
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Position: res.LastPosition()})
}

func (a *API) adminEnable(x *exchange) error {
	var req disableRequest
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		actor, err = req.actor(req.Note)
		return err
	})
	if err != nil {
		return err
	}
	res, err := a.svc.Enable(x.r.Context(), m, x.pathVar("id"), domain.EnableAccount{Kind: req.Kind, PropertyID: req.PropertyID, Actor: actor})
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Position: res.LastPosition()})
}

// adminDelete takes the actor from a JSON body or, as DELETE bodies are dropped by some
// proxies, from the query string.
func (a *API) adminDelete(x *exchange) error {
	var req actorFields
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		if req == (actorFields{}) && x.r.URL.RawQuery != "" {
			q, err := url.ParseQuery(x.r.URL.RawQuery)
			if err != nil {
				return invalidRequest("malformed query string: %v", err)
			}
			req = actorFields{ActorAccountID: strings.TrimSpace(q.Get("actor_account_id")), SupportReference: strings.TrimSpace(q.Get("support_reference"))}
		}
		actor, err = req.actor("")
		return err
	})
	if err != nil {
		return err
	}
	res, err := a.svc.Delete(x.r.Context(), m, x.pathVar("id"), actor)
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, accountWritten{AccountID: res.State.ID, Status: domain.StatusDeleted, Position: res.LastPosition()})
}

func (a *API) adminResetMFA(x *exchange) error {
	m, actor, err := x.actorCommand()
	if err != nil {
		return err
	}
	res, err := a.svc.ResetMFA(x.r.Context(), m, x.pathVar("id"), actor, "", domain.Origin{})
	if err != nil {
		return err
	}
	return x.json(http.StatusOK, mfaWritten{AccountID: res.State.ID, Enrolled: res.State.MFA.Enrolled, Position: res.LastPosition()})
}

// ErasureRequest is the body of POST /v1/accounts/{id}/erasure.
type ErasureRequest struct {
	ActorAccountID   string `json:"actor_account_id,omitempty"`
	SupportReference string `json:"support_reference,omitempty"`
	// Reason is required (the domain refuses an erasure without one: erasure_reason_required).
	Reason string `json:"reason"`
}

// ErasureWritten is what an erasure did, step by step (commands.ErasureDone), with the
// position of its last event for read-your-writes.
type ErasureWritten struct {
	commands.ErasureDone
	Status   string `json:"status"`
	Position uint64 `json:"position"`
}

// adminErase erases an account (GDPR Art. 17). The actor is optional, as the admin role is
// authority enough: without one the erasure is the admin API's, under its request ID. 202:
// the erasure is on record and its key destroyed; the read models forget the account as
// they reach the event. 200: the account was already erased (what was left is finished).
func (a *API) adminErase(x *exchange) error {
	var req ErasureRequest
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		actor, err = actorFields{ActorAccountID: req.ActorAccountID, SupportReference: req.SupportReference}.optionalActor(x)
		return err
	})
	if err != nil {
		return err
	}
	done, err := a.svc.EraseAccount(x.r.Context(), m, x.pathVar("id"), commands.Erasure{Actor: actor, Reason: req.Reason})
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if done.AlreadyErased {
		status = http.StatusOK
	}
	return x.json(status, ErasureWritten{ErasureDone: done, Status: domain.StatusDeleted, Position: done.LastPosition()})
}
