package commands

import (
	"context"
	"time"

	"accountd/domain"
)

// Registration is the input of RegisterAccount.
type Registration struct {
	Email      string
	Password   string
	PropertyID string
	// Actor creating the account; re-creating a deleted user restores it only for an actor
	// entitled to (R5.2). Zero means a self-registration through the login service.
	Actor domain.Actor
}

// Registered is what a registration produced.
type Registered struct {
	AccountID string
	// ActivationToken is the link token to e-mail; empty when an existing account was
	// restored or linked (no activation mail, R5.2).
	ActivationToken string
	Restored        bool
	Positions       []uint64
}

// LastPosition is the position of the registration's last event.
func (r Registered) LastPosition() uint64 {
	if len(r.Positions) == 0 {
		return 0
	}
	return r.Positions[len(r.Positions)-1]
}

// Register creates an account. The address is claimed first on its own reservation stream
// with NoStream, so of two concurrent registrations of one address exactly one wins; the
// loser gets email_not_available. The command is checked against the empty account before
// the claim, so a refused registration never leaves a claim behind.
func (s *Service) Register(ctx context.Context, m Meta, r Registration) (Registered, error) {
	if m.CommandID == "" {
		m.CommandID = s.newID()
	}
	accountID := s.newID()
	hash, err := s.hasher.Hash(r.Password)
	if err != nil {
		return Registered{}, wrap("register", err)
	}
	link, activation, err := s.newLink(accountID)
	if err != nil {
		return Registered{}, wrap("register", err)
	}
	token := link.Token
	cmd := domain.RegisterAccount{AccountID: accountID, Email: r.Email, PropertyID: r.PropertyID, Password: s.candidate(r.Password), PasswordHash: hash, Activation: activation}
	if _, err := domain.DecideAccount(domain.Account{}, cmd, s.Now(), s.policy()); err != nil {
		return Registered{}, err
	}
	if r.PropertyID != "" {
		prop, err := s.LoadProperty(ctx, r.PropertyID)
		if err != nil {
			return Registered{}, err
		}
		// The membership is written last: an actor it would refuse is refused before anything is.
		standing, err := s.standing(ctx, r.Actor)
		if err != nil {
			return Registered{}, err
		}
		if _, err := domain.DecideProperty(prop, domain.AddMember{AccountID: accountID, Actor: r.Actor, Standing: standing}, s.Now(), s.policy()); err != nil {
			return Registered{}, err
		}
	}
	if owner, found, err := s.legacyReservation(ctx, r.Email); err != nil {
		return Registered{}, wrap("register", err)
	} else if found {
		return s.recreate(ctx, m, owner, r) // reserved before canonical addresses: taken all the same
	}
	canonical, err := domain.CanonicalEmail(r.Email)
	if err != nil {
		return Registered{}, err
	}
	if err := s.claimSkeleton(ctx, m, canonical, accountID); err != nil {
		return Registered{}, wrap("register", err)
	}

	claim, err := s.emails.Update(ctx, s.emailStream(r.Email), m.metadata("email"), func(st domain.EmailReservation, now time.Time) ([]domain.Event, error) {
		if st.AccountID != "" {
			_, err := s.LoadAccount(ctx, st.AccountID)
			if err == nil || domain.ErrorCode(err) != domain.CodeAccountNotFound || now.Sub(st.ReservedAt) < orphanedClaimAfter {
				return nil, nil // claimed by an account that exists or is being written: decided below
			}
			// A claim whose account was never written (a crash between the two appends) is free.
		}
		return []domain.Event{{At: now, Data: domain.EmailReserved{Email: canonical, AccountID: accountID}}}, nil
	})
	if err != nil {
		return Registered{}, wrap("register", err)
	}
	if owner := claim.State.AccountID; owner != accountID {
		if claim.Replayed && owner != "" {
			// A retried command whose first attempt claimed the address: finish that one.
			accountID = owner
		} else {
			return s.recreate(ctx, m, owner, r)
		}
	}

	res, err := s.accounts.Update(ctx, domain.AccountStream(accountID), m.metadata("account"), func(st domain.Account, now time.Time) ([]domain.Event, error) {
		if st.Registered {
			return nil, nil // the retried command already registered it
		}
		if cmd.AccountID != accountID {
			// Finishing a first attempt's registration: its token is derived for this account.
			if link, cmd.Activation, err = s.newLink(accountID); err != nil {
				return nil, err
			}
			token = link.Token
			cmd.AccountID = accountID
		}
		return domain.DecideAccount(st, cmd, now, s.policy())
	})
	if err != nil {
		return Registered{}, wrap("register", err)
	}
	out := Registered{AccountID: accountID, ActivationToken: token, Positions: append(claim.Positions, res.Positions...)}
	if res.Replayed || len(res.Events) == 0 {
		out.ActivationToken = "" // the token of the first attempt was already handed out
	}
	if r.PropertyID != "" {
		pr, err := s.Property(ctx, Meta{CommandID: m.CommandID + "/member", CorrelationID: m.CorrelationID}, r.PropertyID, domain.AddMember{AccountID: accountID, Actor: r.Actor})
		if err != nil {
			return out, wrap("register", err)
		}
		out.Positions = append(out.Positions, pr.Positions...)
	}
	return out, nil
}

// recreate handles an address that already has an account: a deleted one comes back, and
// an existing one is linked to the new property without a new account (R5.2); anything
// else is email_not_available.
func (s *Service) recreate(ctx context.Context, m Meta, accountID string, r Registration) (Registered, error) {
	notAvailable := &domain.Error{Code: domain.CodeEmailNotAvailable, Message: "e-mail not available"}
	existing, err := s.LoadAccount(ctx, accountID)
	if domain.ErrorCode(err) == domain.CodeAccountNotFound {
		return Registered{}, notAvailable // another registration is writing it right now
	}
	if err != nil {
		return Registered{}, wrap("register", err)
	}
	if r.Actor.Kind == "" {
		return Registered{}, notAvailable // self-registration never takes over an address
	}
	props, err := s.authorityFor(ctx, r.PropertyID)
	if err != nil {
		return Registered{}, err
	}
	standing, err := s.standing(ctx, r.Actor)
	if err != nil {
		return Registered{}, err
	}
	var res Result[domain.Account]
	switch {
	case existing.Deleted:
		res, err = s.Account(ctx, Meta{CommandID: m.CommandID + "/restore", CorrelationID: m.CorrelationID}, accountID,
			domain.RestoreAccount{Actor: r.Actor, PropertyID: r.PropertyID, Authority: domain.Authority{Properties: props, Actor: standing}})
	case r.PropertyID != "" && !existing.IsMember(r.PropertyID):
		if r.Actor.Kind == domain.ActorAccount && !hasUserManagement(props, r.PropertyID, r.Actor.AccountID) {
			return Registered{}, &domain.Error{Code: domain.CodeNotAuthorised, Message: "not authorised to add members to this property"}
		}
		res, err = s.Account(ctx, Meta{CommandID: m.CommandID + "/link", CorrelationID: m.CorrelationID}, accountID, domain.LinkToProperty{PropertyID: r.PropertyID})
	default:
		return Registered{}, notAvailable
	}
	if err != nil {
		return Registered{}, err
	}
	out := Registered{AccountID: accountID, Restored: existing.Deleted, Positions: res.Positions}
	if r.PropertyID != "" {
		pr, err := s.Property(ctx, Meta{CommandID: m.CommandID + "/member", CorrelationID: m.CorrelationID}, r.PropertyID, domain.AddMember{AccountID: accountID, Actor: r.Actor})
		if err != nil {
			return out, wrap("register", err)
		}
		out.Positions = append(out.Positions, pr.Positions...)
	}
	return out, nil
}

func (s *Service) authorityFor(ctx context.Context, propertyID string) ([]domain.Property, error) {
	if propertyID == "" {
		return nil, nil
	}
	p, err := s.LoadProperty(ctx, propertyID)
	if err != nil {
		return nil, err
	}
	return []domain.Property{p}, nil
}

func hasUserManagement(props []domain.Property, propertyID, accountID string) bool {
	for _, p := range props {
		if p.ID == propertyID && p.HasUserManagement(accountID) {
			return true
		}
	}
	return false
}

// orphanedClaimAfter is how old a claim must be, with no account behind it, before a new
// registration may take it over: far longer than the gap between the two appends of one
// registration.
const orphanedClaimAfter = time.Minute
