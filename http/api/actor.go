package api

import (
	"strings"

	"accountd/commands"
	"accountd/domain"
)

// actorFields names who performs an administrative command: a colleague's account (whose
// user management the domain checks) or a support agent acting on a written request.
type actorFields struct {
	ActorAccountID   string `json:"actor_account_id"`
	SupportReference string `json:"support_reference"`
}

func (f actorFields) actor(note string) (domain.Actor, error) {
	acc, ref := strings.TrimSpace(f.ActorAccountID), strings.TrimSpace(f.SupportReference)
	switch {
	case acc != "" && ref != "":
		return domain.Actor{}, invalidRequest("give actor_account_id or support_reference, not both")
	case acc != "":
		return domain.Actor{Kind: domain.ActorAccount, AccountID: acc, Note: note}, nil
	case ref != "":
		return domain.Actor{Kind: domain.ActorSupport, Reference: ref, Note: note}, nil
	}
	return domain.Actor{}, invalidRequest("actor_account_id or support_reference is required")
}

// optionalActor is actor for commands the domain does not authorise by actor: without
// one, the request is attributed to the admin API and its request ID.
func (f actorFields) optionalActor(x *exchange) (domain.Actor, error) {
	if f.ActorAccountID == "" && f.SupportReference == "" {
		return domain.Actor{Kind: domain.ActorSystem, Note: "admin API request " + x.id}, nil
	}
	return f.actor("")
}

// actorCommand reads a write request whose body names only its actor (actorFields).
func (x *exchange) actorCommand() (commands.Meta, domain.Actor, error) {
	var req actorFields
	var actor domain.Actor
	m, err := x.command(&req, func() (err error) {
		actor, err = req.actor("")
		return err
	})
	return m, actor, err
}
