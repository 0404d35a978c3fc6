package commands

import (
	"context"
	"fmt"
	"time"

	"accountd/domain"
)

// Shredder destroys the key of one subject of personal data ("account.<id>"), so that every
// copy of what was sealed under it (the log, backups, archives) becomes unreadable at once.
// The personal-data key store satisfies it; declared here so the command side needs
// nothing else of it.
type Shredder interface {
	DestroySubject(ctx context.Context, subject string) error
}

// accountSubject is the personal-data subject of an account's events.
func accountSubject(accountID string) string { return "account." + accountID }

// Erasure is the input of EraseAccount.
type Erasure struct {
	Actor  domain.Actor
	Reason string
}

// ErasureDone says what an erasure did, step by step, so a caller (and an operator
// re-sending an interrupted one) sees what is finished.
type ErasureDone struct {
	AccountID string `json:"account_id"`
	// AlreadyErased: an earlier command erased the account; this one finished what was
	// left of it, if anything.
	AlreadyErased bool `json:"already_erased"`
	// ReleasedReservations counts the reservation streams released (the pseudonymous one
	// and any legacy-named one the account held); ReleasedSkeleton the look-alike claim.
	ReleasedReservations int  `json:"released_reservations"`
	ReleasedSkeleton     bool `json:"released_skeleton"`
	// ForgotCache: the folded aggregate and its snapshots are gone from this process and
	// the snapshot store.
	ForgotCache bool `json:"forgot_cache"`
	// KeyDestroyed: the subject's key was destroyed; false when no key store is configured.
	KeyDestroyed bool     `json:"key_destroyed"`
	Subject      string   `json:"subject"`
	Positions    []uint64 `json:"-"`
}

// LastPosition is the position of the erasure's last event, for read-your-writes.
func (e ErasureDone) LastPosition() uint64 {
	if len(e.Positions) == 0 {
		return 0
	}
	return e.Positions[len(e.Positions)-1]
}

// EraseAccount erases an account (GDPR Art. 17), in steps that are each safe to run again:
//
//  1. AccountErased on the account stream (who, why; the domain authorises the actor and
//     refuses a missing reason), which also ends its sessions;
//  2. the address's reservation released (its pseudonymous stream and any legacy-named one
//     the account held) and its skeleton claim withdrawn, so the address registers again as
//     a new account;
//  3. the subject's key destroyed (Shredder), which makes its personal data unreadable
//     everywhere;
//  4. the cached fold and the snapshots of the account, and the cached reservation and
//     claim streams, dropped: they hold the data in clear beside the key.
//
// The key goes after the releases, which need the address to name the streams, and before
// the caches, so no fold made between the two can keep a readable copy. A crash between
// steps is finished by sending the command again (with the same ID, or any: erasing an
// erased account writes nothing and runs the steps left); once the key is gone, the address
// reads as domain.Erased and steps 1 and 2, done before it, are skipped.
func (s *Service) EraseAccount(ctx context.Context, m Meta, accountID string, e Erasure) (ErasureDone, error) {
	if m.CommandID == "" {
		m.CommandID = s.newID()
	}
	done := ErasureDone{AccountID: accountID, Subject: accountSubject(accountID)}
	auth, err := s.authorityOver(ctx, accountID, e.Actor)
	if err != nil {
		return done, err
	}
	stream := domain.AccountStream(accountID)
	res, err := s.accounts.Update(ctx, stream, m.metadata(""), func(st domain.Account, now time.Time) ([]domain.Event, error) {
		return domain.DecideAccount(st, domain.EraseAccount{Actor: e.Actor, Reason: e.Reason, Authority: auth}, now, s.policy())
	})
	if err != nil {
		return done, wrap("erase", err)
	}
	done.Positions = res.Positions
	done.AlreadyErased = !res.Replayed && len(res.Events) == 0
	if !res.State.Erased {
		// The store answered for an earlier append of this command: read what it wrote.
		st, err := s.LoadAccount(ctx, accountID)
		if err != nil {
			return done, wrap("erase", err)
		}
		if !st.Erased {
			return done, fmt.Errorf("commands: erase %s: the account is not erased after its erasure", accountID)
		}
		res.State = st
	}
	email := res.State.Email
	var forget []func() error
	if !domain.IsErased(email) && email != "" {
		released, streams, err := s.releaseReservations(ctx, m, accountID, email)
		if err != nil {
			return done, err
		}
		done.ReleasedReservations = released
		claim, skels, err := s.releaseSkeleton(ctx, m, accountID, email)
		if err != nil {
			return done, err
		}
		done.ReleasedSkeleton = claim
		for _, st := range streams {
			forget = append(forget, func() error { return s.emails.Forget(ctx, st) })
		}
		for _, st := range skels {
			forget = append(forget, func() error { return s.lookalikes.Forget(ctx, st) })
		}
	}
	if s.shredder != nil {
		if err := s.shredder.DestroySubject(ctx, done.Subject); err != nil {
			return done, fmt.Errorf("commands: erase %s: destroy its key: %w", accountID, err)
		}
		done.KeyDestroyed = true
	}
	forget = append(forget, func() error { return s.accounts.Forget(ctx, stream) })
	for _, f := range forget {
		if err := f(); err != nil {
			return done, wrap("erase", err)
		}
	}
	done.ForgotCache = true
	return done, nil
}

// releaseReservations releases every reservation stream of the address that the account
// holds, and names all of them (held or not) for their caches to be dropped.
func (s *Service) releaseReservations(ctx context.Context, m Meta, accountID, email string) (int, []string, error) {
	streams := append([]string{s.emailStream(email)}, domain.LegacyEmailStreams(email)...)
	released := 0
	for i, stream := range streams {
		suffix := "email"
		if i > 0 {
			suffix = fmt.Sprintf("email-legacy-%d", i)
		}
		res, err := s.emails.Update(ctx, stream, m.metadata("release-"+suffix), func(st domain.EmailReservation, now time.Time) ([]domain.Event, error) {
			if st.AccountID != accountID {
				return nil, nil // never held, or already released (and maybe taken again)
			}
			return []domain.Event{{At: now, Data: domain.EmailReleased{AccountID: accountID}}}, nil
		})
		if err != nil {
			return released, nil, wrap("erase: release the address", err)
		}
		if len(res.Events) > 0 {
			released++
		}
	}
	return released, streams, nil
}

// releaseSkeleton withdraws the account's claim on its address's skeleton, on the
// pseudonymous stream and the legacy-named one, and names both for their caches to be
// dropped (none for an address no registration would accept now, which has no claim).
func (s *Service) releaseSkeleton(ctx context.Context, m Meta, accountID, email string) (bool, []string, error) {
	canonical, err := domain.CanonicalEmail(email)
	if err != nil {
		return false, nil, nil
	}
	streams := []string{s.skeletonStream(canonical), domain.LegacyEmailSkeletonStream(canonical)}
	released := false
	for i, stream := range streams {
		suffix := "release-skeleton"
		if i > 0 {
			suffix += "-legacy"
		}
		res, err := s.lookalikes.Update(ctx, stream, m.metadata(suffix), func(st domain.EmailLookalikes, now time.Time) ([]domain.Event, error) {
			if !st.HeldBy(accountID) {
				return nil, nil
			}
			return []domain.Event{{At: now, Data: domain.EmailSkeletonReleased{AccountID: accountID}}}, nil
		})
		if err != nil {
			return false, nil, wrap("erase: release the skeleton claim", err)
		}
		released = released || len(res.Events) > 0
	}
	return released, streams, nil
}
