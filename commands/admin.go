package commands

import (
	"context"

	"accountd/domain"
)

// Administrative commands: each names its actor, whose permission is checked on the
// aggregate against the states of the target's properties (R5.1).

// Disable disables an account manually (or for suspicious activity, by security staff).
func (s *Service) Disable(ctx context.Context, m Meta, accountID string, cmd domain.DisableAccount) (Result[domain.Account], error) {
	auth, err := s.authorityOver(ctx, accountID, cmd.Actor)
	if err != nil {
		return Result[domain.Account]{}, err
	}
	cmd.Authority = auth
	return s.Account(ctx, m, accountID, cmd)
}

// Enable lifts a disable.
func (s *Service) Enable(ctx context.Context, m Meta, accountID string, cmd domain.EnableAccount) (Result[domain.Account], error) {
	auth, err := s.authorityOver(ctx, accountID, cmd.Actor)
	if err != nil {
		return Result[domain.Account]{}, err
	}
	cmd.Authority = auth
	return s.Account(ctx, m, accountID, cmd)
}

// UnlockByAdministrator unlocks a locked account on a colleague's authority (R1.4).
func (s *Service) UnlockByAdministrator(ctx context.Context, m Meta, accountID string, actor domain.Actor) (Result[domain.Account], error) {
	auth, err := s.authorityOver(ctx, accountID, actor)
	if err != nil {
		return Result[domain.Account]{}, err
	}
	return s.Account(ctx, m, accountID, domain.UnlockByAdministrator{Actor: actor, Authority: auth})
}

// Delete deletes an account; re-creating its e-mail later restores it (R5.2).
func (s *Service) Delete(ctx context.Context, m Meta, accountID string, actor domain.Actor) (Result[domain.Account], error) {
	auth, err := s.authorityOver(ctx, accountID, actor)
	if err != nil {
		return Result[domain.Account]{}, err
	}
	return s.Account(ctx, m, accountID, domain.DeleteAccount{Actor: actor, Authority: auth})
}

// RecordSuspiciousActivity records a detection on an account and, when the rule's action is
// to disable, disables it and names the primary contacts notified (R3.1, R3.3).
func (s *Service) RecordSuspiciousActivity(ctx context.Context, m Meta, accountID, rule string, evidence domain.Evidence, disable bool) (Result[domain.Account], error) {
	auth, err := s.authorityOver(ctx, accountID, domain.Actor{Kind: domain.ActorSystem})
	if err != nil {
		return Result[domain.Account]{}, err
	}
	return s.Account(ctx, m, accountID, domain.RecordSuspiciousActivity{Rule: rule, Evidence: evidence, Disable: disable, Properties: auth.Properties})
}

// DisableIfInactive runs the inactivity sweep's command on one account (PCI 8.2.6) and
// reports whether it disabled the account; a repeated command ID disables nothing.
func (s *Service) DisableIfInactive(ctx context.Context, commandID, accountID string) (bool, error) {
	r, err := s.Account(ctx, Meta{CommandID: commandID}, accountID, domain.DisableIfInactive{})
	if err != nil {
		return false, err
	}
	return !r.Replayed && len(r.Events) > 0, nil
}
