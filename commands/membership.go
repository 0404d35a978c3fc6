package commands

import (
	"context"

	"accountd/domain"
)

// Membership spans two aggregates: the property lists its members and the account lists its
// properties. The property is written first because it holds the permission rules; the
// account follows with a command ID derived from the same command, so a retry after a crash
// between the two completes the pair instead of repeating it.

// LinkMember adds an existing account to a property without a new account or an activation
// mail (R5.2).
func (s *Service) LinkMember(ctx context.Context, m Meta, propertyID, email string, actor domain.Actor) (Result[domain.Account], error) {
	if m.CommandID == "" {
		m.CommandID = s.newID()
	}
	accountID, found, err := s.AccountIDByEmail(ctx, email)
	if err != nil {
		return Result[domain.Account]{}, wrap("link member", err)
	}
	if !found {
		return Result[domain.Account]{}, &domain.Error{Code: domain.CodeAccountNotFound, Message: "no account has this e-mail"}
	}
	prop, err := s.LoadProperty(ctx, propertyID)
	if err != nil {
		return Result[domain.Account]{}, err
	}
	if actor.Kind == domain.ActorAccount && !prop.HasUserManagement(actor.AccountID) {
		return Result[domain.Account]{}, &domain.Error{Code: domain.CodeNotAuthorised, Message: "not authorised: the actor has no user management on this property"}
	}
	pr, err := s.Property(ctx, Meta{CommandID: m.CommandID + "/property", CorrelationID: m.CorrelationID}, propertyID, domain.AddMember{AccountID: accountID, Actor: actor})
	if err != nil {
		return Result[domain.Account]{}, err
	}
	res, err := s.Account(ctx, Meta{CommandID: m.CommandID + "/account", CorrelationID: m.CorrelationID}, accountID, domain.LinkToProperty{PropertyID: propertyID})
	res.Positions = append(pr.Positions, res.Positions...)
	return res, err
}

// RemoveMember takes an account off a property: it keeps its other properties (R4, R5).
func (s *Service) RemoveMember(ctx context.Context, m Meta, propertyID, accountID string, actor domain.Actor) (Result[domain.Account], error) {
	if m.CommandID == "" {
		m.CommandID = s.newID()
	}
	pr, err := s.Property(ctx, Meta{CommandID: m.CommandID + "/property", CorrelationID: m.CorrelationID}, propertyID, domain.RemoveMember{AccountID: accountID, Actor: actor})
	if err != nil {
		return Result[domain.Account]{}, err
	}
	res, err := s.Account(ctx, Meta{CommandID: m.CommandID + "/account", CorrelationID: m.CorrelationID}, accountID, domain.UnlinkFromProperty{PropertyID: propertyID, Actor: actor})
	if domain.ErrorCode(err) == domain.CodeNotAMember {
		err = nil // the account side was already done by an earlier attempt
	}
	res.Positions = append(pr.Positions, res.Positions...)
	return res, err
}
