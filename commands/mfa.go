package commands

import (
	"context"

	"accountd/domain"
)

// MFAEnrolment is a started enrolment: the secret is shown once, the log keeps it sealed.
type MFAEnrolment struct {
	Secret     string
	OTPAuthURI string
	Positions  []uint64
}

// StartMFAEnrolment creates a TOTP secret for the account (R6).
func (s *Service) StartMFAEnrolment(ctx context.Context, m Meta, accountID string) (MFAEnrolment, error) {
	a, err := s.LoadAccount(ctx, accountID)
	if err != nil {
		return MFAEnrolment{}, err
	}
	enr, err := s.mfa.NewEnrolment(a.Email)
	if err != nil {
		return MFAEnrolment{}, wrap("mfa enrolment", err)
	}
	res, err := s.Account(ctx, m, accountID, domain.StartMFAEnrolment{EncryptedSecret: enr.Sealed})
	if err != nil {
		return MFAEnrolment{}, err
	}
	if res.Replayed {
		return MFAEnrolment{Positions: res.Positions}, nil
	}
	return MFAEnrolment{Secret: enr.Secret, OTPAuthURI: enr.OTPAuthURI, Positions: res.Positions}, nil
}

// ConfirmMFAEnrolment completes an enrolment with a code from the new secret.
func (s *Service) ConfirmMFAEnrolment(ctx context.Context, m Meta, accountID, code string) (Result[domain.Account], error) {
	return s.Account(ctx, m, accountID, domain.ConfirmMFAEnrolment{Code: code, VerifyTOTP: s.verifyTOTP(s.Now())})
}

// DeferMFAEnrolment skips enrolment, at most until the grace period ends (R6.3).
func (s *Service) DeferMFAEnrolment(ctx context.Context, m Meta, accountID string) (Result[domain.Account], error) {
	return s.Account(ctx, m, accountID, domain.DeferMFAEnrolment{})
}

// ResetMFA resets the second factor: by the holder with a current code, or by a colleague
// with user management, or support (R6.4).
func (s *Service) ResetMFA(ctx context.Context, m Meta, accountID string, actor domain.Actor, code string, origin domain.Origin) (Result[domain.Account], error) {
	auth, err := s.authorityOver(ctx, accountID, actor)
	if err != nil {
		return Result[domain.Account]{}, err
	}
	return s.Account(ctx, m, accountID, domain.ResetMFA{Actor: actor, Authority: auth, Code: code, VerifyTOTP: s.verifyTOTP(s.Now()), Origin: origin})
}

// authorityOver loads what an administrative command on the account needs to check the
// actor's permission: the states of the account's properties, and the actor's standing.
func (s *Service) authorityOver(ctx context.Context, accountID string, actor domain.Actor) (domain.Authority, error) {
	a, err := s.LoadAccount(ctx, accountID)
	if err != nil {
		return domain.Authority{}, err
	}
	props, err := s.propertiesOf(ctx, a)
	if err != nil {
		return domain.Authority{}, err
	}
	standing, err := s.standing(ctx, actor)
	return domain.Authority{Properties: props, Actor: standing}, err
}

// standing loads what domain.CheckStanding needs about an account actor: its own state and
// its properties' (other actors need nothing). An actor that does not exist gets an empty
// standing, which the decision refuses.
func (s *Service) standing(ctx context.Context, actor domain.Actor) (domain.ActorStanding, error) {
	if actor.Kind != domain.ActorAccount {
		return domain.ActorStanding{}, nil
	}
	a, err := s.LoadAccount(ctx, actor.AccountID)
	if domain.ErrorCode(err) == domain.CodeAccountNotFound {
		return domain.ActorStanding{}, nil
	}
	if err != nil {
		return domain.ActorStanding{}, err
	}
	props, err := s.propertiesOf(ctx, a)
	return domain.ActorStanding{Account: a, Properties: props}, err
}

// withStanding gives a property command performed by an account its actor's standing.
func (s *Service) withStanding(ctx context.Context, cmd domain.PropertyCommand) (domain.PropertyCommand, error) {
	var err error
	switch c := cmd.(type) {
	case domain.AddMember:
		c.Standing, err = s.standing(ctx, c.Actor)
		return c, err
	case domain.RemoveMember:
		c.Standing, err = s.standing(ctx, c.Actor)
		return c, err
	case domain.GrantUserManagement:
		c.Standing, err = s.standing(ctx, c.Actor)
		return c, err
	case domain.RevokeUserManagement:
		c.Standing, err = s.standing(ctx, c.Actor)
		return c, err
	}
	return cmd, nil
}
