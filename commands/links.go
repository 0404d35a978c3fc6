package commands

import (
	"context"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
)

// LinkIssued is a link token to e-mail (empty when nothing was issued, e.g. unknown address).
type LinkIssued struct {
	AccountID string
	Token     string
	Positions []uint64
}

// RequestPasswordReset issues a reset link and supersedes every earlier one (R2.3). An
// unknown address issues nothing and is not an error: the caller answers 202 either way.
func (s *Service) RequestPasswordReset(ctx context.Context, m Meta, email string) (LinkIssued, error) {
	return s.issueLink(ctx, m, email, domain.LinkReset, func(l domain.NewLink) domain.AccountCommand { return domain.RequestPasswordReset{Link: l} })
}

// RequestUnlockLink issues a fresh unlock link for a locked account (seed 004).
func (s *Service) RequestUnlockLink(ctx context.Context, m Meta, email string) (LinkIssued, error) {
	return s.issueLink(ctx, m, email, domain.LinkUnlock, func(l domain.NewLink) domain.AccountCommand { return domain.RequestUnlockLink{Link: l} })
}

// RequestActivationLink re-sends the activation link of a not yet activated account named
// by its address (R2.4), answering nothing about the address, like the other link requests.
func (s *Service) RequestActivationLink(ctx context.Context, m Meta, email string) (LinkIssued, error) {
	return s.issueLink(ctx, m, email, domain.LinkActivation, func(l domain.NewLink) domain.AccountCommand { return domain.IssueActivationLink{Link: l} })
}

// ResendActivation issues a new activation link for an account not yet activated (R2.4).
func (s *Service) ResendActivation(ctx context.Context, m Meta, accountID string) (LinkIssued, error) {
	link, l, err := s.newLink(accountID)
	if err != nil {
		return LinkIssued{}, wrap("activation link", err)
	}
	res, err := s.Account(ctx, m, accountID, domain.IssueActivationLink{Link: l})
	if err != nil {
		return LinkIssued{}, wrap("activation link", err)
	}
	return LinkIssued{AccountID: accountID, Token: tokenIfNew(link.Token, res), Positions: res.Positions}, nil
}

// issueLink answers a link request made with an address alone. Whatever the address, the
// request costs one durable append: the link on the account when one is issued, otherwise
// a declined request on the address's pseudonymous stream (as a sign-in on an unknown
// address is recorded), so neither the answer nor its timing tells whether the address
// has an account, or in what state.
func (s *Service) issueLink(ctx context.Context, m Meta, email, kind string, cmd func(domain.NewLink) domain.AccountCommand) (LinkIssued, error) {
	accountID, found, err := s.AccountIDByEmail(ctx, email)
	if err != nil {
		return LinkIssued{}, wrap("link", err)
	}
	link, l, err := s.newLink(accountID)
	if err != nil {
		return LinkIssued{}, wrap("link", err)
	}
	reason := domain.LinkDeclinedNoAccount
	var refusal error
	if found {
		res, err := s.Account(ctx, m, accountID, cmd(l))
		if err == nil && (res.Replayed || len(res.Events) > 0) {
			return LinkIssued{AccountID: accountID, Token: tokenIfNew(link.Token, res), Positions: res.Positions}, nil
		}
		if reason = string(domain.ErrorCode(err)); reason == "" && err != nil {
			return LinkIssued{AccountID: accountID}, wrap("link", err) // the server failed: no answer about the account
		}
		refusal = err
	}
	hash := s.links.Pseudonym(domain.NormaliseEmail(email))
	res, err := s.unknown.Update(ctx, domain.UnknownEmailStream(hash), m.metadata("declined"), func(_ domain.UnknownEmail, now time.Time) ([]domain.Event, error) {
		return []domain.Event{{At: now, Data: domain.LinkRequestDeclined{EmailHash: hash, Link: kind, Reason: reason}}}, nil
	})
	if err != nil {
		return LinkIssued{}, wrap("link", err)
	}
	if !found {
		accountID = ""
	}
	return LinkIssued{AccountID: accountID, Positions: res.Positions}, refusal
}

// tokenIfNew withholds the token of a replayed command: only the first attempt's token was
// ever stored, and it was handed out then.
func tokenIfNew(token string, res Result[domain.Account]) string {
	if res.Replayed || len(res.Events) == 0 {
		return ""
	}
	return token
}

// Activate uses an activation link.
func (s *Service) Activate(ctx context.Context, m Meta, token string) (Result[domain.Account], error) {
	return s.withToken(ctx, m, token, func(hash string) domain.AccountCommand { return domain.Activate{TokenHash: hash} })
}

// ResetPassword uses a reset link to set a new password; it unlocks a locked account (R1.4).
func (s *Service) ResetPassword(ctx context.Context, m Meta, token, newPassword string) (Result[domain.Account], error) {
	hash, err := s.hasher.Hash(newPassword)
	if err != nil {
		return Result[domain.Account]{}, wrap("reset password", err)
	}
	return s.withToken(ctx, m, token, func(tokenHash string) domain.AccountCommand {
		return domain.ResetPassword{TokenHash: tokenHash, Password: s.candidate(newPassword), PasswordHash: hash}
	})
}

// Unlock uses an unlock link.
func (s *Service) Unlock(ctx context.Context, m Meta, token string) (Result[domain.Account], error) {
	return s.withToken(ctx, m, token, func(hash string) domain.AccountCommand { return domain.UnlockWithLink{TokenHash: hash} })
}

func (s *Service) withToken(ctx context.Context, m Meta, token string, cmd func(hash string) domain.AccountCommand) (Result[domain.Account], error) {
	accountID, err := credentials.TokenAccount(token)
	if err != nil {
		return Result[domain.Account]{}, &domain.Error{Code: domain.CodeLinkInvalid, Message: "unable to process your request: the link is not valid"}
	}
	res, err := s.Account(ctx, m, accountID, cmd(credentials.HashToken(token)))
	if domain.ErrorCode(err) == domain.CodeAccountNotFound {
		return res, &domain.Error{Code: domain.CodeLinkInvalid, Message: "unable to process your request: the link is not valid"}
	}
	return res, err
}

// ChangePassword is a change by the holder, who proves the current password; a wrong one
// counts toward the lock like a wrong password at login.
func (s *Service) ChangePassword(ctx context.Context, m Meta, accountID, current, newPassword string, origin domain.Origin) (Result[domain.Account], error) {
	hash, err := s.hasher.Hash(newPassword)
	if err != nil {
		return Result[domain.Account]{}, wrap("change password", err)
	}
	_, unlock, err := s.newLink(accountID)
	if err != nil {
		return Result[domain.Account]{}, wrap("change password", err)
	}
	return s.Account(ctx, m, accountID, domain.ChangePassword{
		Origin: origin, UnlockLink: unlock, CurrentMatches: s.passwordCheck(current), Password: s.candidate(newPassword), PasswordHash: hash,
	})
}
